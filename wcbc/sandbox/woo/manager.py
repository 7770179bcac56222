"""What a shop manager does by hand in wp-admin, as Python calls (mixed into WooStore) for tests and demos.

Each goes through the same rules as REST and fires what the real store fires: a refund fires one
order.updated (plus product.updated per restocked managed product), a cancel restocks and fires
order.updated, marking paid runs ``payment_complete`` (stock reduced once, order.updated).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from wcbc.sandbox.woo.model import ORDER_STATUSES, LineItem, Order, RestError
from wcbc.sandbox.woo.money import round_money
from wcbc.sandbox.woo.render import render_order, render_refund


class ManagerMixin:
    """Python admin API for refunds, cancellations, payments and the Shipment Tracking switch."""

    def _admin_order(self, order_id: int) -> Order:
        order = self.order_index.get(int(order_id))
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    def _admin_refund_lines(self, order: Order, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """wp-admin's refund form: name a line by ``id`` or ``sku`` and a ``quantity``; without
        ``refund_total`` the form's own pre-fill is used (the line's total and taxes per unit x quantity)."""
        out = []
        for raw in lines:
            item: Any = None
            if raw.get("id") is not None:
                wanted = int(raw["id"])
                items = [*order.line_items, *order.shipping_lines, *order.fee_lines]
                item = next((i for i in items if i.id == wanted), None)
            elif raw.get("sku") is not None:
                sku = str(raw["sku"]).lower()
                item = next((li for li in order.line_items if (li.sku or "").lower() == sku), None)
            if item is None:
                raise KeyError(f"order {order.id} has no line {raw}")
            qty = int(raw.get("quantity") or 0)
            entry: dict[str, Any] = {"id": item.id, "quantity": qty}
            if "refund_total" in raw:
                entry["refund_total"] = str(raw["refund_total"])
                entry["refund_tax"] = list(raw.get("refund_tax") or [])
            else:
                share = Decimal(qty) / Decimal(item.quantity) if isinstance(item, LineItem) and qty else 1
                dp = self.decimals
                entry["refund_total"] = str(round_money(item.total * share, dp))
                taxes = (
                    {rid: t[0] for rid, t in item.taxes.items()}
                    if isinstance(item, LineItem)
                    else dict(item.taxes)
                )
                entry["refund_tax"] = [
                    {"id": rid, "refund_total": str(round_money(v * share, dp))} for rid, v in taxes.items()
                ]
            out.append(entry)
        return out

    def refund_order(
        self,
        order_id: int,
        amount: str | Decimal | None = None,
        reason: str = "",
        line_items: list[dict[str, Any]] | None = None,
        *,
        restock: bool = True,
        refund_payment: bool = False,
    ) -> dict[str, Any]:
        """A refund made in wp-admin ("Refund manually" unless ``refund_payment``; the "Restock refunded
        items" box is ``restock``). ``amount`` None = the sum of the lines. Returns the refund (v3 shape)."""
        with self.lock:
            order = self._admin_order(order_id)
            data: dict[str, Any] = {
                "reason": reason,
                "line_items": self._admin_refund_lines(order, line_items or []),
                "api_refund": refund_payment,
                "api_restock": restock,
            }
            if amount is not None:
                data["amount"] = str(amount)
            refund = self.create_refund(order, data)
            self.emit("order", "updated", order.id)
            return render_refund(refund, self)

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        """Status set to cancelled in wp-admin: reduced stock goes back (product.updated), order.updated."""
        return self.set_order_status(order_id, "cancelled")

    def set_order_status(self, order_id: int, status: str) -> dict[str, Any]:
        with self.lock:
            order = self._admin_order(order_id)
            if status.removeprefix("wc-") not in ORDER_STATUSES:
                raise RestError(400, "woocommerce_rest_invalid_status", f"Invalid status {status!r}.")
            self.set_status(order, status.removeprefix("wc-"))
            order.date_modified = self.now()
            self.emit("order", "updated", order.id)
            return render_order(order, self)

    def mark_paid(
        self,
        order_id: int,
        transaction_id: str = "",
        payment_method: str | None = None,
        payment_method_title: str | None = None,
        date_paid: str | None = None,
    ) -> dict[str, Any]:
        """The gateway confirms payment (``payment_complete``): transaction id, ``date_paid`` (now, or the
        given ISO time), status processing from pending/on-hold/failed/cancelled, stock reduced once."""
        with self.lock:
            order = self._admin_order(order_id)
            if payment_method is not None:
                order.payment_method = payment_method
            if payment_method_title is not None:
                order.payment_method_title = payment_method_title
            if transaction_id:
                order.transaction_id = transaction_id
            if date_paid:
                when = dt.datetime.fromisoformat(date_paid)
                order.date_paid = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).replace(
                    microsecond=0
                )
            self.payment_complete(order)
            order.date_modified = self.now()
            self.emit("order", "updated", order.id)
            return render_order(order, self)

    def set_extensions(self, shipment_tracking: bool | None = None) -> dict[str, Any]:
        """Switch the EXTENSION routes on or off (Shipment Tracking)."""
        with self.lock:
            if shipment_tracking is not None:
                self.shipment_tracking = bool(shipment_tracking)
            return {"shipment_tracking": self.shipment_tracking}

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [render_refund(r, self) for r in self._admin_order(order_id).refunds]

    def sent_emails(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.emails]

    def remaining_refundable(self, order_id: int) -> str:
        with self.lock:
            return str(self.remaining_refund_amount(self._admin_order(order_id)))
