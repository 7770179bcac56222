"""``[orders] start_date`` is a floor for every read (pure): the poll never asks for orders modified before
it, and an order created before it is skipped with that reason, whatever brought it (a webhook, the poll,
``wcbc replay`` without ``--force``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from wcbc.core.time import parse, parse_strict


def floor(start_date: str | None) -> dt.datetime | None:
    """``orders.start_date`` as a UTC moment (a bare date is its midnight UTC), or None."""
    return parse_strict(str(start_date), "orders.start_date") if start_date else None


def floored(start: dt.datetime, start_date: str | None) -> dt.datetime:
    """The poll's window start, never before ``start_date``."""
    low = floor(start_date)
    return start if low is None or start >= low else low


def before_start(order: Mapping[str, Any], start_date: str | None) -> str | None:
    """The skip reason when the order was created before ``start_date``; None otherwise (or unknown)."""
    low = floor(start_date)
    if low is None:
        return None
    created = parse(order.get("date_created_gmt"))
    if created is None or created >= low:
        return None
    return (f"created {created.date().isoformat()}, before orders.start_date {start_date}: not booked "
            "(wcbc replay --force books it anyway)")
