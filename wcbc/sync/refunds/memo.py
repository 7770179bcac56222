"""Pure mapping: a WooCommerce refund -> the deep-insert body of one BC sales credit memo.

Rules (README "How refunds and cancellations are booked"):

* ``externalDocumentNumber`` = the order's number (with ``orders.number_prefix``) + ``-R`` + the refund id,
  upper-cased, at most BC's 35 characters: the credit memo's idempotency key.
* A refunded line whose quantity WooCommerce put back into stock is an **Item** line (BC takes it back into
  inventory on posting); the part not restocked is an **Account** line on ``orders.refund_account``.
* Refunded shipping goes to ``orders.shipping_account`` (or ``shipping_item``), refunded fees to
  ``orders.fee_account``: the accounts the order was booked on, so their tax is computed alike.
* Whatever the refund's ``amount`` holds beyond its lines (an amount-only refund, a rounding between the
  refund's lines and its amount) is one Account line on ``orders.refund_amount_account``, gross (that
  account should carry no tax).
* A refund without lines for the whole order (WooCommerce's "Order fully refunded.") is built from the
  order's own lines, none restocked.
* Amounts are the refund's, positive (the document type makes them a credit), net of tax unless
  ``orders.prices_include_tax``; no rounding line is ever added (the apply step compares totals).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money, round_money, to_json_number
from wcbc.sync.mapping.orders import (
    MappingOptions,
    clip,
    currency_code,
    document_number,
    order_label,
    split_line_amount,
)
from wcbc.sync.mapping.orders.text import DESCRIPTION_MAX, EXTERNAL_DOCUMENT_NUMBER_MAX, _utf16_len

REFUNDED_ITEM_META = "_refunded_item_id"
RESTOCKED_META = "_restock_refunded_items"


def record_id(order_id: int | str, refund_id: int | str) -> str:
    return f"refund:{order_id}-{refund_id}"


def credit_memo_number(order: Mapping[str, Any], refund_id: int | str, prefix: str = "") -> str:
    """``<prefix><order number>-R<refund id>``, upper-cased; longer than 35 -> :class:`RecordError`."""
    value = f"{document_number(order, prefix)}-R{refund_id}".upper()
    if _utf16_len(value) > EXTERNAL_DOCUMENT_NUMBER_MAX:
        raise RecordError(
            f"{order_label(order)}: credit memo number {value!r} is longer than BC's "
            f"{EXTERNAL_DOCUMENT_NUMBER_MAX} characters",
            hint="shorten orders.number_prefix",
        )
    return value


def money(value: Any, what: str) -> Decimal:
    try:
        return abs(parse_money(value if value not in (None, "") else "0"))
    except MoneyError:
        raise RecordError(f"{what} is not an amount: {value!r}") from None


def _meta(line: Mapping[str, Any], key: str) -> Any:
    return next((m.get("value") for m in line.get("meta_data") or [] if m.get("key") == key), None)


def refunded_item_id(line: Mapping[str, Any]) -> int | None:
    value = _meta(line, REFUNDED_ITEM_META)
    return int(value) if str(value or "").isdigit() else None


def restocked_per_line(order: Mapping[str, Any]) -> dict[int, Decimal]:
    """The order's line id -> quantity WooCommerce put back (meta ``_restock_refunded_items``, cumulative)."""
    out: dict[int, Decimal] = {}
    for line in order.get("line_items") or []:
        value = _meta(line, RESTOCKED_META)
        if value not in (None, ""):
            out[int(line["id"])] = money(value, "restocked quantity")
    return out


def refund_tax(refund: Mapping[str, Any]) -> Decimal:
    """The tax a refund gives back (positive): its lines', shipping's and fees' ``total_tax``."""
    tax = Decimal(0)
    for kind in ("line_items", "shipping_lines", "fee_lines"):
        for line in refund.get(kind) or []:
            tax += money(line.get("total_tax"), "total_tax")
    return abs(tax)


