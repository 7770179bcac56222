"""Refunds, step 3 (apply), the undo of a reduction whose read-back total differs from the store's.

The accountant's standard: a booked document equals the store's order by construction, or the record fails
alone and BC is left as it was. :func:`undo_reduction` sets the sales order's lines back to what they were
before this refund (:func:`restore.plan_restore`: PATCH with If-Match, deleted lines re-created, added lines
deleted), reads the order back, checks that its total is the one it had before, and returns the
:class:`RecordError` the refund fails with: the table of what differs and whether BC was restored, or, when
the undo itself failed, exactly what BC holds now and what is left to undo by hand.

"Before" is the order as the first attempt of this refund read it (its snapshot is journalled with the
reduction, :func:`before_of`), so a run killed between the line changes and the undo is undone to the
order as it was, not to its part-reduced state; only when the state DB is lost as well is it this run's
read, and the message then says whether that read was the store's order less its earlier refunds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wcbc.core.errors import SYSTEMIC, RecordError, RemoteError
from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.refunds import reduce, restore
from wcbc.sync.refunds.memo import total_difference
from wcbc.sync.refunds.plan import RefundPlan

if TYPE_CHECKING:
    from wcbc.sync.refunds.apply import RefundApplier

CENT = Decimal("0.005")
HINT = (
    "BC rounds tax per line, the store per unit, so this refund cannot reduce the open order to the cent; "
    "once the order is shipped or invoiced in BC, replay the record (the refund becomes a credit memo), or "
    "change the order in BC by hand and skip the record"
)


def before_of(journal: list[Mapping[str, Any]], doc: dict[str, Any]) -> dict[str, Any]:
    """The order before this refund: the journalled snapshot of an attempt not undone, else ``doc``."""
    return restore.pending_before(journal) or doc


def _hinted(message: str, hint: str) -> RecordError:
    """The record's failure message carries its hint (the message is what the record and replay show)."""
    return RecordError(f"{message}\nhint: {hint}", hint=hint)


def undo_reduction(
    applier: RefundApplier, plan: RefundPlan, before: Mapping[str, Any], after: Mapping[str, Any],
    want: Decimal, changes: list[dict[str, Any]],
) -> RecordError:
    """Undo the reduction (``before`` -> ``after``); the error the refund fails with. Systemic errors during
    the undo are journalled with the state BC is left in, then propagate (the next run undoes again)."""
    order_id, number = str(before["id"]), before.get("number")
    base = f"salesOrders({order_id})/salesOrderLines"
    head = (
        f"sales order {number} totals {after.get('totalAmountIncludingTax')} after the reduction, the "
        f"store's order total less its refunds is {want} (nothing plugged"
    )
    steps = restore.plan_restore(before, after)
    done: list[str] = []
    applier.ledger.journal(plan.rid, "sent", {"restore": number, "steps": [s.preview() for s in steps]})
    try:
        for step in steps:
            applier.line_write(base, step)
            done.append(step.text)
        now = applier.reader_sales_order(order_id)
        back = total_difference(parse_money(before.get("totalAmountIncludingTax")), now)
    except (RecordError, RemoteError, MoneyError, *SYSTEMIC) as exc:
        left = [s.text for s in steps][len(done):]
        state = (
            f"{head}; BC NOT restored: undoing the reduction failed ({exc}); the order keeps the reduction "
            f"{changes}, undone so far {done}, still to undo by hand {left})"
        )
        applier.ledger.journal(plan.rid, "failed", {"restore": number, "message": state[:2000]})
        if isinstance(exc, SYSTEMIC):
            raise
        return _hinted(state, f"set the lines of sales order {number} back by hand, then replay the record")
    table = restore.difference_rows(want, before, after, changes)
    total = now.get("totalAmountIncludingTax")
    if back is None or abs(back) >= CENT:
        return _hinted(
            f"{head}; BC NOT restored: the lines were set back but the order totals {total}, "
            f"{before.get('totalAmountIncludingTax')} before the reduction):\n{table}",
            f"check sales order {number} in BC by hand, then replay the record",
        )
    applier.ledger.journal(plan.rid, "restored", {"restore": number, "total": total})
    earlier = reduce.expected_total(plan.order, plan.reduced[:-1])
    off = total_difference(earlier, now)
    note = ""
    if off is None or abs(off) >= CENT:
        note = (
            f"; note: BC's total before this refund, {total}, is not the store's order less its earlier "
            f"refunds, {earlier}"
        )
    return _hinted(
        f"{head}; BC restored: its lines are back to what they were before this refund, total {total}{note})"
        f":\n{table}",
        HINT,
    )
