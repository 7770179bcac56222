"""`wcbc serve` under slow and idle clients, over real sockets on 127.0.0.1: a valid signed delivery still
gets its 200 while hundreds of connections drip headers or bodies or sit idle (issue 14: before, 98
slow clients starved serve for as long as they dripped; 100 idle connections blocked it for 58 s).

The hostile clients stop by themselves (bounded loops, tests/webhooks/hostile.py). Figures are printed
(`pytest -s`) and quoted in README "Webhooks, serve and subscriptions"."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.webhooks.hostile import Hostile
from tests.webhooks.test_app import WOO, raw_request, secrets, woo_headers
from wcbc.core.state import State
from wcbc.webhooks.service import Service


@pytest.fixture()
def make_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def factory(**kwargs: Any) -> Service:
        service = Service(state_factory=lambda: State(tmp_path / "state.db"), secret_provider=secrets(),
                          processor=None, host="127.0.0.1", port=0, interval=3600.0, **kwargs)
        started.append(service.start())
        return service

    yield factory
    for service in started:
        service.stop()


def deliver(service: Service, order_id: int) -> tuple[int, float]:
    """One signed WooCommerce delivery: (status, seconds until the answer)."""
    body = json.dumps({"id": order_id, "status": "processing"}).encode()
    began = time.monotonic()
    status, _, _ = raw_request(service.url, "POST", WOO, woo_headers(body), body)
    return status, time.monotonic() - began


def stored_ids(service: Service) -> set[str]:
    state = service.state_factory()
    try:
        rows = state.inbox_claim("woocommerce", limit=1000, worker="test-inspector", lease_seconds=600)
        return {str(r["resource_id"]) for r in rows}
    finally:
        state.close()


def hostile(service: Service, count: int, mode: str, duration: float = 20.0) -> Hostile:
    host, port = service._bound or ("", 0)
    return Hostile(host, port, count, mode=mode, interval=0.5, duration=duration)


def test_a_delivery_gets_through_while_360_clients_drip_or_idle(make_service: Callable[..., Service]) -> None:
    """Default limits: 120 idle connections, 120 dripping headers, 120 dripping a body. None of them is
    anywhere near its timeout, so this is capacity, not luck."""
    service = make_service()
    with ExitStack() as stack:
        crowds = [stack.enter_context(hostile(service, 120, mode)) for mode in ("idle", "headers", "body")]
        time.sleep(1.0)  # let every connection be accepted and start dripping
        results = [deliver(service, 100 + n) for n in range(5)]
        for crowd in crowds:
            crowd.poll()
        still_open = sum(c.count - c.dropped() for c in crowds)
    latencies = [round(s, 3) for _, s in results]
    print(f"\n360 slow/idle clients connected ({still_open} still open): 5 deliveries answered "
          f"{[st for st, _ in results]} in {latencies} s")
    assert [status for status, _ in results] == [200] * 5
    assert max(latencies) < 3.0
    assert still_open == 360  # they were all there while the deliveries went through
    assert stored_ids(service) == {str(100 + n) for n in range(5)}


def test_at_the_connection_limit_the_stalest_connections_make_room(
    make_service: Callable[..., Service],
) -> None:
    """More slow clients than connection_limit (150 > 50): the stalest are closed to make room, so the
    delivery does not wait in the listen queue behind them."""
    service = make_service(connection_limit=50)
    with ExitStack() as stack:
        crowds = [stack.enter_context(hostile(service, 50, mode)) for mode in ("idle", "headers", "body")]
        time.sleep(1.0)
        status, seconds = deliver(service, 7)
        for crowd in crowds:
            crowd.poll()
        dropped = sum(c.dropped() for c in crowds)
    print(f"\n150 slow/idle clients, connection_limit 50: delivery {status} in {seconds:.3f} s; "
          f"{dropped} hostile connections closed to make room")
    assert status == 200 and seconds < 3.0
    assert dropped >= 150 - 50
    assert service.guard is not None and service.guard.dropped["evicted"] >= 100
    assert stored_ids(service) == {"7"}


@pytest.mark.parametrize("mode", ["headers", "body", "idle"])
def test_slow_requests_and_idle_connections_are_cut_at_their_timeout(
    make_service: Callable[..., Service], mode: str
) -> None:
    """A client dripping a byte every 0.5 s keeps waitress' inactivity timer fresh forever; the request
    timeout cuts it anyway, counted from its first byte. An idle connection goes at channel_timeout."""
    service = make_service(request_timeout=2, channel_timeout=2)
    with hostile(service, 100, mode, duration=15.0) as crowd:
        began = time.monotonic()
        while crowd.dropped() < crowd.count and time.monotonic() - began < 10.0:
            time.sleep(0.1)
            crowd.poll()
        elapsed = time.monotonic() - began
        dropped = crowd.dropped()
        first = min((c.closed_at for c in crowd.clients if c.closed_at is not None), default=None)
    print(f"\n100 {mode} clients, timeouts 2 s: all {dropped} cut after {elapsed:.2f} s")
    assert dropped == 100
    assert first is not None and first - began >= 1.5, "nothing is cut before its timeout"
    assert elapsed < 6.0
    kind = "idle" if mode == "idle" else "slow"
    assert service.guard is not None and service.guard.dropped[kind] == 100
    status, _ = deliver(service, 8)
    assert status == 200


def test_more_drippers_than_the_default_limit(make_service: Callable[..., Service]) -> None:
    """1,200 clients dripping headers against the default connection_limit of 1,000."""
    service = make_service()
    with hostile(service, 1200, "headers") as crowd:
        time.sleep(2.0)
        results = [deliver(service, 300 + n) for n in range(5)]
        crowd.poll()
        dropped = crowd.dropped()
    latencies = [round(s, 3) for _, s in results]
    print(f"\n1200 header drippers, connection_limit 1000: 5 deliveries {[st for st, _ in results]} in "
          f"{latencies} s; {dropped} of the stalest closed to make room")
    assert [status for status, _ in results] == [200] * 5
    assert max(latencies) < 3.0
    assert 200 <= dropped < 1200
    assert stored_ids(service) == {str(300 + n) for n in range(5)}
