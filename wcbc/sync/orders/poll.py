"""The poll: orders modified since the bookmark, read page by page, up to the run's start.

The window starts at ``--since``, else the bookmark minus ``orders.overlap_seconds``, else
``orders.start_date``, else 24 hours back; it ends at the run's start (+1 s: ``modified_before`` is exclusive
and has whole seconds). The bookmark moves past a page only once the page's outcomes are committed, and
never past the run's start (:func:`wcbc.sync.common.bookmark.capped`); once the whole window was read it is
the run's start. The write-back of the BC numbers waits until the last page was read (:mod:`.writeback`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from wcbc.core.time import parse, parse_strict
from wcbc.sync.common.bookmark import capped
from wcbc.sync.common.cursors import ORDERS_LAST_SEEN, ORDERS_MODIFIED_AFTER
from wcbc.sync.mapping.orders.floor import floored

log = logging.getLogger("wcbc.orders")


def window_start(since: dt.datetime | None, bookmark: str | None, *, overlap_seconds: int,
                 start_date: str | None, started: dt.datetime) -> dt.datetime:
    """Where the poll starts reading (pure); never before ``orders.start_date``."""
    if since is not None:
        return floored(since, start_date)
    if bookmark:
        return floored(parse_strict(bookmark, "bookmark") - dt.timedelta(seconds=overlap_seconds), start_date)
    if start_date:
        return parse_strict(str(start_date), "orders.start_date")
    log.info("no bookmark and no orders.start_date: polling the last 24 hours")
    return started - dt.timedelta(days=1)


def poll(*, reader: Any, sink: Any, process: Callable[[list[dict]], None], cfg: Any,
         since: dt.datetime | None, started: dt.datetime, seen: set[int], budget: int | None) -> None:
    """Read the window page by page; ``process`` plans and settles one page (its write-back deferred)."""
    start = window_start(since, reader.bookmark(), overlap_seconds=cfg.overlap_seconds,
                         start_date=cfg.start_date, started=started)
    page: list[dict] = []
    newest: dt.datetime | None = None
    upper = started + dt.timedelta(seconds=1)

    def done(page: list[dict]) -> None:
        process(page)
        # Every outcome of the page is committed: the bookmark may pass it (never the run's start).
        moments = [parse(o.get("date_modified_gmt")) or started for o in page]
        sink.bookmark(ORDERS_MODIFIED_AFTER, capped(moments, started))

    try:
        for order in reader.orders_modified(start, upper):
            modified = parse(order.get("date_modified_gmt"))
            if modified and (newest is None or modified > newest):
                newest = modified
            if order["id"] in seen:
                continue
            seen.add(order["id"])
            page.append(order)
            if budget is not None and len(page) >= budget:
                break
            if len(page) >= cfg.batch_size:
                done(page)
                budget = None if budget is None else budget - len(page)
                page = []
        if page:
            done(page)
    finally:
        sink.flush()
    if budget is None:
        # The whole window up to the run's start was read and every outcome committed.
        sink.bookmark(ORDERS_MODIFIED_AFTER, started)
    if newest is not None:
        sink.bookmark(ORDERS_LAST_SEEN, newest)
