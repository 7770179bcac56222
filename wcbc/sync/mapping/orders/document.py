"""The sales document: header and lines of the deep-insert POST (:func:`map_document`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import QUANTITY_DECIMALS, MoneyError, ceil_money, round_money, to_json_number
from wcbc.sync.mapping.orders.customers import _email, _has_address, _person
from wcbc.sync.mapping.orders.fields import (
    _money,
    currency_code,
    document_date,
    document_number,
    posting_date,
)
from wcbc.sync.mapping.orders.options import MappingOptions
from wcbc.sync.mapping.orders.tax import with_tax_code
from wcbc.sync.mapping.orders.text import (
    CUSTOMER_LENGTHS,
    DESCRIPTION_MAX,
    ITEM_NUMBER_MAX,
    SELL_TO_LENGTHS,
    SHIP_TO_LENGTHS,
    _name_text,
    _text,
    _utf16_len,
    clip,
    order_label,
)

UNIT_DECIMALS = 5  # BC's Unit-Amount Rounding Precision (0.00001): a unit price carries up to 5 decimals


def split_line_amount(quantity: Decimal, subtotal: Decimal, total: Decimal, decimals: int, *,
                      unit_decimals: int | None = None) -> tuple[Decimal, Decimal]:
    """``(unitPrice, discountAmount)`` for a line whose BC amount must equal ``total``.

    ``unitPrice`` = ``subtotal / quantity`` rounded up to ``unit_decimals`` (default ``decimals``; the
    mapping passes BC's 5, so 4.995 stays 4.995 and no line discount is invented); ``discountAmount`` =
    ``round(quantity * unitPrice, decimals) - total``. Then BC's ``round(quantity * unitPrice) -
    discountAmount`` is ``total`` exactly and the discount is never negative. ``subtotal`` below ``total`` is
    treated as ``total`` (no negative discount). Needs ``quantity > 0`` and ``total >= 0``.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    if total < 0:
        raise ValueError("total must not be negative")
    subtotal = max(subtotal, total)
    unit = ceil_money(subtotal / quantity, decimals if unit_decimals is None else unit_decimals)
    gross = round_money(quantity * unit, decimals)
    return unit, gross - total


def _amounts(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions, what: str,
             *, subtotal: bool) -> tuple[Decimal, Decimal]:
    """(subtotal, total) of a line, gross when the document's prices include tax (:func:`sends_gross`),
    rounded to the currency decimals."""
    gross = sends_gross(options)
    total = _money(order, line.get("total"), f"{what} total")
    if gross:
        total += _money(order, line.get("total_tax"), f"{what} total_tax")
    sub = total
    if subtotal:
        sub = _money(order, line.get("subtotal"), f"{what} subtotal")
        if gross:
            sub += _money(order, line.get("subtotal_tax"), f"{what} subtotal_tax")
    return round_money(sub, options.decimals), round_money(total, options.decimals)


def sends_gross(options: MappingOptions) -> bool:
    """Whether line prices are sent including tax: only on sales orders with ``prices_include_tax``, which
    then carry ``pricesIncludeTax: true``. On invoices ``pricesIncludeTax`` is read-only and follows the
    customer's "Prices Including VAT" (business-central.md §10.6), which BC's API does not show: net
    prices are sent, which BC applies as they are on a customer without that setting (the default); a
    customer with it makes the read-back check fail the order (the draft is deleted)."""
    return bool(options.prices_include_tax) and not options.is_invoice


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
    quantity = _money(order, line.get("quantity"), f"{what} quantity", decimals=QUANTITY_DECIMALS)
    subtotal, total = _amounts(order, line, options, what, subtotal=True)
    if quantity == 0 and total == 0:
        return None
    if quantity <= 0:
        raise RecordError(f"{order_label(order)}: line {line_id} ({name}) has quantity {quantity}")
    if total < 0:
        raise RecordError(f"{order_label(order)}: line {line_id} ({name}) has a negative total {total}")
    unit, discount = split_line_amount(quantity, subtotal, total, options.decimals,
                                       unit_decimals=max(UNIT_DECIMALS, options.decimals))
    return with_tax_code({
        "lineType": "Item",
        "lineObjectNumber": number,
        "quantity": to_json_number(quantity),
        "unitPrice": to_json_number(unit),
        "discountAmount": to_json_number(discount),
    }, order, line, "item", options.tax_codes, what)


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
    return with_tax_code(result, order, line, "shipping", options.tax_codes,
                         f"shipping line {line.get('id')} ({title})")


def _fee_line(order: Mapping[str, Any], line: Mapping[str, Any], options: MappingOptions
              ) -> dict[str, Any] | None:
    name = _name_text(line.get("name")) or "Fee"
    _, amount = _amounts(order, line, options, f"fee line {line.get('id')} ({name})", subtotal=False)
    if amount == 0:
        return None
    # A negative fee is a discount entered as a fee: booked on the discount account, never as negative
    # fee income.
    account, key = ((options.discount_account, "orders.discount_account") if amount < 0
                    else (options.fee_account, "orders.fee_account"))
    if not account:
        what = "a negative fee (a discount)" if amount < 0 else "a fee"
        raise RecordError(
            f"{order_label(order)} has {what} ({name}, {amount}) but {key} is not set",
            hint=f"set {key} (a G/L account number) in the config, then wcbc replay the order",
        )
    return with_tax_code({
        "lineType": "Account",
        "lineObjectNumber": account,
        "description": clip(name, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(amount),
    }, order, line, "fee", options.tax_codes, f"fee line {line.get('id')} ({name})")


# BC's address fields (after the shipTo/sellTo prefix) and the WooCommerce address keys they come from.
ADDRESS_FIELDS = (("AddressLine1", "address_1"), ("AddressLine2", "address_2"), ("City", "city"),
                  ("State", "state"), ("Country", "country"), ("PostCode", "postcode"))


def _address(prefix: str, block: Mapping[str, Any], lengths: Mapping[str, int]) -> dict[str, str]:
    """``shipToAddressLine1``... (or ``sellTo...``) from a WooCommerce address, cut to BC's lengths."""
    return {f"{prefix}{name}": clip(block.get(key), lengths[f"{prefix}{name}"])
            for name, key in ADDRESS_FIELDS}


def order_lines(order: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The order's ``line_items``/``shipping_lines``/``fee_lines``: a list of objects, else
    :class:`RecordError` (a hostile or broken order is refused, not half-read)."""
    value = order.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(line, Mapping) for line in value):
        raise RecordError(f"{order_label(order)}: {key} is not a list of lines: {type(value).__name__}")
    return value


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
    posting = posting_date(order, options)
    if options.is_invoice:
        body["invoiceDate"] = date
        if posting is not None:
            body["postingDate"] = posting
    else:
        body["orderDate"] = date
        if options.posting_date == "paid" and posting is not None:
            body["postingDate"] = posting
        body["pricesIncludeTax"] = bool(options.prices_include_tax)
    body["currencyCode"] = currency_code(order, options)

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
    body.update(_address("shipTo", ship, SHIP_TO_LENGTHS))
    if sell_to_from_billing:
        body.update(_address("sellTo", billing, SELL_TO_LENGTHS))

    mapped: list[dict[str, Any] | None] = []
    if options.add_comment:
        mapped.append({"lineType": "Comment", "description": comment_text(order)})
    try:
        for line in order_lines(order, "line_items"):
            mapped.append(_item_line(order, line, options, item_numbers))
        for line in order_lines(order, "shipping_lines"):
            mapped.append(_shipping_line(order, line, options))
        for line in order_lines(order, "fee_lines"):
            mapped.append(_fee_line(order, line, options))
    except (MoneyError, ArithmeticError) as exc:  # an amount BC cannot be sent exactly
        raise RecordError(f"{order_label(order)}: {exc}") from None
    lines = [line for line in mapped if line is not None]
    if not any(line["lineType"] != "Comment" for line in lines):
        raise RecordError(f"{order_label(order)} has nothing to book (no items, shipping or fees)")
    if _money(order, order.get("total") or 0, "total") < 0:
        raise RecordError(f"{order_label(order)}: its total {order.get('total')} is negative; BC cannot "
                          "post a negative invoice",
                          hint="correct the order's discounts or fees in WooCommerce")
    body[options.lines_key] = lines
    return body

