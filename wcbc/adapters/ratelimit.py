"""Client-side limits for Business Central: requests in flight and requests per sliding window.

BC online allows each user (service principals included) 5 concurrent requests and 6,000 requests per
5-minute sliding window; beyond that it queues, then answers 429/503. :class:`RateLimiter` keeps wcbc under
both limits before the server has to say so:

* at most ``max_concurrency`` requests in flight (a semaphore held while one request is on the wire);
* at most ``max_requests`` request starts within any ``window`` seconds (a sliding log of start times);
  a caller blocks until the oldest start leaves the window.

Thread-safe. ``clock`` and ``sleep`` are injectable so tests run without waiting.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RateLimiter:
    def __init__(
        self,
        max_concurrency: int = 5,
        max_requests: int = 6000,
        window: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_concurrency < 1 or max_requests < 1 or window <= 0:
            raise ValueError("max_concurrency and max_requests must be >= 1 and window > 0")
        self.max_concurrency = max_concurrency
        self.max_requests = max_requests
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep
        self._semaphore = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._starts: collections.deque[float] = collections.deque()
        self.in_flight = 0
        self.max_in_flight = 0  # the highest concurrency seen (for tests and metrics)
        self.waited = 0.0  # total seconds spent waiting for the window (for metrics)

    def _reserve(self) -> float:
        """Record a start if the window allows it now (returns 0), else return the seconds to wait."""
        with self._lock:
            now = self._clock()
            while self._starts and now - self._starts[0] >= self.window:
                self._starts.popleft()
            if len(self._starts) < self.max_requests:
                self._starts.append(now)
                return 0.0
            return max(self.window - (now - self._starts[0]), 0.001)

    def acquire(self) -> None:
        """Block until one more request may start; pair with :meth:`release`."""
        self._semaphore.acquire()
        try:
            while True:
                delay = self._reserve()
                if delay <= 0:
                    break
                self.waited += delay
                self._sleep(delay)
        except BaseException:
            self._semaphore.release()
            raise
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._semaphore.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """``with limiter.slot():`` around exactly one HTTP request."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def used(self) -> int:
        """Request starts inside the current window."""
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._starts if now - t < self.window)