def without_restocked(order: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order with each line's quantity less what a refund put back into the store's stock (what it
    still holds back), for the stock reservations; the order itself when nothing was restocked."""
    back = restocked_per_line(order)
    if not back:
        return order
    lines = []
    for line in order.get("line_items") or []:
        taken = back.get(int(line["id"]), Decimal(0)) if str(line.get("id", "")).isdigit() else Decimal(0)
        try:
            quantity = money(line.get("quantity"), "quantity")
        except RecordError:
            lines.append(line)
            continue
        lines.append({**line, "quantity": str(max(quantity - taken, Decimal(0)))})
    return {**order, "line_items": lines}


def allocate_restock(
    order: Mapping[str, Any], new_refunds: list[Mapping[str, Any]], booked: Mapping[int, Decimal]
) -> dict[int, dict[int, Decimal]]:
    """Which quantities of the not yet booked refunds were restocked: refund id -> {order line id: qty}.

    WooCommerce records only a cumulative restocked quantity per order line. What booked credit memos
    already took back (``booked``: order line id -> quantity) is subtracted; the rest goes to the new
    refunds, newest first (the refund just made is the one whose restock box was ticked).
    """
    left = {k: v - booked.get(k, Decimal(0)) for k, v in restocked_per_line(order).items()}
    result: dict[int, dict[int, Decimal]] = {}
    for refund in sorted(new_refunds, key=lambda r: int(r["id"]), reverse=True):
        taken: dict[int, Decimal] = {}
        for line in refund.get("line_items") or []:
            original = refunded_item_id(line)
            if original is None:
                continue
            qty = min(
                money(line.get("quantity"), "quantity"), max(left.get(original, Decimal(0)), Decimal(0))
            )
            if qty > 0:
                taken[original] = taken.get(original, Decimal(0)) + qty
                left[original] -= qty
        result[int(refund["id"])] = taken
    return result


def _gross(line: Mapping[str, Any], options: MappingOptions, key: str = "total") -> Decimal:
    amount = money(line.get(key), key)
    if options.prices_include_tax:
        amount += money(line.get(f"{key}_tax"), f"{key}_tax")
    return round_money(amount, options.decimals)


def _account_line(number: str, description: str, amount: Decimal) -> dict[str, Any]:
    return {
        "lineType": "Account",
        "lineObjectNumber": number,
        "description": clip(description, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(amount),
    }


def _need(value: str | None, key: str, what: str, order: Mapping[str, Any]) -> str:
    if not value:
        raise RecordError(
            f"{order_label(order)}: a refund of {what} needs orders.{key}",
            hint=f"set orders.{key} (a G/L account number) in the config",
        )
    return value


def _item_lines(
    order: Mapping[str, Any],
    line: Mapping[str, Any],
    restocked: Decimal,
    options: MappingOptions,
    refund_account: str | None,
    item_numbers: Mapping[str, str],
) -> list[dict[str, Any]]:
    qty = money(line.get("quantity"), "quantity")
    total = _gross(line, options)
    name = str(line.get("name") or line.get("sku") or "line")
    if qty == 0 and total == 0:
        return []
    out: list[dict[str, Any]] = []
    back = min(restocked, qty)
    item_total = Decimal(0)
    if back > 0:
        sku = str(line.get("sku") or "").strip()
        if not sku:
            raise RecordError(f"{order_label(order)}: restocked refund line {name!r} has no SKU")
        item_total = total if back == qty else round_money(total * back / qty, options.decimals)
        sub = max(_gross(line, options, "subtotal") * back / qty if qty else item_total, item_total)
        unit, discount = split_line_amount(
            back, round_money(sub, options.decimals), item_total, options.decimals
        )
        out.append(
            {
                "lineType": "Item",
                "lineObjectNumber": item_numbers.get(sku.upper(), sku).upper(),
                "quantity": to_json_number(back),
                "unitPrice": to_json_number(unit),
                "discountAmount": to_json_number(discount),
            }
        )
    rest = total - item_total
    if rest != 0:
        account = _need(refund_account, "refund_account", f"{name} (not restocked)", order)
        shown = f"{(qty - back).normalize():f}"
        out.append(_account_line(account, f"Refund: {name} x {shown}", rest))
    return out


def lines_of(refund: Mapping[str, Any], order: Mapping[str, Any], prior_refunds: int) -> Mapping[str, Any]:
    """The refund, or for a line-less full refund of an order never refunded before, the order's lines."""
    has_lines = any(refund.get(k) for k in ("line_items", "shipping_lines", "fee_lines"))
    if has_lines or prior_refunds:
        return refund
    try:
        whole = money(refund.get("amount"), "amount") == money(order.get("total"), "total")
    except RecordError:
        return refund
    if not whole:
        return refund
    copy = {
        k: [
            {**line, "meta_data": [{"key": REFUNDED_ITEM_META, "value": str(line.get("id"))}]}
            for line in order.get(k) or []
        ]
        for k in ("line_items", "shipping_lines", "fee_lines")
    }
    return {**refund, **copy}


def map_credit_memo(
    order: Mapping[str, Any],
    refund: Mapping[str, Any],
    options: MappingOptions,
    *,
    customer_number: str,
    refund_account: str | None,
    amount_account: str | None,
    restocked: Mapping[int, Decimal],
    invoice_number: str | None = None,
    item_numbers: Mapping[str, str] | None = None,
    prior_refunds: int = 0,
) -> dict[str, Any]:
    """The ``salesCreditMemos`` deep-insert body of ``refund`` (see the module's rules)."""
    numbers = item_numbers or {}
    source = lines_of(refund, order, prior_refunds)
    amount = money(refund.get("amount"), "refund amount")
    lines: list[dict[str, Any]] = [
        {
            "lineType": "Comment",
            "description": clip(
                f"WooCommerce refund {refund['id']} of order {order.get('number')}"
                + (f": {refund.get('reason')}" if refund.get("reason") else ""),
                DESCRIPTION_MAX,
            ),
        }
    ]
    covered = Decimal(0)
    for line in source.get("line_items") or []:
        back = restocked.get(refunded_item_id(line) or -1, Decimal(0))
        lines += _item_lines(order, line, back, options, refund_account, numbers)
        covered += money(line.get("total"), "total") + money(line.get("total_tax"), "total_tax")
    for line in source.get("shipping_lines") or []:
        total = _gross(line, options)
        covered += money(line.get("total"), "total") + money(line.get("total_tax"), "total_tax")
        if total == 0:
            continue
        title = str(line.get("method_title") or "Shipping")
        if options.shipping_account or not options.shipping_item:
            account = _need(options.shipping_account, "shipping_account", "shipping", order)
            lines.append(_account_line(account, f"Refund: {title}", total))
        else:
            lines.append(
                {
                    "lineType": "Item",
                    "lineObjectNumber": options.shipping_item,
                    "quantity": 1,
                    "unitPrice": to_json_number(total),
                    "discountAmount": 0,
                }
            )
    for line in source.get("fee_lines") or []:
        total = _gross(line, options)
        covered += money(line.get("total"), "total") + money(line.get("total_tax"), "total_tax")
        if total != 0:
            account = _need(options.fee_account, "fee_account", "a fee", order)
            lines.append(_account_line(account, f"Refund: {line.get('name') or 'Fee'}", total))
    residual = round_money(amount - covered, options.decimals)
    if residual != 0:
        account = _need(amount_account, "refund_amount_account", "an amount not tied to a line", order)
        lines.append(_account_line(account, "Refund amount not tied to a line", residual))
    body: dict[str, Any] = {
        "externalDocumentNumber": credit_memo_number(order, refund["id"], options.number_prefix),
        "customerNumber": customer_number,
    }
    date = str(refund.get("date_created") or "")[:10]
    if date:
        body["creditMemoDate"] = date
        body["postingDate"] = date
    currency = currency_code(order, options)
    if currency is not None:
        body["currencyCode"] = currency
    if invoice_number:
        body["invoiceNumber"] = invoice_number
    body["salesCreditMemoLines"] = lines
    return body


def total_difference(amount: Decimal, doc: Mapping[str, Any]) -> Decimal | None:
    """refund amount - BC's totalAmountIncludingTax, or None when BC's total is unreadable."""
    try:
        return amount - parse_money(doc.get("totalAmountIncludingTax"))
    except MoneyError:
        return None


def difference_table(body: Mapping[str, Any] | None, doc: Mapping[str, Any], amount: Decimal) -> str:
    """What differs between the refund and the credit memo, as a small table for the failure message."""
    rows = [
        f"{'':<10} {'refund':>10} {'BC':>10}",
        f"{'total':<10} {amount!s:>10} {doc.get('totalAmountIncludingTax')!s:>10}",
        f"{'net':<10} {'':>10} {doc.get('totalAmountExcludingTax')!s:>10}",
        f"{'tax':<10} {'':>10} {doc.get('totalTaxAmount')!s:>10}",
    ]
    for line in (body or {}).get("salesCreditMemoLines") or []:
        if line.get("lineType") != "Comment":
            rows.append(
                f"  {line.get('lineType')} {line.get('lineObjectNumber')} x{line.get('quantity')} "
                f"@ {line.get('unitPrice')}"
            )
    return "\n".join(rows)
