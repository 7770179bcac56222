"""drain_and_stop: every pending call settled, the first error stops it and is not raised, the pool stops."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import pytest

from wcbc.sync.common.pool import drain_and_stop

log = logging.getLogger("wcbc.test")


def test_settles_each_pending_call_then_stops_the_pool() -> None:
    pending: deque[int] = deque([1, 2, 3])
    settled: list[int] = []
    pool = ThreadPoolExecutor(max_workers=1)
    drain_and_stop(pending, lambda: settled.append(pending.popleft()), pool, log=log, what="calls")
    assert settled == [1, 2, 3]
    with pytest.raises(RuntimeError):
        pool.submit(int)


def test_an_error_while_settling_is_logged_by_type_and_the_rest_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    pending: deque[int] = deque([1, 2, 3])

    def settle_next() -> None:
        pending.popleft()
        raise ValueError("secret-ish detail")

    with caplog.at_level(logging.DEBUG, logger="wcbc.test"):
        drain_and_stop(pending, settle_next, None, log=log, what="calls")
    assert not pending
    assert "calls not recorded while closing: ValueError" in caplog.text
    assert "secret-ish" not in caplog.text
