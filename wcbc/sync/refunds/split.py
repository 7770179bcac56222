"""Pure: a refund of an open sales order that reaches shipped quantity, split in two parts.

With ``orders.target = "sales_order"`` (README "How refunds and cancellations are booked"):

* the part on quantity the BC order line still has above what is shipped or invoiced (max of
  ``shippedQuantity`` and ``invoicedQuantity``) REDUCES the order (:mod:`.reduce`);
* the rest, on shipped quantity (invoiced, or shipped and not yet invoiced: BC invoices it when the order
  is posted, so the credit memo credits that invoice) becomes ONE credit memo keyed ``<key>-S``, with
  whatever the refund's amount holds beyond its lines.

An item line's refunded amounts are divided by quantity (the reduced part rounded to the cent, the credit
part the rest); a shipping or fee line goes whole to the reduction when its BC line is not shipped, whole
to the credit memo otherwise. The reduced quantities are written into the order's marker
(``WooCommerce refund <key> part <amount>: <store line id>x<qty> ...``; the order's identity proof
subtracts that amount), so the parts are rebuilt from BC alone
(:func:`take`, :func:`rest`) after a lost state DB. A refund whose split does not fit (the marker over
BC's 100 characters, the ``-S`` key over 35) is not split: one credit memo for the whole refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wcbc.sync.mapping.money import round_money
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.mapping.orders.text import DESCRIPTION_MAX, EXTERNAL_DOCUMENT_NUMBER_MAX, _utf16_len
from wcbc.sync.refunds import memo, reduce

KINDS = ("line_items", "shipping_lines", "fee_lines")
MONEY = ("subtotal", "subtotal_tax", "total", "total_tax")
SUFFIX = "-S"


def credit_key(key: str) -> str | None:
    """The split refund's credit memo key, or None when it would pass BC's 35 characters."""
    value = f"{key}{SUFFIX}".upper()
    return value if _utf16_len(value) <= EXTERNAL_DOCUMENT_NUMBER_MAX else None


def _qty(line: Mapping[str, Any]) -> Decimal:
    return memo.money(line.get("quantity"), "quantity")


def _part(refund: Mapping[str, Any], parts: Mapping[int, Decimal], *, reduced: bool) -> dict[str, Any]:
    """The reduced part of ``refund`` (``reduced``) or the rest, as a refund of its own (positive)."""
    out: dict[str, Any] = {k: v for k, v in refund.items() if k not in KINDS}
    gross = Decimal(0)
    for kind in KINDS:
        lines = []
        for line in refund.get(kind) or []:
            original = memo.refunded_item_id(line)
            qty = _qty(line) if kind == "line_items" else Decimal(1)
            share = min(parts.get(original, Decimal(0)) if original is not None else Decimal(0), qty)
            mine = share if reduced else qty - share
            if mine == 0:
                continue
            new = dict(line)
            if kind == "line_items":
                new["quantity"] = f"{mine.normalize():f}"
            for field in MONEY:
                if field not in line:
                    continue
                whole = memo.money(line.get(field), field)
                cut = round_money(whole * share / qty, 2) if qty else Decimal(0)
                new[field] = str(cut if reduced else whole - cut)
            if reduced:
                gross += memo.money(new.get("total"), "total") + memo.money(new.get("total_tax"), "total_tax")
            lines.append(new)
        out[kind] = lines
    if reduced:
        out["amount"] = str(gross)
    else:
        whole = memo.money(refund.get("amount"), "refund amount")
        out["amount"] = str(whole - Decimal(take(refund, parts)["amount"]))
    return out


def take(refund: Mapping[str, Any], parts: Mapping[int, Decimal]) -> dict[str, Any]:
    """The reduced part: the quantities ``parts`` names (store line id -> quantity), amounts pro rata."""
    return _part(refund, parts, reduced=True)


def rest(refund: Mapping[str, Any], parts: Mapping[int, Decimal]) -> dict[str, Any]:
    """What the credit memo books: the refund less :func:`take`, with its amount beyond the lines."""
    return _part(refund, parts, reduced=False)


def plan_split(
    order: Mapping[str, Any],
    doc: Mapping[str, Any],
    before: list[Mapping[str, Any]],
    refund: Mapping[str, Any],
    key: str,
    options: MappingOptions,
    item_numbers: Mapping[str, str] | None = None,
) -> dict[int, Decimal] | None:
    """The quantities of ``refund`` (expanded) that reduce the BC order ``doc`` (store line id -> qty),
    given the refunds ``before`` it already reduced; None when the refund is not split (all of it
    reduces, none of it does, the order is not open for changes, or the split does not fit)."""
    if str(doc.get("status")) not in ("Draft", "None", ""):
        return None
    numbers = {k.upper(): v for k, v in (item_numbers or {}).items()}
    try:
        targets = {t.line_id: t for t in reduce._targets(order, before, options, numbers)}
    except reduce.NotReducible:
        return None
    lines: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for line in doc.get("salesOrderLines") or []:
        if line.get("lineType") != "Comment":
            lines.setdefault(reduce._line_key(line), []).append(line)
    parts: dict[int, Decimal] = {}
    whole = True
    for kind in KINDS:
        for line in refund.get(kind) or []:
            original = memo.refunded_item_id(line)
            target = targets.get(original) if original is not None else None
            found = lines.get(target.key, []) if target is not None else []
            if target is None or len(found) != 1:
                return None  # no BC line or two for it: the whole refund is a credit memo
            bc = found[0]
            floor = max(reduce._dec(bc.get("shippedQuantity")), reduce._dec(bc.get("invoicedQuantity")))
            qty = _qty(line) if kind == "line_items" else Decimal(1)
            if kind == "line_items":
                room = max(min(qty, target.quantity - floor), Decimal(0))
            else:
                room = qty if floor == 0 else Decimal(0)
            if room:
                parts[int(original)] = parts.get(int(original), Decimal(0)) + room  # type: ignore[arg-type]
            whole = whole and room == qty
    if whole or not parts or credit_key(key) is None:
        return None
    amount = Decimal(take(refund, parts)["amount"])
    if _utf16_len(reduce.marker_text(key, parts, amount)) > DESCRIPTION_MAX:
        return None
    return parts


def credit_body(
    order: Mapping[str, Any],
    refund: Mapping[str, Any],
    parts: Mapping[int, Decimal],
    ckey: str,
    options: MappingOptions,
    restocked: Mapping[int, Decimal],
    **mapping: Any,
) -> tuple[dict[str, Any], Decimal]:
    """The ``<key>-S`` credit memo's body (``memo.map_credit_memo`` of :func:`rest`) and its amount. What
    the store restocked goes to its Item lines up to their quantity."""
    left = rest(refund, parts)
    qty = {memo.refunded_item_id(ln): _qty(ln) for ln in left["line_items"]}
    back = {k: min(v, qty.get(k) or Decimal(0)) for k, v in restocked.items()}
    body = memo.map_credit_memo(order, left, options, restocked=back, **mapping)
    body["externalDocumentNumber"] = ckey
    return body, memo.money(left.get("amount"), "refund amount")
