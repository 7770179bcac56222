"""Pure mapping: a WooCommerce order -> a Business Central customer and sales document.

No I/O happens here: every function takes plain dicts (as WooCommerce's REST API and webhooks deliver them)
and returns plain, JSON-serialisable dicts ready to POST to BC API v2.0.

Decisions (see the project README for the user-facing version):

* **Lines.** A Comment line first ("WooCommerce order #16, paid by Direct bank transfer"), then one Item
  line per ``line_items`` entry (``lineObjectNumber`` = the line's SKU, which for a variation is the
  variation's own), then one line per non-zero shipping line, then one line per non-zero fee line. Item
  lines carry no ``description``: BC takes the item card's.
* **Amounts.** Coupons are already spread over WooCommerce's line ``total``s, so no separate discount line is
  sent. An item line gets ``unitPrice`` = ``subtotal / quantity`` rounded *up* to the currency decimals and
  ``discountAmount`` = ``round(quantity * unitPrice) - total``. BC computes the line amount as
  ``round(quantity * unitPrice) - discountAmount``, which is then exactly WooCommerce's ``total``, and the
  discount is never negative (BC refuses a negative line discount). When ``subtotal / quantity`` has more
  decimals than the currency, the few cents of rounding show up in the discount. ``discountAmount`` is always
  sent (also 0) so that BC does not add its own line discounts.
* **Tax.** With ``prices_include_tax`` the prices sent are gross (``subtotal + subtotal_tax``,
  ``total + total_tax``, shipping and fees likewise) and a sales order gets ``pricesIncludeTax: true``.
  BC's salesInvoices have ``pricesIncludeTax`` read-only (it follows the customer), so invoices never send
  it: check the created document with :func:`prices_include_tax_mismatch` and :func:`compare_totals`.
* **Fees.** One Account line on ``fee_account`` with quantity 1 and ``unitPrice`` = the fee's amount; a
  negative fee (a discount) is sent as a negative ``unitPrice`` with quantity 1 (BC accepts negative prices on
  G/L account lines; only the document total must not be negative when posting).
* **Shipping.** One line per shipping line whose amount is not 0: an Account line on ``shipping_account``
  or, if only ``shipping_item`` is set, an Item line on that item. The description is the method title.
* **Currency.** ``local_currency`` set: an order in it is sent with ``currencyCode: ""`` (BC's LCY), any other
  currency with its ISO code. ``local_currency`` unset: no ``currencyCode`` at all (BC uses the customer's).
* **Dates.** ``date_created_gmt`` converted to the store's time zone, as ``YYYY-MM-DD``.
* **Refunds** are ignored in v1: they do not change the mapped document or the fingerprint.
* **Text.** Unicode, ``&``, apostrophes and emoji are kept. Values longer than BC's field length are cut at
  the length BC counts (UTF-16 code units), never inside a surrogate pair or before a combining mark, and
  trailing blanks are dropped. An e-mail address longer than BC's 80 characters is left out rather than cut
  (a cut address would be wrong and BC validates it).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcbc.core.errors import ConfigError, RecordError
from wcbc.sync.mapping.money import (
    MoneyError,
    canonical,
    ceil_money,
    parse_money,
    round_money,
    to_json_number,
)

TARGETS = ("sales_order", "sales_invoice", "posted_invoice")
EXTERNAL_DOCUMENT_NUMBER_MAX = 35
ITEM_NUMBER_MAX = 20
DESCRIPTION_MAX = 100

# BC field lengths (Customer / Sales Header table fields behind the API pages).
CUSTOMER_LENGTHS = {
    "displayName": 100,
    "addressLine1": 100,
    "addressLine2": 50,
    "city": 30,
    "state": 30,
    "country": 10,
    "postalCode": 20,
    "phoneNumber": 30,
    "email": 80,
}
SHIP_TO_LENGTHS = {
    "shipToName": 100,
    "shipToContact": 100,
    "shipToAddressLine1": 100,
    "shipToAddressLine2": 50,
    "shipToCity": 30,
    "shipToState": 30,
    "shipToCountry": 10,
    "shipToPostCode": 20,
}
SELL_TO_LENGTHS = {
    "sellToAddressLine1": 100,
    "sellToAddressLine2": 50,
    "sellToCity": 30,
    "sellToState": 30,
    "sellToCountry": 10,
    "sellToPostCode": 20,
}

# Writable v2.0 customer fields a template may set (business-central.md §3.1), and how to send them.
CUSTOMER_TEMPLATE_FIELDS: dict[str, str] = {
    "type": "text",
    "website": "text",
    "salespersonCode": "text",
    "creditLimit": "decimal",
    "taxLiable": "bool",
    "taxAreaId": "text",
    "taxRegistrationNumber": "text",
    "paymentTermsId": "text",
    "shipmentMethodId": "text",
    "paymentMethodId": "text",
    "blocked": "text",
}

ADDRESS_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
                "country")
BILLING_KEYS = (*ADDRESS_KEYS, "email", "phone")
SHIPPING_KEYS = (*ADDRESS_KEYS, "phone")
OWN_META_PREFIX = "_wcbc_"
DOCUMENT_META_KEY = "_wcbc_document"


# --------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class MappingOptions:
    """The few settings the mapping needs (from ``[orders]`` and ``[woocommerce]`` in the config).

    ``target``: ``sales_order`` | ``sales_invoice`` | ``posted_invoice`` (both invoice targets create a
    salesInvoices document; posting is the sync layer's business). ``decimals``: the currency's amount
    decimals (BC amount rounding precision, normally the store's price decimals). ``guest_customer``: when
    set, every guest order is booked on this BC customer number instead of a customer per e-mail address.
    """

    target: str = "sales_order"
    number_prefix: str = ""
    prices_include_tax: bool = False
    shipping_account: str | None = None
    shipping_item: str | None = None
    fee_account: str | None = None
    local_currency: str | None = None
    time_zone: str = "UTC"
    customer_template: Mapping[str, Any] = field(default_factory=dict)
    decimals: int = 2
    guest_customer: str | None = None
    add_comment: bool = True

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"unknown target {self.target!r}; use one of {', '.join(TARGETS)}",
                              key="orders.target")
        decimals = self.decimals
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 8:
            raise ConfigError(f"decimals must be a whole number from 0 to 8, not {self.decimals!r}",
                              key="woocommerce.decimals")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"unknown time zone {self.time_zone!r}; use an IANA name such as "
                              "'America/Los_Angeles'", key="woocommerce.time_zone") from None
        prefix = self.number_prefix or ""
        if _utf16_len(prefix.strip()) >= EXTERNAL_DOCUMENT_NUMBER_MAX:
            raise ConfigError("the prefix leaves no room for the order number (BC allows 35 characters)",
                              key="orders.number_prefix")
        template = dict(self.customer_template or {})
        for key, value in template.items():
            _template_value(key, value)  # raises ConfigError on a bad key or value
        object.__setattr__(self, "customer_template", template)
        for name in ("shipping_account", "shipping_item", "fee_account", "local_currency", "guest_customer"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value).strip() or None)

    @classmethod
    def from_config(cls, cfg: Any) -> MappingOptions:
        """Build from a ``core.config.Config`` (read duck-typed: ``cfg.orders`` and ``cfg.woocommerce``)."""
        orders = getattr(cfg, "orders", None)
        woo = getattr(cfg, "woocommerce", None)

        def get(obj: Any, name: str, default: Any) -> Any:
            return getattr(obj, name, default) if obj is not None else default

        return cls(
            target=get(orders, "target", "sales_order"),
            number_prefix=get(orders, "number_prefix", "") or "",
            prices_include_tax=bool(get(orders, "prices_include_tax", False)),
            shipping_account=get(orders, "shipping_account", None),
            shipping_item=get(orders, "shipping_item", None),
            fee_account=get(orders, "fee_account", None),
            local_currency=get(orders, "local_currency", None),
            time_zone=get(woo, "time_zone", "UTC") or "UTC",
            customer_template=dict(get(orders, "customer_template", {}) or {}),
            decimals=int(get(woo, "decimals", 2)),
            guest_customer=get(orders, "guest_customer", None),
            add_comment=True,
        )

    @property
    def is_invoice(self) -> bool:
        return self.target != "sales_order"

    @property
    def entity_set(self) -> str:
        """The BC entity set to POST to: ``salesOrders`` or ``salesInvoices``."""
        return "salesInvoices" if self.is_invoice else "salesOrders"

    @property
    def lines_key(self) -> str:
        """The deep-insert navigation property: ``salesOrderLines`` or ``salesInvoiceLines``."""
        return "salesInvoiceLines" if self.is_invoice else "salesOrderLines"


def _template_value(key: str, value: Any) -> Any:
    kind = CUSTOMER_TEMPLATE_FIELDS.get(key)
    if kind is None:
        allowed = ", ".join(sorted(CUSTOMER_TEMPLATE_FIELDS))
        raise ConfigError(f"{key!r} is not a writable field of BC's v2.0 customers API; allowed: {allowed}",
                          key="orders.customer_template")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ConfigError(f"{key} must be true or false, not {value!r}", key="orders.customer_template")
    if kind == "decimal":
        try:
            return to_json_number(parse_money(value))
        except MoneyError:
            raise ConfigError(f"{key} must be a number, not {value!r}",
                              key="orders.customer_template") from None
    text = str(value)
    if key == "type" and text not in ("Company", "Person"):
        raise ConfigError(f"type must be 'Company' or 'Person', not {value!r}",
                          key="orders.customer_template")
    return text


# ------------------------------------------------------------------------------------------------ text

_BLANKS = re.compile(r"\s+")
_JOINERS = {"\u200d", "\u200c"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_attached(char: str) -> bool:
    """True for a character that belongs to the one before it (combining mark, joiner, selector...)."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in _JOINERS
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (flag sequences)
    )


def clip(text: Any, limit: int) -> str:
    """Tidy ``text`` (blanks collapsed, trimmed) and cut it to ``limit`` UTF-16 code units.

    BC's Text[n]/Code[n] lengths count .NET characters (UTF-16 code units): an emoji outside the BMP counts
    as 2. The cut never splits a surrogate pair and never leaves a base character without the combining marks,
    joiners or modifiers that follow it (the whole cluster is dropped instead).
    """
    if text is None:
        return ""
    value = _BLANKS.sub(" ", str(text)).strip()
    if _utf16_len(value) <= limit:
        return value
    kept: list[str] = []
    used = 0
    for char in value:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit:
            break
        kept.append(char)
        used += width
    rest = value[len(kept):]
    if rest and _is_attached(rest[0]):
        # drop the cluster the cut went through
        while kept and _is_attached(kept[-1]):
            kept.pop()
        if kept:
            kept.pop()
    while kept and (kept[-1] in _JOINERS or kept[-1].isspace()):
        kept.pop()
    return "".join(kept)


def _text(value: Any) -> str:
    return _BLANKS.sub(" ", str(value)).strip() if value is not None else ""


def _name_text(value: Any) -> str:
    """WooCommerce item/fee/method names may carry HTML entities (``&ndash;``): decode them."""
    return _text(html.unescape(_text(value)))


# --------------------------------------------------------------------------------------------- helpers


def order_label(order: Mapping[str, Any]) -> str:
    """``order #16`` (the display number, else the id) for messages."""
    number = _text(order.get("number")) or _text(order.get("id")) or "?"
    return f"order #{number}"


def _money(order: Mapping[str, Any], value: Any, what: str) -> Decimal:
    try:
        return parse_money(value)
    except MoneyError:
        raise RecordError(f"{order_label(order)}: {what} is not an amount: {value!r}") from None


def document_number(order: Mapping[str, Any], prefix: str = "") -> str:
    """The BC ``externalDocumentNumber``: ``prefix`` + the WooCommerce order ``number`` (not its id).

    Upper-cased and trimmed as BC stores a Code[35] field; longer than 35 -> :class:`RecordError`.
    """
    number = _text(order.get("number"))
    if not number:
        raise RecordError(f"{order_label(order)} has no order number")
    value = f"{prefix or ''}{number}".strip().upper()
    if _utf16_len(value) > EXTERNAL_DOCUMENT_NUMBER_MAX:
        raise RecordError(
            f"{order_label(order)}: external document number {value!r} is longer than BC's "
            f"{EXTERNAL_DOCUMENT_NUMBER_MAX} characters",
            hint="shorten orders.number_prefix",
        )
    return value


def currency_code(order: Mapping[str, Any], options: MappingOptions) -> str | None:
    """The ``currencyCode`` to send: ``""`` for BC's local currency, the ISO code otherwise, or ``None``
    (do not send the field) when ``local_currency`` is not configured."""
    if options.local_currency is None:
        return None
    code = _text(order.get("currency")).upper()
    if not code:
        raise RecordError(f"{order_label(order)} has no currency")
    return "" if code == options.local_currency.upper() else code


def document_date(order: Mapping[str, Any], time_zone: str) -> str:
    """The order's creation date in the store's time zone, ``YYYY-MM-DD``.

    Uses ``date_created_gmt`` (UTC, no offset on the wire) converted to ``time_zone``; falls back to
    ``date_created`` (already store-local) when the GMT field is missing.
    """
    zone = ZoneInfo(time_zone)
    gmt = order.get("date_created_gmt")
    try:
        if gmt:
            moment = datetime.fromisoformat(str(gmt).strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(zone).date().isoformat()
        local = order.get("date_created")
        if local:
            moment = datetime.fromisoformat(str(local).strip())
            if moment.tzinfo is not None:
                moment = moment.astimezone(zone)
            return moment.date().isoformat()
    except ValueError:
        shown = gmt or order.get("date_created")
        raise RecordError(f"{order_label(order)}: unreadable creation date {shown!r}") from None
    raise RecordError(f"{order_label(order)} has no creation date")


def _person(block: Mapping[str, Any]) -> str:
    return _text(f"{_text(block.get('first_name'))} {_text(block.get('last_name'))}")


def _email(block: Mapping[str, Any]) -> str:
    email = _text(block.get("email"))
    return email if _utf16_len(email) <= CUSTOMER_LENGTHS["email"] else ""


def _has_address(block: Mapping[str, Any] | None) -> bool:
    if not block:
        return False
    return any(_text(block.get(k)) for k in ("first_name", "last_name", "company", "address_1", "address_2",
                                             "city", "postcode"))


# ---------------------------------------------------------------------------------------------- buyers


def buyer_key(order: Mapping[str, Any], options: MappingOptions | None = None) -> tuple[str, str]:
    """Who the BC customer is, as ``(kind, key)``:

    * ``("customer", "2")``: a registered buyer (WooCommerce ``customer_id``);
    * ``("guest_customer", "<BC number>")``: a guest, when ``options.guest_customer`` is set (every guest
      order goes to that existing BC customer; nothing is created);
    * ``("guest", "jane@example.test")``: a guest, matched by the lower-cased billing e-mail.

    A guest with no e-mail and no ``guest_customer`` -> :class:`RecordError`.
    """
    try:
        customer_id = int(order.get("customer_id") or 0)
    except (TypeError, ValueError):
        customer_id = 0
    if customer_id > 0:
        return ("customer", str(customer_id))
    if options is not None and options.guest_customer:
        return ("guest_customer", options.guest_customer)
    email = _text((order.get("billing") or {}).get("email")).lower()
    if email:
        return ("guest", email)
    raise RecordError(
        f"{order_label(order)} is a guest order without an e-mail address and orders.guest_customer "
        "is not set",
        hint="set orders.guest_customer to the number of a BC customer for such orders",
    )


def map_customer(order: Mapping[str, Any], options: MappingOptions) -> dict[str, Any]:
    """The BC ``POST customers`` body built from the order's billing address.

    Shape: ``{"displayName", "type" ("Company" when billing has a company, else "Person"), "email" (left out
    when longer than 80), "phoneNumber", "addressLine1", "addressLine2", "city", "state", "country",
    "postalCode", "currencyCode"? (see :func:`currency_code`), ...customer_template}``. Text is cut to BC's
    lengths (displayName 100, addressLine1 100, addressLine2 50, city 30, state 30, country 10, postalCode 20,
    phoneNumber 30) by :func:`clip`. Template values (only writable v2.0 customer fields) win over the
    values derived from the order.
    """
    billing = order.get("billing") or {}
    company = _text(billing.get("company"))
    display = company or _person(billing) or _text(billing.get("email"))
    if not display:
        raise RecordError(f"{order_label(order)}: the buyer has no company, name or e-mail for the BC "
                          "customer's displayName")
    body: dict[str, Any] = {
        "displayName": clip(display, CUSTOMER_LENGTHS["displayName"]),
        "type": "Company" if company else "Person",
    }
    email = _email(billing)
    if email:
        body["email"] = email
    body.update({
        "phoneNumber": clip(billing.get("phone"), CUSTOMER_LENGTHS["phoneNumber"]),
        "addressLine1": clip(billing.get("address_1"), CUSTOMER_LENGTHS["addressLine1"]),
        "addressLine2": clip(billing.get("address_2"), CUSTOMER_LENGTHS["addressLine2"]),
        "city": clip(billing.get("city"), CUSTOMER_LENGTHS["city"]),
        "state": clip(billing.get("state"), CUSTOMER_LENGTHS["state"]),
        "country": clip(billing.get("country"), CUSTOMER_LENGTHS["country"]),
        "postalCode": clip(billing.get("postcode"), CUSTOMER_LENGTHS["postalCode"]),
    })
    currency = currency_code(order, options)
    if currency is not None:
        body["currencyCode"] = currency
    for key, value in options.customer_template.items():
        body[key] = _template_value(key, value)
    return body


# -------------------------------------------------------------------------------------------- documents


def split_line_amount(quantity: Decimal, subtotal: Decimal, total: Decimal, decimals: int) -> tuple[Decimal,
                                                                                                     Decimal]:
    """``(unitPrice, discountAmount)`` for a line whose BC amount must equal ``total``.

    ``unitPrice`` = ``subtotal / quantity`` rounded up to ``decimals``; ``discountAmount`` =
    ``round(quantity * unitPrice, decimals) - total``. Then BC's ``round(quantity * unitPrice) -
    discountAmount`` is ``total`` exactly and the discount is never negative. ``subtotal`` below ``total`` is
    treated as ``total`` (no negative discount). Needs ``quantity > 0`` and ``total >= 0``.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    if total < 0:
        raise ValueError("total must not be negative")
    subtotal = max(subtotal, total)
    unit = ceil_money(subtotal / quantity, decimals)
    gross = round_money(quantity * unit, decimals)
    return unit, gross - total


def _amounts(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions, what: str,
             *, subtotal: bool) -> tuple[Decimal, Decimal]:
    """(subtotal, total) of a line, gross when prices include tax, rounded to the currency decimals."""
    total = _money(order, line.get("total"), f"{what} total")
    if options.prices_include_tax:
        total += _money(order, line.get("total_tax"), f"{what} total_tax")
    sub = total
    if subtotal:
        sub = _money(order, line.get("subtotal"), f"{what} subtotal")
        if options.prices_include_tax:
            sub += _money(order, line.get("subtotal_tax"), f"{what} subtotal_tax")
    return round_money(sub, options.decimals), round_money(total, options.decimals)


def _item_line(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions,
               item_numbers: Mapping[str, str] | None) -> dict[str, Any] | None:
    line_id = line.get("id")
    name = _name_text(line.get("name")) or "?"
    what = f"line {line_id} ({name})"
    sku = _text(line.get("sku")) if isinstance(line.get("sku"), str) else ""
    if not sku:
        raise RecordError(
            f"{order_label(order)}: line {line_id} ({name}) has no SKU",
            hint="give the WooCommerce product or variation the number of its BC item as SKU",
        )
    number = sku
    if item_numbers:
        number = item_numbers.get(sku.upper(), item_numbers.get(sku, sku))
    number = _text(number).upper()
    if _utf16_len(number) > ITEM_NUMBER_MAX:
        raise RecordError(
            f"{order_label(order)}: line {line_id} ({name}): SKU {sku!r} is longer than a BC item number "
            f"({ITEM_NUMBER_MAX} characters)",
            hint="map the SKU to its BC item number in the items mapping file",
        )
    quantity = _money(order, line.get("quantity"), f"{what} quantity")
    subtotal, total = _amounts(order, line, options, what, subtotal=True)
    if quantity == 0 and total == 0:
        return None
    if quantity <= 0:
        raise RecordError(f"{order_label(order)}: line {line_id} ({name}) has quantity {quantity}")
    if total < 0:
        raise RecordError(f"{order_label(order)}: line {line_id} ({name}) has a negative total {total}")
    unit, discount = split_line_amount(quantity, subtotal, total, options.decimals)
    return {
        "lineType": "Item",
        "lineObjectNumber": number,
        "quantity": to_json_number(quantity),
        "unitPrice": to_json_number(unit),
        "discountAmount": to_json_number(discount),
    }


def _shipping_line(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions
                   ) -> dict[str, Any] | None:
    title = _name_text(line.get("method_title")) or _text(line.get("method_id")) or "Shipping"
    _, amount = _amounts(order, line, options, f"shipping line {line.get('id')} ({title})", subtotal=False)
    if amount == 0:
        return None
    if options.shipping_account:
        kind, number = "Account", options.shipping_account
    elif options.shipping_item:
        kind, number = "Item", options.shipping_item
    else:
        raise RecordError(
            f"{order_label(order)} has shipping ({title}, {amount}) but neither orders.shipping_account nor "
            "orders.shipping_item is set",
            hint="set orders.shipping_account (a G/L account number) or orders.shipping_item in the config",
        )
    result: dict[str, Any] = {
        "lineType": kind,
        "lineObjectNumber": number,
        "description": clip(title, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(amount),
    }
    if kind == "Item":
        result["discountAmount"] = 0
    return result


def _fee_line(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions
              ) -> dict[str, Any] | None:
    name = _name_text(line.get("name")) or "Fee"
    _, amount = _amounts(order, line, options, f"fee line {line.get('id')} ({name})", subtotal=False)
    if amount == 0:
        return None
    if not options.fee_account:
        raise RecordError(
            f"{order_label(order)} has a fee ({name}, {amount}) but orders.fee_account is not set",
            hint="set orders.fee_account (a G/L account number) in the config",
        )
    return {
        "lineType": "Account",
        "lineObjectNumber": options.fee_account,
        "description": clip(name, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(amount),
    }


def comment_text(order: Mapping[str, Any]) -> str:
    """``WooCommerce order #16, paid by Direct bank transfer`` (without "paid by" when there is no method),
    cut to 100 characters."""
    number = _text(order.get("number")) or _text(order.get("id"))
    text = f"WooCommerce order #{number}"
    method = _name_text(order.get("payment_method_title"))
    if method:
        text += f", paid by {method}"
    return clip(text, DESCRIPTION_MAX)


def map_document(
    order: Mapping[str, Any],
    options: MappingOptions,
    *,
    customer_number: str,
    sell_to_from_billing: bool = False,
    item_numbers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The deep-insert POST body for ``options.entity_set`` (salesOrders or salesInvoices).

    Header: ``externalDocumentNumber``, ``customerNumber``, ``orderDate`` (order) or ``invoiceDate`` +
    ``postingDate`` (invoice), ``pricesIncludeTax`` (orders only), ``currencyCode`` (see
    :func:`currency_code`), ``email``/``phoneNumber`` (billing, when present), ``shipToName``,
    ``shipToContact``, ``shipToAddressLine1/2``, ``shipToCity``, ``shipToState``, ``shipToCountry``,
    ``shipToPostCode`` (from ``shipping``, or ``billing`` when shipping holds no address) and, with
    ``sell_to_from_billing`` (a shared guest customer), ``sellToAddressLine1/2``, ``sellToCity``,
    ``sellToState``, ``sellToCountry``, ``sellToPostCode`` from billing.

    Lines under ``options.lines_key``: ``{"lineType": "Comment", "description"}`` first, then
    ``{"lineType": "Item", "lineObjectNumber", "quantity", "unitPrice", "discountAmount"}`` per item,
    ``{"lineType": "Account"|"Item", "lineObjectNumber", "description", "quantity": 1, "unitPrice"}`` per
    shipping and fee line. ``item_numbers`` optionally maps an upper-cased SKU to its BC item number.

    Raises :class:`RecordError` (naming the order, and the line and product where it applies) for a line
    without SKU, shipping or fees without a configured account, bad amounts or dates.
    """
    customer_number = _text(customer_number)
    if not customer_number:
        raise RecordError(f"{order_label(order)}: no BC customer number to book it on")
    body: dict[str, Any] = {
        "externalDocumentNumber": document_number(order, options.number_prefix),
        "customerNumber": customer_number,
    }
    date = document_date(order, options.time_zone)
    if options.is_invoice:
        body["invoiceDate"] = date
        body["postingDate"] = date
    else:
        body["orderDate"] = date
        body["pricesIncludeTax"] = bool(options.prices_include_tax)
    currency = currency_code(order, options)
    if currency is not None:
        body["currencyCode"] = currency

    billing = order.get("billing") or {}
    email = _email(billing)
    if email:
        body["email"] = email
    phone = clip(billing.get("phone"), CUSTOMER_LENGTHS["phoneNumber"])
    if phone:
        body["phoneNumber"] = phone

    shipping = order.get("shipping") or {}
    ship = shipping if _has_address(shipping) else billing
    company = _text(ship.get("company"))
    person = _person(ship)
    body["shipToName"] = clip(company or person, SHIP_TO_LENGTHS["shipToName"])
    body["shipToContact"] = clip(person, SHIP_TO_LENGTHS["shipToContact"])
    body["shipToAddressLine1"] = clip(ship.get("address_1"), SHIP_TO_LENGTHS["shipToAddressLine1"])
    body["shipToAddressLine2"] = clip(ship.get("address_2"), SHIP_TO_LENGTHS["shipToAddressLine2"])
    body["shipToCity"] = clip(ship.get("city"), SHIP_TO_LENGTHS["shipToCity"])
    body["shipToState"] = clip(ship.get("state"), SHIP_TO_LENGTHS["shipToState"])
    body["shipToCountry"] = clip(ship.get("country"), SHIP_TO_LENGTHS["shipToCountry"])
    body["shipToPostCode"] = clip(ship.get("postcode"), SHIP_TO_LENGTHS["shipToPostCode"])
    if sell_to_from_billing:
        body["sellToAddressLine1"] = clip(billing.get("address_1"), SELL_TO_LENGTHS["sellToAddressLine1"])
        body["sellToAddressLine2"] = clip(billing.get("address_2"), SELL_TO_LENGTHS["sellToAddressLine2"])
        body["sellToCity"] = clip(billing.get("city"), SELL_TO_LENGTHS["sellToCity"])
        body["sellToState"] = clip(billing.get("state"), SELL_TO_LENGTHS["sellToState"])
        body["sellToCountry"] = clip(billing.get("country"), SELL_TO_LENGTHS["sellToCountry"])
        body["sellToPostCode"] = clip(billing.get("postcode"), SELL_TO_LENGTHS["sellToPostCode"])

    lines: list[dict[str, Any]] = []
    if options.add_comment:
        lines.append({"lineType": "Comment", "description": comment_text(order)})
    for line in order.get("line_items") or []:
        mapped = _item_line(order, line, options, item_numbers)
        if mapped is not None:
            lines.append(mapped)
    for line in order.get("shipping_lines") or []:
        mapped = _shipping_line(order, line, options)
        if mapped is not None:
            lines.append(mapped)
    for line in order.get("fee_lines") or []:
        mapped = _fee_line(order, line, options)
        if mapped is not None:
            lines.append(mapped)
    if not any(line["lineType"] != "Comment" for line in lines):
        raise RecordError(f"{order_label(order)} has nothing to book (no items, shipping or fees)")
    body[options.lines_key] = lines
    return body


# ----------------------------------------------------------------------------------------------- totals


@dataclass(frozen=True)
class TotalCheck:
    """WooCommerce's order total against the BC document's ``totalAmountIncludingTax``.

    ``difference`` = ``woo_total - bc_total`` (what a rounding line must add in BC).
    """

    woo_total: Decimal
    bc_total: Decimal
    difference: Decimal
    within_tolerance: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (amounts as strings) for the journal."""
        return {"woo_total": str(self.woo_total), "bc_total": str(self.bc_total),
                "difference": str(self.difference), "within_tolerance": self.within_tolerance}


def expected_total(order: Mapping[str, Any]) -> Decimal:
    """WooCommerce's order ``total`` (including tax, shipping and fees), exactly."""
    return _money(order, order.get("total"), "total")


def compare_totals(order: Mapping[str, Any], bc_document: Mapping[str, Any],
                   tolerance: Decimal | str | float = Decimal("0.01")) -> TotalCheck:
    """Compare :func:`expected_total` with BC's ``totalAmountIncludingTax``.

    ``within_tolerance`` is ``abs(difference) <= tolerance``.
    """
    woo = expected_total(order)
    if "totalAmountIncludingTax" not in bc_document or bc_document.get("totalAmountIncludingTax") is None:
        raise RecordError(f"{order_label(order)}: the BC document carries no totalAmountIncludingTax")
    try:
        bc = parse_money(bc_document["totalAmountIncludingTax"])
        limit = abs(parse_money(tolerance))
    except MoneyError:
        raise RecordError(f"{order_label(order)}: unreadable BC total "
                          f"{bc_document.get('totalAmountIncludingTax')!r}") from None
    difference = woo - bc
    return TotalCheck(woo_total=woo, bc_total=bc, difference=difference,
                      within_tolerance=abs(difference) <= limit)


def rounding_line(difference: Decimal | str | float, account: str, *,
                  description: str = "Rounding difference to the WooCommerce total") -> dict[str, Any]:
    """An Account line that adds ``difference`` (positive or negative) on ``account``.

    Shape: ``{"lineType": "Account", "lineObjectNumber": account, "description", "quantity": 1,
    "unitPrice": difference}``. The account should carry no tax group, else BC adds tax on top.
    """
    if not account or not str(account).strip():
        raise ConfigError("no rounding account configured", key="orders.rounding_account")
    return {
        "lineType": "Account",
        "lineObjectNumber": str(account).strip(),
        "description": clip(description, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(parse_money(difference)),
    }


def prices_include_tax_mismatch(bc_document: Mapping[str, Any], options: MappingOptions) -> str | None:
    """A message when the created BC document's ``pricesIncludeTax`` is not what the mapping assumed.

    Matters for invoices, where the flag is read-only and follows the customer card; ``None`` when it matches
    or BC did not return the field.
    """
    value = bc_document.get("pricesIncludeTax")
    if value is None or bool(value) == bool(options.prices_include_tax):
        return None
    want = "including" if options.prices_include_tax else "excluding"
    got = "including" if value else "excluding"
    return (f"the BC document prices are {got} tax but orders.prices_include_tax says {want}; "
            "set the customer's Prices Including VAT accordingly or change orders.prices_include_tax")


# ---------------------------------------------------------------------------------- fingerprint / echo


def _canon(value: Any) -> str:
    try:
        return canonical(value)
    except MoneyError:
        return _text(value)


def _shown(value: Any) -> str:
    """Money as WooCommerce wrote it, for people (``"36.00"``); unreadable values as text."""
    try:
        return str(parse_money(value))
    except MoneyError:
        return _text(value)


def _block(block: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    block = block or {}
    result = {k: _text(block.get(k)) for k in keys}
    if "email" in result:
        result["email"] = result["email"].lower()
    return result


def _items(order: Mapping[str, Any]) -> list[list[str]]:
    return [
        [_text(li.get("sku")), _canon(li.get("quantity")), _canon(li.get("subtotal")),
         _canon(li.get("total")), _canon(li.get("subtotal_tax")), _canon(li.get("total_tax"))]
        for li in order.get("line_items") or []
    ]


def _others(order: Mapping[str, Any], key: str, name_key: str) -> list[list[str]]:
    return [
        [_name_text(line.get(name_key)), _canon(line.get("total")), _canon(line.get("total_tax"))]
        for line in order.get(key) or []
    ]


def _digest(material: Any) -> str:
    data = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _material(order: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "currency": _text(order.get("currency")).upper(),
        "customer_id": _text(order.get("customer_id") or 0),
        "billing": _block(order.get("billing"), BILLING_KEYS),
        "shipping": _block(order.get("shipping"), SHIPPING_KEYS),
        "items": _items(order),
        "shipping_lines": _others(order, "shipping_lines", "method_title"),
        "fees": _others(order, "fee_lines", "name"),
        "total": _canon(order.get("total")),
    }


def order_fingerprint(order: Mapping[str, Any]) -> str:
    """A stable SHA-256 (hex) of what the BC document is built from.

    Covers currency, customer id, billing and shipping address, items (SKU, quantity, subtotal, total and
    their taxes), shipping and fee lines and the order total, with money compared as numbers
    (``"5"`` == ``"5.00"``).
    Excludes status, dates (``date_modified``), ``meta_data`` (our own ``_wcbc_*`` keys included), notes,
    payment fields and refunds, so a write-back echo keeps the fingerprint and a real change does not.
    """
    return _digest(_material(order))


def _customer_key(order: Mapping[str, Any]) -> str:
    try:
        kind, key = buyer_key(order)
    except RecordError:
        return "guest:"
    return f"{kind}:{key}"


def summarize(order: Mapping[str, Any]) -> dict[str, Any]:
    """A small JSON-able summary stored with the order's record (enough for :func:`diff_orders`).

    ``{"id", "number", "status", "total", "currency", "fingerprint", "lines" (number of line items),
    "customer" ("customer:2" | "guest:<email>"), "items": [[sku, quantity, total, total_tax], ...],
    "shipping": [[title, total, total_tax]], "fees": [[name, total, total_tax]], "billing": <hash>,
    "ship_to": <hash>}``. Addresses are kept as short hashes only.
    """
    material = _material(order)
    return {
        "id": order.get("id"),
        "number": _text(order.get("number")),
        "status": _text(order.get("status")),
        "total": _shown(order.get("total")),
        "currency": material["currency"],
        "fingerprint": _digest(material),
        "lines": len(order.get("line_items") or []),
        "customer": _customer_key(order),
        "items": [
            [_text(li.get("sku")), _shown(li.get("quantity")), _shown(li.get("total")),
             _shown(li.get("total_tax"))]
            for li in order.get("line_items") or []
        ],
        "shipping": [
            [_name_text(sl.get("method_title")), _shown(sl.get("total")), _shown(sl.get("total_tax"))]
            for sl in order.get("shipping_lines") or []
        ],
        "fees": [
            [_name_text(fl.get("name")), _shown(fl.get("total")), _shown(fl.get("total_tax"))]
            for fl in order.get("fee_lines") or []
        ],
        "billing": _digest(material["billing"])[:16],
        "ship_to": _digest(material["shipping"])[:16],
    }


def _same_money(a: Any, b: Any) -> bool:
    try:
        return parse_money(a) == parse_money(b)
    except MoneyError:
        return _text(a) == _text(b)


def _diff_rows(label: str, old: list[Any], new: list[Any], fields: tuple[str, ...], money_from: int
               ) -> list[str]:
    changes: list[str] = []
    for index in range(max(len(old), len(new))):
        name = f"{label} {index + 1}"
        if index >= len(old):
            changes.append(f"{name} added: {' '.join(str(v) for v in new[index][:2])}")
            continue
        if index >= len(new):
            changes.append(f"{name} removed: {' '.join(str(v) for v in old[index][:2])}")
            continue
        before, after = list(old[index]), list(new[index])
        title = f"{name} ({after[0]})" if after and after[0] else name
        for position, field_name in enumerate(fields):
            a = before[position] if position < len(before) else ""
            b = after[position] if position < len(after) else ""
            same = _same_money(a, b) if position >= money_from else a == b
            if not same:
                changes.append(f"{title} {field_name} {a} -> {b}")
    return changes


def diff_orders(old_summary: Mapping[str, Any], new_order: Mapping[str, Any]) -> list[str]:
    """Human-readable changes between a stored :func:`summarize` and the order as it is now.

    For example ``["line 2 (HOODIE-M) quantity 1 -> 2", "total 89.88 -> 131.88"]``. Empty when the
    fingerprint is unchanged; ``["order content changed"]`` when the fingerprint differs in a detail the
    summary does not hold (subtotals, line taxes).
    """
    new = summarize(new_order)
    if old_summary.get("fingerprint") == new["fingerprint"]:
        return []
    if "items" not in old_summary:  # a summary from before details were kept
        return ["order content changed"]
    changes: list[str] = []
    if old_summary.get("currency") != new["currency"]:
        changes.append(f"currency {old_summary.get('currency')} -> {new['currency']}")
    if old_summary.get("customer") != new["customer"]:
        changes.append(f"customer {old_summary.get('customer')} -> {new['customer']}")
    changes += _diff_rows("line", list(old_summary.get("items") or []), new["items"],
                          ("SKU", "quantity", "total", "tax"), money_from=1)
    changes += _diff_rows("shipping", list(old_summary.get("shipping") or []), new["shipping"],
                          ("method", "total", "tax"), money_from=1)
    changes += _diff_rows("fee", list(old_summary.get("fees") or []), new["fees"],
                          ("name", "total", "tax"), money_from=1)
    if old_summary.get("billing") != new["billing"]:
        changes.append("billing address changed")
    if old_summary.get("ship_to") != new["ship_to"]:
        changes.append("shipping address changed")
    if not _same_money(old_summary.get("total"), new["total"]):
        changes.append(f"total {old_summary.get('total')} -> {new['total']}")
    return changes or ["order content changed"]


def meta_value(order: Mapping[str, Any], key: str) -> Any:
    """The value of the order meta ``key`` (last one wins), or ``None``."""
    value = None
    for entry in order.get("meta_data") or []:
        if isinstance(entry, Mapping) and entry.get("key") == key:
            value = entry.get("value")
    return value


def is_own_echo(order: Mapping[str, Any], stored_fingerprint: str | None) -> bool:
    """True when the order carries our ``_wcbc_document`` meta and its fingerprint equals the one stored
    when it was booked: the change that triggered this delivery was our own write-back (or nothing that
    matters to BC)."""
    if not stored_fingerprint or meta_value(order, DOCUMENT_META_KEY) in (None, ""):
        return False
    return order_fingerprint(order) == stored_fingerprint


__all__ = [
    "MappingOptions",
    "TotalCheck",
    "buyer_key",
    "clip",
    "comment_text",
    "compare_totals",
    "currency_code",
    "diff_orders",
    "document_date",
    "document_number",
    "expected_total",
    "is_own_echo",
    "map_customer",
    "map_document",
    "meta_value",
    "order_fingerprint",
    "order_label",
    "prices_include_tax_mismatch",
    "rounding_line",
    "split_line_amount",
    "summarize",
]
