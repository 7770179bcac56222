"""Closing a writer whose calls run on a small thread pool (items' batches, shipments' writes)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def drain_and_stop(pending: deque[Any], settle_next: Callable[[], None], pool: ThreadPoolExecutor | None,
                   *, log: logging.Logger, what: str) -> None:
    """Handle each call still in ``pending`` by ``settle_next`` (best effort: the first error stops it and
    is logged by type only, as closing runs after an error too: never mask that one); then stop ``pool``."""
    try:
        while pending:
            settle_next()
    except BaseException as exc:  # noqa: BLE001 - closing after an error: never mask that one
        log.debug("%s not recorded while closing: %s", what, type(exc).__name__)
        pending.clear()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
