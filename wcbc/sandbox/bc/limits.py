"""BC operational limits per user (an app's service principal counts as a user): a sliding window of
requests and a cap on concurrent requests (business-central.md §5)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.core import Clock


class Limiter:
    """6,000 requests per 5-minute sliding window and 5 concurrent requests per client (configurable).

    Over the rate: 429. Over the concurrency cap the real service queues the request (up to 95 queued, 503
    after 8 minutes in the queue, 429 when the queue is full); ``reject_over_concurrency`` answers 429 at
    once instead (a harsher sandbox mode).
    UNDOCUMENTED choices: the 429 error code (``Application_TooManyRequests``) and sending ``Retry-After``
    on 429 (docs document the header only for 502/503); ``send_retry_after=False`` omits it.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        rate: int = 6000,
        window: float = 300.0,
        max_concurrent: int = 5,
        max_queue: int = 95,
        queue_timeout: float = 480.0,
        reject_over_concurrency: bool = False,
        send_retry_after: bool = True,
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.window = window
        self.max_concurrent = max_concurrent
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.reject_over_concurrency = reject_over_concurrency
        self.send_retry_after = send_retry_after
        self.enabled = True
        self._hits: dict[str, deque[float]] = {}
        self._active: dict[str, int] = {}
        self._waiting: dict[str, int] = {}
        self._cond = threading.Condition()
        self.throttled = 0

    def _too_many(self, message: str, retry_after: int) -> BCError:
        self.throttled += 1
        headers = [("Retry-After", str(max(1, retry_after)))] if self.send_retry_after else []
        return BCError(429, "Application_TooManyRequests", message, headers)

    def _check_rate(self, client: str) -> None:
        now = self.clock.time()
        hits = self._hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.rate:
            wait = math.ceil(hits[0] + self.window - now)
            raise self._too_many(
                f"The request was throttled: the limit of {self.rate} requests per "
                f"{int(self.window)} seconds "
                "was exceeded. Retry later.",
                wait,
            )
        hits.append(now)

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._check_rate(client)
            if self._active.get(client, 0) >= self.max_concurrent:
                if self.reject_over_concurrency or self._waiting.get(client, 0) >= self.max_queue:
                    raise self._too_many(
                        f"The request was throttled: more than {self.max_concurrent} concurrent requests.", 1
                    )
                self._waiting[client] = self._waiting.get(client, 0) + 1
                deadline = time.monotonic() + self.queue_timeout
                try:
                    while self._active.get(client, 0) >= self.max_concurrent:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise BCError(
                                503,
                                "Application_ServiceUnavailable",
                                "The request waited too long in the queue of concurrent requests.",
                                [("Retry-After", "1")],
                            )
                        self._cond.wait(left)
                finally:
                    self._waiting[client] -= 1
            self._active[client] = self._active.get(client, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._active[client] -= 1
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Requests queued behind the concurrency cap right now (all clients)."""
        with self._cond:
            return sum(self._waiting.values())

    def reset(self) -> None:
        with self._cond:
            self._hits.clear()
