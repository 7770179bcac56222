"""What changed in an order since it was booked, in words (:func:`diff_orders`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.mapping.orders.fingerprint import summarize
from wcbc.sync.mapping.orders.text import _text


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

