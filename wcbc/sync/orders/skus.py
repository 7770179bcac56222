"""sync-orders, pure: the BC item numbers a page's lines need (:func:`wanted_skus`, asked of BC once per
run) and the check that each is a BC item that is not blocked (:func:`check_items`). Re-exported by
:mod:`.plan`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.orders.text import ITEM_NUMBER_MAX


def wanted_skus(orders: list[dict[str, Any]], skus: SkuMap, known_items: Mapping[str, Any]) -> set[str]:
    """The BC item numbers of the orders' lines not checked yet in this run. A number longer than BC's
    (Code[20]) is not asked (BC would refuse the whole filter): the mapping fails its order alone."""
    numbers: set[str] = set()
    for order in orders:
        try:
            lines = mapping.order_lines(order, "line_items")
        except RecordError:  # decide() fails this order with the cause
            lines = []
        numbers |= {skus.number_for(str(line.get("sku") or "")) for line in lines}
    numbers = {n for n in numbers if 0 < mapping._utf16_len(n) <= ITEM_NUMBER_MAX}
    return numbers - set(known_items)


def check_items(order: Mapping[str, Any], items: Mapping[str, bool | None], skus: SkuMap) -> None:
    """Every line's SKU is a BC item that is not blocked; else :class:`RecordError` naming the line."""
    for line in mapping.order_lines(order, "line_items"):
        sku = str(line.get("sku") or "").strip()
        if not sku:
            continue  # the mapping names a line without SKU
        number = skus.number_for(sku)
        state = items.get(number, False)
        where = f"order {order.get('number')}: line {line.get('id')} ({line.get('name')})"
        mapped = "" if number == sku.upper() else f" (mapped to {number} by items.mapping_file)"
        if mapping._utf16_len(number) > ITEM_NUMBER_MAX:  # never asked of BC: it cannot be an item number
            raise RecordError(
                f"{where}: SKU {sku!r}{mapped} is not a BC item number (longer than BC's {ITEM_NUMBER_MAX} "
                "characters)",
                hint="map the SKU to its BC item number in the items mapping file, then `wcbc replay`",
            )
        if state is None:
            raise RecordError(
                f"{where}: SKU {sku!r}{mapped} is not a BC item number",
                hint="create the item in BC (or fix the SKU or the mapping), then `wcbc replay`",
            )
        if state is True:
            raise RecordError(f"{where}: BC item {number!r} is blocked")
