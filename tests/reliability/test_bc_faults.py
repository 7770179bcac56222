"""Business Central answering 429 (with and without Retry-After) and 503 to 30% of calls and dropping 10%
of connections: every order is booked exactly once, and the waits honour Retry-After."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, seed_orders, tally
from wcbc.adapters.bc.client import BCClient
from wcbc.core.errors import ThrottledError, UnreachableError
from wcbc.sandbox.core import Faults
from wcbc.sync.orders.sync import OrderSync

pytestmark = pytest.mark.reliability


class MixedFaults(Faults):
    """Faults whose injected 429s carry ``Retry-After: 1`` or no Retry-After at all, at random."""

    def draw(self) -> str | None:
        fault = super().draw()
        if fault == "429":
            with self._lock:
                with_header = self._rng.random() < 0.5
            self.retry_after = 1 if with_header else None
        return fault


class WaitLog:
    """The BC client's sleep function: records (status, Retry-After seen, wait) and sleeps briefly."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.waits: list[tuple[int | None, str | None, float]] = []
        self.lock = threading.Lock()

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.local.last = (response.status_code, response.headers.get("Retry-After"))

    def sleep(self, seconds: float) -> None:
        status, header = getattr(self.local, "last", None) or (None, None)
        self.local.last = None
        with self.lock:
            self.waits.append((status, header, seconds))
        time.sleep(min(seconds, 0.01))  # the wait asked for is what is checked; the test stays short


def client_with(env: E2E, ctx: Any, waits: WaitLog) -> BCClient:
    cfg = ctx.config.business_central
    bc = BCClient(
        api_url=cfg.api_url,
        tenant_id=cfg.tenant_id,
        environment=cfg.environment,
        company_id=cfg.company_id,
        token_provider=ctx.tokens,
        verify=ctx.config.verify(),
        max_concurrency=cfg.max_concurrency,
        sleep=waits.sleep,
    )
    make_session = bc.http.session

    def session() -> Any:
        current = make_session()
        if waits.hook not in current.hooks["response"]:
            current.hooks["response"].append(waits.hook)
        return current

    bc.http.session = session  # type: ignore[method-assign]
    return bc


def test_throttling_503_and_dropped_connections(env: E2E, caplog: pytest.LogCaptureFixture) -> None:
    no_notes(env)
    orders = seed_orders(env, 200, seed=5)
    faults = MixedFaults(share_429=0.15, share_503=0.15, share_drop=0.10, seed=42)
    env.bc.faults = faults
    ctx = env.context()
    waits = WaitLog()
    bc = client_with(env, ctx, waits)
    runs, aborted, unsettled = 0, [], []
    caplog.set_level(logging.WARNING, logger="wcbc.http")
    try:
        while True:
            runs += 1
            assert runs <= 12, f"no convergence: {aborted}"
            try:
                report = OrderSync(woo=ctx.woo, bc=bc, state=ctx.state, config=ctx.config).run()
            except (UnreachableError, ThrottledError) as exc:
                aborted.append(f"{type(exc).__name__}: {exc.message}")
                continue
            unsettled.append(report.count("failed"))  # a lost POST answer: that order retries next run
            if not report.failed:
                break
        env.bc.faults = Faults()
        figures = tally(env, orders)
    finally:
        ctx.close()
    retries = sum(bc.retries.values())
    logged = [r for r in caplog.records if r.name == "wcbc.http" and hasattr(r, "wait")]
    with_header = [w for status, header, w in waits.waits if status == 429 and header == "1"]
    without_header = [w for status, header, w in waits.waits if status == 429 and header is None]
    after_503 = [w for status, _, w in waits.waits if status == 503]
    print(
        f"bc faults: injected {dict(faults.injected)} over {sum(bc.calls.values())} BC calls; "
        f"{retries} retries ({len(with_header)} after 429+Retry-After:1, min wait "
        f"{min(with_header, default=0):.2f} s; {len(without_header)} after a bare 429, "
        f"{len(after_503)} after 503); {runs} runs ({len(aborted)} aborted and rerun: "
        f"{sorted(set(a.split(':')[0] for a in aborted))}; orders left unsettled per run: {unsettled})"
    )
    print(f"bc faults: {figures.line()}")
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
    assert figures.documents == len(orders) and figures.customer_duplicates == 0
    assert faults.injected.get("429", 0) >= 20 and faults.injected.get("503", 0) >= 20
    assert faults.injected.get("drop", 0) >= 10
    assert retries == len(logged) > 0  # every retry is logged, with its wait
    assert with_header and without_header and after_503
    assert all(w >= 1.0 for w in with_header)  # Retry-After: 1 honoured
    assert min(without_header) < 1.0  # a bare 429 gets the jittered backoff instead


def test_retry_after_is_waited_for_real(env: E2E) -> None:
    """Real sleeping: the gap between a 429 (Retry-After: 1) and the retry of the same call, seen by BC."""
    no_notes(env)
    (order,) = seed_orders(env, 1, new_buyers=0, guests=0)
    arrivals: list[tuple[float, str, int]] = []
    lock = threading.Lock()
    answer = env.bc.handle

    def throttle_first_calls(request: Any) -> Any:
        with lock:
            throttled = sum(1 for _, _, status in arrivals if status == 429) < 3
            arrivals.append(
                (
                    time.monotonic(),
                    f"{request.method} {request.path}?{request.raw_query}",
                    429 if throttled else 0,
                )
            )
        return env.bc.fault_response(429, 1) if throttled else answer(request)

    ctx = env.context()
    try:
        ctx.bc.company()  # token and connection first: only the sync's calls are throttled
        env.bc.handle = throttle_first_calls
        report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
    finally:
        env.bc.handle = answer
        ctx.close()
    gaps = []
    for index, (at, call, status) in enumerate(arrivals):
        if status == 429:
            retry = next(t for t, c, _ in arrivals[index + 1 :] if c == call)
            gaps.append(retry - at)
    print(
        f"retry-after: {len(gaps)} calls answered 429 + Retry-After: 1, retried by the same call after "
        f"{[round(g, 2) for g in gaps]} s (measured by BC)"
    )
    assert report.count("booked") == 1
    assert len(env.documents(order["number"])) == 1
    assert len(gaps) == 3 and all(g >= 1.0 for g in gaps)
