"""The store's clock as this host sees it: the poll's upper bound, and the skew warning.

The poll's bookmark is a moment of the STORE's clock (the newest ``date_modified_gmt`` of the committed
pages, :mod:`.poll`), so a host clock that is wrong or jumps cannot move it past orders the store has not
shown yet. This host's clock is still used for the window's upper bound when the store's is unknown, and
an operator must know when the two disagree: the overlap (``orders.overlap_seconds``) only covers a skew
smaller than itself. :class:`StoreClock` collects readings of the store's clock:

* the store's ``Date`` response header, when the WooCommerce client exposes it (``woo.store_now()``: the
  store's current time estimated from its last answer, or None);
* every order WooCommerce answers a write-back with (its ``date_modified_gmt`` is the store's now);
* every order read: the store's now is at least its ``date_modified_gmt`` (a host clock behind the store).

:meth:`StoreClock.warning` says so when the skew exceeds half of ``orders.overlap_seconds``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
from collections.abc import Callable
from typing import Any

from wcbc.core.time import parse, utcnow


class StoreClock:
    def __init__(self, woo: Any, local: Callable[[], dt.datetime] | None = None) -> None:
        self.local = local or utcnow
        header = getattr(woo, "store_now", None)
        self._header: Callable[[], dt.datetime | None] | None = header if callable(header) else None
        self._samples: list[float] = []  # store minus local, in seconds, from exact readings
        self._behind: float | None = None  # the store is at least this far ahead (from dates read)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime | None:
        """The store's current time from its ``Date`` header, when the client exposes it."""
        if self._header is None:
            return None
        moment = self._header()  # None without a Date header: the poll falls back to this host's clock
        if moment is not None:
            self.observe(moment)
        return moment

    def observe(self, store_moment: dt.datetime, local_moment: dt.datetime | None = None) -> None:
        """One reading of the store's clock, taken at ``local_moment`` (default: now)."""
        local = local_moment or self.local()
        with self._lock:
            self._samples.append((store_moment - local).total_seconds())

    def observe_answer(self, order: Any) -> None:
        """An order WooCommerce just answered a write with: its ``date_modified_gmt`` is the store's now."""
        moment = parse(order.get("date_modified_gmt")) if isinstance(order, dict) else None
        if moment is not None:
            self.observe(moment)

    def saw_modified(self, moment: dt.datetime | None) -> None:
        """An order read: the store's now is at least its ``date_modified_gmt``."""
        if moment is None:
            return
        ahead = (moment - self.local()).total_seconds()
        with self._lock:
            if self._behind is None or ahead > self._behind:
                self._behind = ahead

    def skew(self) -> float | None:
        """Seconds the store's clock is ahead of this host's (negative: behind), None when unknown."""
        with self._lock:
            if self._samples:
                return float(statistics.median(self._samples))
            if self._behind is not None and self._behind > 0:
                return self._behind
        return None

    def warning(self, overlap_seconds: int) -> str | None:
        """A message when the skew exceeds half of ``orders.overlap_seconds``."""
        skew = self.skew()
        if skew is None or abs(skew) <= overlap_seconds / 2:
            return None
        side = "ahead of" if skew < 0 else "behind"
        return (f"this host's clock is {abs(skew):.0f} s {side} the store's (more than half of "
                f"orders.overlap_seconds = {overlap_seconds}): set the host's time with NTP; the bookmark "
                "follows the store's clock, but the poll's window and schedule assume the two agree")
