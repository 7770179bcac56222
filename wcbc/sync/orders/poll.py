"""The poll: orders modified since the bookmark, read page by page, up to the run's start.

The window starts at ``--since``, else the bookmark minus ``orders.overlap_seconds``, else
``orders.start_date``, else 24 hours back; it ends at the run's start by the store's clock when the
WooCommerce client reads it (its ``Date`` header, :class:`~wcbc.sync.orders.clock.StoreClock`), else by
this host's (+1 s: ``modified_before`` is exclusive and has whole seconds).

The bookmark is a moment of the STORE's clock: the newest ``date_modified_gmt`` of the pages whose outcomes
are committed, never past the window's end (:func:`wcbc.sync.common.bookmark.capped`), also once the whole
window was read. So a host clock ahead of the store, or one that jumps mid-run, cannot carry the bookmark
past orders the store has not shown yet (it once did: the run's start by the host's clock was the
bookmark). A page whose orders all failed still moves it: a failure is a committed outcome, retried from
the records. The write-back of the BC numbers waits until the last page was read (:mod:`.writeback`).
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
from wcbc.sync.orders.clock import StoreClock

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
         since: dt.datetime | None, started: dt.datetime, seen: set[int], budget: int | None,
         clock: StoreClock | None = None) -> None:
    """Read the window page by page; ``process`` plans and settles one page (its write-back deferred).

    ``started``: the run's start by this host's clock; ``clock`` reads the store's.
    """
    start = window_start(since, reader.bookmark(), overlap_seconds=cfg.overlap_seconds,
                         start_date=cfg.start_date, started=started)
    store_now = clock.now() if clock is not None else None
    end = (store_now or started).replace(microsecond=0)
    upper = end + dt.timedelta(seconds=1)
    page: list[dict] = []
    newest: dt.datetime | None = None  # the newest change read (the store's clock)
    committed: dt.datetime | None = None  # the newest change of the committed pages

    def done(page: list[dict]) -> None:
        nonlocal committed
        process(page)
        # Every outcome of the page is committed: the bookmark may pass it (never the window's end).
        moments = [m for m in (parse(o.get("date_modified_gmt")) for o in page) if m is not None]
        if committed is not None:
            moments.append(committed)
        if moments:
            committed = capped(moments, end)
            sink.bookmark(ORDERS_MODIFIED_AFTER, committed)

    try:
        for order in reader.orders_modified(start, upper):
            modified = parse(order.get("date_modified_gmt"))
            if clock is not None:
                clock.saw_modified(modified)
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
        # The whole window was read and every outcome committed (orders read earlier in the run too): the
        # newest change read; with none, the store's now (its Date header), else the window's start on a
        # first run (a bookmark that exists stays: the host's clock says nothing about the store's).
        moment = newest or store_now or (start if reader.bookmark() is None else None)
        if moment is not None:
            sink.bookmark(ORDERS_MODIFIED_AFTER, capped([moment], end))
    if newest is not None:
        sink.bookmark(ORDERS_LAST_SEEN, newest)
