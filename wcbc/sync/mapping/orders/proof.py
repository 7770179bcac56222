"""Is a BC document found under an order's externalDocumentNumber really that order's? (:func:`mismatches`)

The externalDocumentNumber is a free text in BC: a buyer's PO number, another shop's order, or another
web order whose number only differs in case or blanks (BC upper-cases and trims it) can carry the same
value. A document is taken as the order's only when everything the mapping wrote agrees:

* the Comment line naming the web order (:func:`~wcbc.sync.mapping.orders.comment_text`:
  ``WooCommerce order #16`` followed by nothing or by ``, paid by ...``; the number compared exactly);
* the customer, when the buyer's BC customer is known (a link, ``orders.guest_customer`` or BC's customer
  with the buyer's e-mail); a buyer without one yet cannot own a document;
* the total: BC's ``totalAmountIncludingTax`` against the order's ``total`` within ``orders.total_tolerance``
  plus one currency unit of the last decimal per line (BC rounds tax per line; the rounding line that
  would make them equal may not have been added when a run was cut short). An open sales order reduced by
  refunds (target ``sales_order``) carries a ``WooCommerce refund <key>-R<refund id>`` Comment line per
  refund: the order's total less those refunds is compared (a split refund's marker,
  ``... -R<id> part <amount>: ...``, names the part it reduced: that amount is subtracted).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money, quantum
from wcbc.sync.mapping.orders.text import _text
from wcbc.sync.mapping.orders.totals import expected_total

COMMENT_PREFIX = "WooCommerce order #"
REFUND_PREFIX = "WooCommerce refund "
LINE_KEYS = ("salesOrderLines", "salesInvoiceLines")


def document_lines(doc: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The document's lines as the lookup read them (``$expand``), or None when it did not."""
    for key in LINE_KEYS:
        lines = doc.get(key)
        if isinstance(lines, list):
            return [line for line in lines if isinstance(line, Mapping)]
    return None


def names_order(doc: Mapping[str, Any], order: Mapping[str, Any]) -> bool:
    """True when one of the document's Comment lines is the one the mapping writes for this order."""
    number = _text(order.get("number")) or _text(order.get("id"))
    ours = f"{COMMENT_PREFIX}{number}"
    for line in document_lines(doc) or []:
        text = _text(line.get("description"))
        if line.get("lineType") == "Comment" and (text == ours or text.startswith(ours + ",")):
            return True
    return False


def reduced_by(order: Mapping[str, Any], doc: Mapping[str, Any]) -> Decimal:
    """What the refunds whose marker the document carries took off the order (0 when none)."""
    ids = set()
    total = Decimal(0)
    for line in document_lines(doc) or []:
        text = _text(line.get("description"))
        if line.get("lineType") == "Comment" and text.startswith(REFUND_PREFIX):
            head, split, part = text.partition(" part ")
            if not split:
                ids.add(head.rpartition("-R")[2])
                continue
            try:
                total += abs(parse_money(part.partition(":")[0]))
            except MoneyError:
                continue
    for refund in order.get("refunds") or []:
        if isinstance(refund, Mapping) and str(refund.get("id")) in ids:
            try:
                total += abs(parse_money(refund.get("total")))
            except MoneyError:
                continue
    return total


def mismatches(order: Mapping[str, Any], doc: Mapping[str, Any], *, customer: str | None,
               tolerance: Decimal, decimals: int) -> list[str]:
    """What contradicts ``doc`` being the order's document (empty: it is the order's).

    ``customer``: the BC customer number the order is booked on, None when the buyer has none yet.
    """
    reasons: list[str] = []
    lines = document_lines(doc)
    if lines is None:
        reasons.append("its lines were not read")
    elif not names_order(doc, order):
        reasons.append(f"no comment line names web order #{_text(order.get('number'))}")
    found_customer = _text(doc.get("customerNumber"))
    if customer is None:
        reasons.append("the buyer has no BC customer yet")
    elif found_customer.upper() != _text(customer).upper():
        reasons.append(f"its customer is {found_customer or '(none)'}, the order's is {customer}")
    try:
        woo = expected_total(order) - reduced_by(order, doc)
        bc = parse_money(doc.get("totalAmountIncludingTax"))
    except (RecordError, MoneyError):
        reasons.append(f"its total {doc.get('totalAmountIncludingTax')!r} cannot be compared")
    else:
        counted = sum(1 for line in lines or [] if line.get("lineType") != "Comment")
        allowance = abs(tolerance) + quantum(decimals) * counted
        if abs(woo - bc) > allowance:
            reasons.append(f"its total is {bc}, the order's {woo}")
    return reasons


def describe(doc: Mapping[str, Any]) -> str:
    """``S-ORD101001 (customer C00010)`` for messages."""
    return f"{_text(doc.get('number')) or '?'} (customer {_text(doc.get('customerNumber')) or '?'})"
