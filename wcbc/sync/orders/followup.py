"""sync-orders, pure: what the order's link keeps once BC answered a booking. Split from :mod:`.plan`, which
re-exports it. (The totals' check after booking is :mod:`wcbc.sync.mapping.orders.agreement`, performed by
:mod:`.verify`: a rounding line only up to ``orders.rounding_cap``, issue 13.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.sync.mapping import orders as mapping


def booked_link_data(order: Mapping[str, Any], entity: str | None, **extra: Any) -> dict[str, Any]:
    """What the order's link keeps: the entity and the summary later runs compare the order with."""
    return {"entity": entity, "summary": mapping.summarize(order), **extra}
