"""sync-fulfilment (shipments), step 2 of 3: pure decisions and writes, each with its idempotency key.

A shipment is written back to its web order exactly once. Its key is the order meta
``_wcbc_shipment_<number>`` (:func:`meta_key`): when the order carries it, the shipment is done, whatever
the state DB says. The writes, in the order a buyer should see them (woocommerce.md §8.5: tracking before
``completed``, whose e-mail shows it):

1. ``add_tracking`` (only with ``fulfilment.tracking_extension`` and a tracking number): the Shipment
   Tracking extension's route; looked up by tracking number before it is created;
2. ``add_note``: a note to the buyer naming what shipped (and the carrier and number); looked up by the
   shipment number in the order's customer notes before it is created (its e-mail cannot be recalled);
3. ``update_order``: the status (fully shipped: ``fulfilment.status``; partly: ``partial_status`` or
   none) together with the meta key, in ONE order update: the key is set only with the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wcbc.sync.common.plan import Write
from wcbc.sync.mapping.orders.meta import meta_value

META_PREFIX = "_wcbc_shipment_"
FINAL_STATUSES = frozenset({"completed", "cancelled", "refunded", "trash", "failed"})


def meta_key(shipment_number: str) -> str:
    return f"{META_PREFIX}{shipment_number}"


def record_id(shipment_number: str) -> str:
    return f"shipment:{shipment_number}"


@dataclass(frozen=True)
class Policy:
    status: str = "completed"
    partial_status: str | None = None
    customer_note: bool = True
    tracking_extension: bool = False
    max_attempts: int = 3

    @classmethod
    def from_config(cls, cfg: Any) -> Policy:
        f = cfg.fulfilment
        return cls(status=f.status, partial_status=f.partial_status, customer_note=f.customer_note,
                   tracking_extension=f.tracking_extension, max_attempts=f.max_attempts)


@dataclass(frozen=True)
class Tracking:
    number: str = ""
    agent: str = ""


@dataclass
class ShipmentPlan:
    """One shipment: its decision (``ship``, ``unchanged``, ``skipped``) and its writes."""

    shipment: dict[str, Any]
    order_id: int
    decision: str
    reason: str = ""
    full: bool = False
    writes: list[Write] = field(default_factory=list)

    @property
    def number(self) -> str:
        return str(self.shipment.get("number"))

    @property
    def rid(self) -> str:
        return record_id(self.number)

    def write(self, action: str) -> Write | None:
        return next((w for w in self.writes if w.action == action), None)


def _qty(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def shipped_lines(shipment: Mapping[str, Any]) -> list[str]:
    """``2 x T-Shirt (TSHIRT-001)`` per Item line with a quantity."""
    out = []
    for line in shipment.get("salesShipmentLines") or []:
        quantity = _qty(line.get("quantity"))
        if line.get("lineType") != "Item" or quantity <= 0:
            continue
        out.append(f"{quantity.normalize():f} x {line.get('description') or line.get('lineObjectNumber')}"
                   f" ({line.get('lineObjectNumber')})")
    return out


def note_text(shipment: Mapping[str, Any], tracking: Tracking | None, *, full: bool) -> str:
    what = "; ".join(shipped_lines(shipment)) or "your order"
    head = "Your order has shipped" if full else "Part of your order has shipped"
    text = f"{head}: {what}."
    if tracking and tracking.number:
        text += f" Tracking: {tracking.agent + ' ' if tracking.agent else ''}{tracking.number}."
    return f"{text} (shipment {shipment.get('number')})"


def fully_shipped(order_lines: list[Mapping[str, Any]] | None) -> bool:
    """The BC order has nothing left to ship. ``None``: the order is gone (BC deletes an order once fully
    shipped and invoiced, §10.3), which counts as fully shipped."""
    if order_lines is None:
        return True
    return all(_qty(ln.get("shippedQuantity")) >= _qty(ln.get("quantity")) for ln in order_lines
               if ln.get("lineType") in ("Item", "Account") and _qty(ln.get("quantity")) > 0)


def plan_shipment(shipment: dict[str, Any], order: Mapping[str, Any] | None, *, order_id: int, full: bool,
                  tracking: Tracking | None, policy: Policy) -> ShipmentPlan:
    """The writes of one shipment (pure). ``full``: the BC order has nothing left to ship and this is its
    newest shipment."""
    number = str(shipment.get("number"))
    if order is None:
        return ShipmentPlan(shipment, order_id, "skipped",
                            reason=f"BC order {shipment.get('orderNumber')} is no web order of wcbc's")
    if meta_value(order, meta_key(number)):
        return ShipmentPlan(shipment, order_id, "unchanged", reason="written back before (order meta)",
                            full=full)
    rid = record_id(number)
    plan = ShipmentPlan(shipment, order_id, "ship", full=full)
    if policy.tracking_extension and tracking and tracking.number:
        plan.writes.append(Write(rid, "add_tracking", "woocommerce", tracking.number, body={
            "tracking_number": tracking.number, "custom_tracking_provider": tracking.agent or "Carrier",
            "date_shipped": str(shipment.get("postingDate") or "")}, note=f"order {order_id}"))
    if policy.customer_note:
        plan.writes.append(Write(rid, "add_note", "woocommerce", number, body={
            "note": note_text(shipment, tracking, full=full), "customer_note": True},
            note=f"order {order_id}"))
    marker = {"key": meta_key(number), "value": str(shipment.get("id") or number)}
    update: dict[str, Any] = {"meta_data": [marker]}
    status = policy.status if full else policy.partial_status
    current = str(order.get("status") or "")
    if status and status != current and current not in FINAL_STATUSES:
        update["status"] = status
    plan.writes.append(Write(rid, "update_order", "woocommerce", meta_key(number), body=update,
                             note=f"order {order_id}"))
    return plan
