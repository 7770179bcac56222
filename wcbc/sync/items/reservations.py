"""Stock that must not be sold again in the store: read once per run (adapters only), used by the planner.

Stock = BC inventory - quantity still to ship on open BC sales orders - quantity on web orders not yet
booked in BC (see :class:`Reservations` for which order statuses hold stock), floored at 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from wcbc.core.errors import SYSTEMIC, RecordError, RemoteError
from wcbc.core.time import parse
from wcbc.sync.common import cursors
from wcbc.sync.items import stock
from wcbc.sync.items.catalog import SkuMap, sku_key
from wcbc.sync.refunds.memo import without_restocked

# WooCommerce order statuses whose lines WooCommerce has already taken out of its own stock
# (wc_maybe_reduce_stock_levels runs on payment and on the change to processing, completed or on-hold).
RESERVING_STATUSES = ("processing", "on-hold", "completed")


class _Stocked(Protocol):
    number: str
    inventory: Any


@dataclass
class Reservations:
    """Quantities that must not be sold again in the store, per BC item number (upper-cased).

    * ``open``: still to ship on open BC sales orders (and unposted invoices when orders.target is
      ``sales_invoice``): BC's ``inventory`` drops only when a shipment or invoice is posted.
    * ``unbooked``: on WooCommerce orders not in BC yet. Statuses that hold stock are those after which
      WooCommerce has reduced its own stock: ``processing``, ``on-hold`` and ``completed``. ``pending``
      (unpaid), ``failed``, ``cancelled`` and ``refunded`` hold nothing. An order counts until it has an
      ``order`` link (booked). Read per run: orders in a booked status modified since the order sync's
      bookmark (minus its overlap), every order in a reserving status the order sync does not book (for
      example ``on-hold``: it may stay for days), and the orders whose booking failed or is on hold.
    """

    open: dict[str, Decimal] = field(default_factory=dict)
    unbooked: dict[str, Decimal] = field(default_factory=dict)
    orders_read: int = 0
    # Item number -> why its reserved quantity cannot be known (a hostile line): its stock fails alone.
    bad: dict[str, str] = field(default_factory=dict)

    def stock(self, item: _Stocked) -> int:
        """The item's sellable stock; ``ValueError`` with the cause when a value it needs is unreadable."""
        key = sku_key(item.number)
        if key in self.bad:
            raise ValueError(f"reserved quantity unknown: {self.bad[key]}")
        return stock.sellable_stock(item.inventory, self.open.get(key, 0), self.unbooked.get(key, 0))

    @classmethod
    def read(cls, woo: Any, bc: Any, state: Any, config: Any, skus: SkuMap, *,
             started: datetime) -> Reservations:
        result = cls()
        if not config.items.hold_unbooked:
            return result
        result.open = read_open_quantities(bc, config, bad=result.bad)
        # A refund that put stock back in the store releases it here too.
        orders = [_released(o) for o in _unbooked_orders(woo, state, config, started)]
        result.orders_read = len(orders)
        booked = {str(order.get("id")) for order in orders if state.link_get("order", str(order.get("id")))}
        bad_skus: dict[str, str] = {}
        for sku, quantity in stock.unbooked_quantities(orders, booked, bad=bad_skus).items():
            number = skus.number_for(sku)
            result.unbooked[number] = result.unbooked.get(number, Decimal(0)) + quantity
        for sku, cause in bad_skus.items():
            result.bad.setdefault(skus.number_for(sku), cause)
        return result


def read_open_quantities(bc: Any, config: Any, *, bad: dict[str, str] | None = None) -> dict[str, Decimal]:
    """One read of the open sales orders with their lines (only the fields needed), BC's largest pages."""
    line_fields = "lineType,lineObjectNumber,quantity,shippedQuantity"
    documents: list[dict] = list(bc.iter("salesOrders", {
        "$select": "id,number",
        "$expand": f"salesOrderLines($select={line_fields})",
    }))
    if config.orders.target == "sales_invoice":
        documents += list(bc.iter("salesInvoices", {
            "$filter": "status eq 'Draft'",
            "$select": "id,number,status",
            "$expand": "salesInvoiceLines($select=lineType,lineObjectNumber,quantity)",
        }))
    return stock.open_quantities(documents, bad=bad)


def _unbooked_orders(woo: Any, state: Any, config: Any, started: datetime) -> Iterator[dict]:
    booked_statuses = [s for s in RESERVING_STATUSES if s in config.orders.statuses]
    # Reserving statuses the order sync does not book wait in WooCommerce for as long as they stay so.
    waiting = [s for s in RESERVING_STATUSES if s not in config.orders.statuses and s != "completed"]
    seen: set[int] = set()
    if booked_statuses:
        cursor = parse(state.cursor_get(cursors.ORDERS_MODIFIED_AFTER))
        if cursor is not None:
            since = cursor - timedelta(seconds=int(config.orders.overlap_seconds))
        elif config.orders.start_date:
            since = parse(str(config.orders.start_date)) or started - timedelta(days=1)
        else:
            since = started - timedelta(days=1)
        for order in woo.iter_orders(modified_after=since, status=",".join(booked_statuses)):
            if order["id"] not in seen:
                seen.add(order["id"])
                yield order
    if waiting:
        for order in woo.iter_orders(status=",".join(waiting)):
            if order["id"] not in seen:
                seen.add(order["id"])
                yield order
    # Orders whose booking failed or is on hold (usually none): read one by one.
    for status in ("failed", "on_hold", "pending"):
        for record in state.records(status=status, kind="order"):
            order_id = str(record["id"]).partition(":")[2]
            if not order_id.isdigit() or int(order_id) in seen:
                continue
            try:
                order = woo.get_order(int(order_id))
            except SYSTEMIC:
                raise
            except RemoteError:
                continue
            seen.add(order["id"])
            if order.get("status") in RESERVING_STATUSES:
                yield order


def _released(order: Any) -> Any:
    """The order less what refunds restocked; a hostile order as it is (its items fail alone below)."""
    try:
        return without_restocked(order)
    except (RecordError, TypeError, ValueError, KeyError, AttributeError):
        return order
