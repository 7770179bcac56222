"""Pure mapping: a WooCommerce order -> a Business Central customer and sales document.

No I/O happens here: every function takes plain dicts (as WooCommerce's REST API and webhooks deliver them)
and returns plain, JSON-serialisable dicts ready to POST to BC API v2.0.

Decisions (see the project README for the user-facing version):

* **Lines.** A Comment line first ("WooCommerce order #16, paid by Direct bank transfer"), then one Item
  line per ``line_items`` entry (``lineObjectNumber`` = the line's SKU, which for a variation is the
  variation's own), then one line per non-zero shipping line, then one line per non-zero fee line. Item
  lines carry no ``description``: BC takes the item card's.
* **Amounts.** Coupons are already spread over WooCommerce's line ``total``s, so no separate discount line is
  sent. An item line gets ``unitPrice`` = ``subtotal / quantity`` rounded *up* to BC's 5 unit decimals and
  ``discountAmount`` = ``round(quantity * unitPrice) - total`` (the coupon, nothing invented: 450 x 4.995 is
  4.995 without discount). BC computes the line amount as ``round(quantity * unitPrice) - discountAmount``,
  which is then exactly WooCommerce's ``total``, and the discount is never negative (BC refuses a negative
  line discount). ``discountAmount`` is always sent (also 0) so that BC does not add its own line discounts.
* **Tax.** Each line carries the ``taxCode`` of ``orders.tax_codes`` for its WooCommerce tax class (or
  ``untaxed``) (:mod:`.tax`); after booking, the document is read back and compared with the order per line
  and in total (:mod:`.agreement`). With ``prices_include_tax`` a sales order gets gross prices and
  ``pricesIncludeTax: true``; invoices always get net prices (``pricesIncludeTax`` is read-only there).
* **Fees.** One Account line on ``fee_account`` with quantity 1 and ``unitPrice`` = the fee's amount; a
  negative fee (a discount) goes on ``discount_account``, never as negative fee income; an order whose total
  is negative fails.
* **Shipping.** One line per shipping line whose amount is not 0: an Account line on ``shipping_account``
  or, if only ``shipping_item`` is set, an Item line on that item. The description is the method title.
* **Currency.** Always sent: an order in ``local_currency`` with ``currencyCode: ""`` (BC's LCY), any other
  with its ISO code (also when ``local_currency`` is unset: BC stores its own LCY code as blank). A new
  customer's card gets ``customer_currency`` (default: the local currency), never the order's.
* **Dates.** ``date_created_gmt`` converted to the store's time zone, as ``YYYY-MM-DD``; the posting date
  by ``posting_date`` (order, paid, run); orders created before ``start_date`` are skipped (:mod:`.floor`).
* **Bounds.** Amounts and quantities must be finite and within BC's Decimal range
  (``money.BC_DECIMAL_MAX``); a quantity has at most 5 decimals (Sales Line Quantity, DecimalPlaces 0:5).
  Anything else (``"1e309"``, ``NaN``, a list where a number belongs, lines that are not objects) fails the
  order with a :class:`RecordError` naming the field.
* **Refunds** are ignored in v1: they do not change the mapped document or the fingerprint.
* **Text.** Unicode, ``&``, apostrophes and emoji are kept. Values longer than BC's field length are cut at
  the length BC counts (UTF-16 code units), never inside a surrogate pair or before a combining mark, and
  trailing blanks are dropped. An e-mail address longer than BC's 80 characters is left out rather than cut
  (a cut address would be wrong and BC validates it).

Modules, each answering one question (callers import the package:
``from wcbc.sync.mapping import orders as mapping``):

* :mod:`.text`: BC's field lengths and :func:`clip` (how text fits a BC field);
* :mod:`.options`: :class:`MappingOptions` (the settings the mapping needs, checked once);
* :mod:`.fields`: the header fields read from the order (externalDocumentNumber, currency, date);
* :mod:`.customers`: who the BC customer is (:func:`buyer_key`) and :func:`map_customer`;
* :mod:`.document`: :func:`map_document` (header and lines, amounts split into price and discount);
* :mod:`.totals`: :func:`compare_totals`, :func:`rounding_line`, :func:`prices_include_tax_mismatch`;
* :mod:`.tax`: the ``taxCode`` of each line (``orders.tax_codes``);
* :mod:`.agreement`: the read-back check, per line and in total, and its verdict (agree, round, disagree);
* :mod:`.floor`: ``orders.start_date`` as a floor for every read;
* :mod:`.fingerprint`: :func:`order_fingerprint` and :func:`summarize` (what the document is built from);
* :mod:`.diff`: :func:`diff_orders` (what changed after booking, in words);
* :mod:`.meta`: :data:`DOCUMENT_META_KEY` (the write-back) and :func:`is_own_echo`;
* :mod:`.proof`: whether a BC document found under the order's externalDocumentNumber is the order's.
"""

from __future__ import annotations

from wcbc.sync.mapping.orders.customers import buyer_key, map_customer
from wcbc.sync.mapping.orders.diff import diff_orders
from wcbc.sync.mapping.orders.document import comment_text, map_document, order_lines, split_line_amount
from wcbc.sync.mapping.orders.fields import currency_code, document_date, document_number
from wcbc.sync.mapping.orders.fingerprint import order_fingerprint, summarize
from wcbc.sync.mapping.orders.meta import (
    DOCUMENT_META_KEY,
    OWN_META_PREFIX,
    has_document_meta,
    is_own_echo,
    meta_value,
)
from wcbc.sync.mapping.orders.options import TARGETS, MappingOptions
from wcbc.sync.mapping.orders.proof import describe as describe_document
from wcbc.sync.mapping.orders.proof import mismatches as document_mismatches
from wcbc.sync.mapping.orders.text import _utf16_len, clip, order_label
from wcbc.sync.mapping.orders.totals import (
    TotalCheck,
    compare_totals,
    expected_total,
    prices_include_tax_mismatch,
    rounding_line,
)

__all__ = [
    "DOCUMENT_META_KEY",
    "OWN_META_PREFIX",
    "TARGETS",
    "MappingOptions",
    "TotalCheck",
    "_utf16_len",
    "buyer_key",
    "clip",
    "comment_text",
    "compare_totals",
    "currency_code",
    "diff_orders",
    "document_date",
    "document_number",
    "expected_total",
    "has_document_meta",
    "is_own_echo",
    "map_customer",
    "map_document",
    "meta_value",
    "order_fingerprint",
    "order_label",
    "order_lines",
    "describe_document",
    "document_mismatches",
    "prices_include_tax_mismatch",
    "rounding_line",
    "split_line_amount",
    "summarize",
]
