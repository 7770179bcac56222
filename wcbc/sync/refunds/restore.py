"""Pure: undo a reduction whose read-back total differs -> the line changes that bring the BC order back.

A reduction of an open sales order (:mod:`.reduce`) is checked by reading the order back: its total must
equal the store's order total less the reduced refunds to the cent. When it does not (BC rounds tax per
line, the store per unit: a partial line refund can end one cent apart), the order must be left as it was
before this refund (README "How refunds and cancellations are booked"): :func:`plan_restore` compares the
order as read BEFORE the reduction with the order as read AFTER it and yields

* ``patch`` for a line still there whose quantity, unitPrice or discountAmount changed (the after-read's
  etag, so a concurrent edit in BC is refused rather than overwritten);
* ``add`` for a line the reduction deleted, re-created from the before-read (type, number, description,
  quantity, unitPrice, discountAmount, taxCode);
* ``delete`` for a line the reduction added (a residual ``Refund <key>`` Account line).

Comment lines are left alone (the marker is only added once the total matches). :func:`difference_rows`
is the table of what differs between the store and BC for the failure message.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wcbc.sync.mapping.money import MoneyError, parse_money, to_json_number
from wcbc.sync.refunds.reduce import LineChange

AMOUNTS = ("quantity", "unitPrice", "discountAmount")
RECREATE = (
    "lineType", "lineObjectNumber", "description", "quantity", "unitPrice", "discountAmount", "taxCode",
)


def _value(value: Any) -> Decimal | None:
    try:
        return parse_money(value if value not in (None, "") else 0)
    except MoneyError:
        return None


def _lines(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(line.get("id")): line
        for line in doc.get("salesOrderLines") or []
        if line.get("lineType") != "Comment"
    }


def _text(line: Mapping[str, Any]) -> str:
    kind, number = line.get("lineType"), line.get("lineObjectNumber") or ""
    return f"{kind} {number} {line.get('description') or ''}".strip()


def plan_restore(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[LineChange]:
    """The changes that bring the order read ``after`` a reduction back to the order read ``before`` it."""
    old, new = _lines(before), _lines(after)
    changes: list[LineChange] = []
    for line_id, line in new.items():
        if line_id not in old:
            changes.append(LineChange("delete", line, text=f"{_text(line)}: added by the reduction, deleted"))
    for line_id, was in old.items():
        now = new.get(line_id)
        if now is None:
            body = {k: was[k] for k in RECREATE if was.get(k) not in (None, "")}
            body.pop("discountAmount", None)
            for k in AMOUNTS:
                value = _value(was.get(k))
                if value is not None and (k != "discountAmount" or was.get("lineType") == "Item"):
                    body[k] = to_json_number(value)  # a discount on an Item line only, as the mapping sends
            changes.append(LineChange("add", None, body, f"{_text(was)}: re-created"))
            continue
        patch = {}
        for k in AMOUNTS:
            want = _value(was.get(k))
            if want is not None and _value(now.get(k)) != want:
                patch[k] = to_json_number(want)
        if patch:
            changes.append(LineChange("patch", now, patch, f"{_text(was)}: back to {patch}"))
    return changes


def difference_rows(
    want: Decimal, before: Mapping[str, Any], after: Mapping[str, Any], changes: list[dict[str, Any]]
) -> str:
    """The table for the failure message: the total the store asks for, BC's before and after the reduction,
    and the line changes that were made (then undone)."""
    rows = [
        f"{'':<8} {'store':>10} {'BC before':>10} {'BC after':>10}",
        f"{'total':<8} {want!s:>10} {before.get('totalAmountIncludingTax')!s:>10} "
        f"{after.get('totalAmountIncludingTax')!s:>10}",
        f"{'net':<8} {'':>10} {before.get('totalAmountExcludingTax')!s:>10} "
        f"{after.get('totalAmountExcludingTax')!s:>10}",
        f"{'tax':<8} {'':>10} {before.get('totalTaxAmount')!s:>10} {after.get('totalTaxAmount')!s:>10}",
    ]
    rows += [f"  {c.get('action')} {c.get('line')}" for c in changes]
    return "\n".join(rows)


KEPT = ("id", "sequence", "itemId", *RECREATE)
TOTALS = ("totalAmountIncludingTax", "totalAmountExcludingTax", "totalTaxAmount")


def snapshot(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a restore needs of the order read before a reduction (journalled with the reduction, so that a
    run killed between its line changes and its restore is undone to this, not to its part-reduced order)."""
    lines = [
        {k: line.get(k) for k in KEPT if line.get(k) is not None}
        for line in doc.get("salesOrderLines") or []
        if line.get("lineType") != "Comment"
    ]
    return {"id": doc.get("id"), "number": doc.get("number"), **{k: doc.get(k) for k in TOTALS},
            "salesOrderLines": lines}


def pending_before(journal: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The snapshot of the first reduction attempt not yet undone (``restored``) in the record's journal:
    the order as it was before this refund touched it, or None (none, or every attempt was undone)."""
    found: dict[str, Any] | None = None
    for row in journal:
        detail = row.get("detail")
        if not isinstance(detail, Mapping):
            continue
        if row.get("step") == "restored" or row.get("step") == "result" and detail.get("status") == "done":
            found = None
        elif row.get("step") == "sent" and isinstance(detail.get("before"), Mapping) and found is None:
            found = dict(detail["before"])
    return found
