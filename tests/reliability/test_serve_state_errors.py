"""A state DB that cannot store (disk full) while serve is running: deliveries are answered 503 with
Retry-After (not 500), nothing is half-stored, and the worker logs the error and keeps running.

"Disk full" is real SQLite: ``PRAGMA max_page_count`` caps the file at its current size, so the next
insert fails with SQLITE_FULL exactly as it does on a full disk."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.webhooks.test_app import BC, CLIENT_STATE, WOO, bc_entry, raw_request, secrets, woo_headers
from wcbc.core.errors import StateError
from wcbc.core.state import State
from wcbc.ops.demo import wait_until
from wcbc.webhooks.service import Service

BIG = "x" * 20_000  # needs new pages: cannot fit in the capped file


class Disk:
    """Every State opened through :meth:`open` shares one switch: full or not."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.full = False

    def open(self) -> State:
        state = State(self.path)
        self._apply(state)
        return state

    def _apply(self, state: State) -> None:
        if self.full:
            pages = state.db.execute("PRAGMA page_count").fetchone()[0]
            state.db.execute(f"PRAGMA max_page_count = {pages}")
        else:
            state.db.execute("PRAGMA max_page_count = 1073741823")

    def set_full(self, full: bool) -> None:
        """Applied by each State in its own thread, before its next insert (see the fixture)."""
        self.full = full


@pytest.fixture()
def disk(tmp_path: Path) -> Disk:
    return Disk(tmp_path / "state.db")


@pytest.fixture()
def service(disk: Disk) -> Iterator[Service]:
    def factory() -> State:
        state = disk.open()
        original = state.inbox_add

        def inbox_add(*args: Any, **kwargs: Any) -> Any:  # the switch, read in the state's own thread
            disk._apply(state)
            return original(*args, **kwargs)

        state.inbox_add = inbox_add  # type: ignore[method-assign]
        return state

    svc = Service(state_factory=factory, secret_provider=secrets(), processor=None, host="127.0.0.1",
                  port=0, interval=3600.0, workers=2).start()
    yield svc
    svc.stop()


def pending(path: Path) -> list[dict]:
    state = State(path)
    try:
        return state.inbox_list(status="pending")
    finally:
        state.close()


def test_a_full_disk_answers_woocommerce_503_with_retry_after(
    service: Service, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"id": 41, "note": BIG}).encode()
    disk.set_full(True)
    with caplog.at_level(logging.ERROR, logger="wcbc.server"):
        status, headers, reply = raw_request(service.url, "POST", WOO, woo_headers(body), body)
    assert status == 503 and headers.get("retry-after") == "60"
    assert reply == b"state unavailable\n"
    assert "cannot store WooCommerce delivery order.updated 41: state DB error" in caplog.text
    assert pending(disk.path) == []
    # space again: the same delivery (a retry) is stored, not mistaken for an already-stored repeat
    disk.set_full(False)
    status, _, _ = raw_request(service.url, "POST", WOO, woo_headers(body), body)
    assert status == 200
    assert [r["resource_id"] for r in pending(disk.path)] == ["41"]


def test_a_full_disk_answers_business_central_503_and_stores_no_part_of_the_post(
    service: Service, disk: Disk
) -> None:
    entries = [bc_entry(resource=f"api/v2.0/companies(c1)/items(i{n})") | {"pad": BIG} for n in range(3)]
    body = json.dumps({"value": entries}).encode()
    disk.set_full(True)
    status, headers, _ = raw_request(service.url, "POST", BC, [("Content-Type", "application/json")], body)
    assert status == 503 and headers.get("retry-after") == "60"  # BC retries a 5xx; never a 4xx here
    assert pending(disk.path) == []
    disk.set_full(False)
    status, _, _ = raw_request(service.url, "POST", BC, [("Content-Type", "application/json")], body)
    assert status == 202
    assert len(pending(disk.path)) == 3
    assert CLIENT_STATE not in json.dumps([r["body"].decode() for r in pending(disk.path)])


def test_the_worker_logs_a_state_error_and_keeps_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    second = threading.Event()

    def processor(state: State) -> dict:
        calls.append(1)
        if len(calls) == 1:
            raise StateError(f"state file {tmp_path / 'state.db'} is full: database or disk is full")
        second.set()
        return {"claimed": 0}

    service = Service(state_factory=lambda: State(tmp_path / "state.db"), secret_provider=secrets(),
                      processor=processor, host="127.0.0.1", port=0, interval=3600.0)
    with caplog.at_level(logging.ERROR, logger="wcbc.server"), service:
        assert wait_until(lambda: service.last_error is not None, timeout=10)
        assert "is full" in (service.last_error or "")
        service.trigger()  # the next delivery wakes it: it is still there
        assert second.wait(10)
        assert service._health_extra()["worker"] == "running"
        assert wait_until(lambda: service.last_error is None, timeout=10)
    failed = [r for r in caplog.records if "inbox processing failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is None  # a clear line, not a traceback
    assert str(tmp_path / "state.db") in failed[0].getMessage()


def test_state_unavailable_is_its_own_answer() -> None:
    from wcbc.webhooks.reply import Reply

    reply: Callable[[], Reply] = Reply.state_unavailable
    assert reply().status == 503 and ("Retry-After", "60") in reply().headers
