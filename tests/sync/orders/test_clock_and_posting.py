"""The store's clock drives the bookmark (a host clock ahead or jumping loses nothing; a skew is warned
about), and posted invoices keep their POSTED number (a lost answer to the post settles that order alone).
In-memory fakes and a real State; the same cases through the sandbox are in tests/reliability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.orders.fakes import T0, FakeBC, FakeWoo, config, order
from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.state import State
from wcbc.sync.common.cursors import ORDERS_MODIFIED_AFTER
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders.clock import StoreClock
from wcbc.sync.orders.sync import OrderSync


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State(tmp_path / "state.db") as s:
        yield s


class Clocks:
    """The store's clock and this host's, ``skew`` seconds apart (the host ahead when positive)."""

    def __init__(self, skew: float = 0) -> None:
        self.store_at = T0
        self.skew = skew

    def store(self) -> dt.datetime:
        return self.store_at

    def host(self) -> dt.datetime:
        return self.store_at + dt.timedelta(seconds=self.skew)

    def later(self, seconds: float) -> dt.datetime:
        self.store_at += dt.timedelta(seconds=seconds)
        return self.store_at


def run(woo: FakeWoo, bc: FakeBC, state: State, clocks: Clocks, **kwargs: Any) -> Any:
    cfg = config(overlap_seconds=300, start_date="2026-11-01", batch_size=2, **kwargs)
    return OrderSync(woo=woo, bc=bc, state=state, config=cfg, clock=clocks.host).run()


# ------------------------------------------------------------------------------------------ the clock


def test_host_clock_400_s_ahead_of_the_store_loses_no_order(state: State) -> None:
    clocks = Clocks(skew=400)
    woo, bc = FakeWoo(order(1, modified=clocks.store()), now=clocks.store), FakeBC()
    first = run(woo, bc, state, clocks)
    assert first.counts == {"booked": 1}
    # The bookmark is the store's newest change, not the host's (which was 400 s ahead: with the old rule
    # the next window began 100 s in the store's future and the orders below were never read).
    assert state.cursor_get(ORDERS_MODIFIED_AFTER) == "2026-11-26T20:00:00Z"
    assert first.clock_skew is not None and first.clock_skew < -390  # read from the write-back's answer
    assert "400 s ahead of the store's" in first.warnings[0] and "overlap_seconds = 300" in first.warnings[0]
    for i in range(2, 11):
        woo.orders[i] = order(i, modified=clocks.later(20))
    second = run(woo, bc, state, clocks)
    assert second.count("booked") == 9 and len(bc.documents["salesOrders"]) == 10


def test_host_clock_jumping_an_hour_mid_run_loses_no_order(state: State) -> None:
    clocks = Clocks()
    woo = FakeWoo(*(order(i, modified=clocks.later(10)) for i in range(1, 6)), now=clocks.store)
    bc = FakeBC()
    cfg = config(overlap_seconds=300, start_date="2026-11-01", batch_size=2)

    def jump(_: int) -> None:  # after the first outcome, this host's clock jumps an hour ahead
        clocks.skew = 3600

    report = OrderSync(woo=woo, bc=bc, state=state, config=cfg, clock=clocks.host, on_progress=jump).run()
    assert report.count("booked") == 5
    assert state.cursor_get(ORDERS_MODIFIED_AFTER) == "2026-11-26T20:00:50Z"  # the store's newest change
    run(woo, bc, state, clocks)  # a run with the host's clock an hour ahead: the bookmark must not follow it
    for i in range(6, 12):
        woo.orders[i] = order(i, modified=clocks.later(30))
    for _ in range(2):
        run(woo, bc, state, clocks)
    assert sorted(int(d["externalDocumentNumber"]) for d in bc.documents["salesOrders"]) == list(range(1, 12))


def test_the_date_header_bounds_the_window_and_measures_the_skew(state: State) -> None:
    clocks = Clocks(skew=-600)  # this host is 10 minutes behind the store
    woo = FakeWoo(*(order(i, modified=clocks.later(60)) for i in range(1, 4)), now=clocks.store)
    woo.store_now = clocks.store  # type: ignore[attr-defined]  # a client that reads the store's Date header
    report = run(woo, FakeBC(), state, clocks)
    assert report.count("booked") == 3  # the host's clock alone would have ended the window before them
    assert woo.polls[-1][1] == clocks.store() + dt.timedelta(seconds=1)
    assert report.clock_skew == 600 and "600 s behind the store's" in report.warnings[0]


def test_no_warning_within_half_the_overlap_and_a_lower_bound_from_dates_read() -> None:
    clocks = Clocks(skew=100)
    clock = StoreClock(object(), clocks.host)
    clock.observe(clocks.store())
    assert clock.skew() == -100 and clock.warning(300) is None and clock.warning(150) is not None
    behind = StoreClock(object(), Clocks(skew=-200).host)
    assert behind.now() is None and behind.skew() is None
    behind.saw_modified(T0 + dt.timedelta(seconds=190))  # an order changed "in the future" of this host
    assert behind.skew() == 390 and "behind" in str(behind.warning(300))


# -------------------------------------------------------------------------------------- posted invoices


def test_posted_invoice_keeps_the_posted_number_in_the_link_and_the_store(state: State) -> None:
    woo, bc = FakeWoo(order(1)), FakeBC()
    report = OrderSync(woo=woo, bc=bc, state=state, config=config(target="posted_invoice")).run(
        since=T0 - dt.timedelta(days=1))
    (doc,) = bc.documents["salesInvoices"]
    assert doc["number"].startswith("PS-")  # the fake renames the draft S-... on posting, as BC does
    assert [(o.result, o.document) for o in report.outcomes] == [("booked", doc["number"])]
    assert state.link_get("order", "1")["bc_number"] == doc["number"]
    assert mapping.meta_value(woo.orders[1], mapping.DOCUMENT_META_KEY) == doc["number"]


def test_a_lost_answer_to_the_post_is_settled_by_reading_the_invoice(state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2)), FakeBC()
    bc.fail["post"] = [AmbiguousWriteError("read timeout", system="business_central", call="POST")]
    bc.land_before_failing = True  # the post happened; its answer was lost
    report = OrderSync(woo=woo, bc=bc, state=state, config=config(target="posted_invoice")).run(
        since=T0 - dt.timedelta(days=1))
    assert report.counts == {"booked": 2}
    assert all(d["number"].startswith("PS-") for d in bc.documents["salesInvoices"])
    rows = [r["detail"] for r in state.journal_for("order:1") if r["step"] == "retried"]
    assert rows and rows[0]["post_settled_by_read"].startswith("PS-")


def test_a_lost_post_that_did_not_happen_fails_that_order_alone_and_the_next_run_posts_it(
        state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2)), FakeBC()
    bc.fail["post"] = [AmbiguousWriteError("read timeout", system="business_central", call="POST")]
    cfg = config(target="posted_invoice")
    first = OrderSync(woo=woo, bc=bc, state=state, config=cfg).run(since=T0 - dt.timedelta(days=1))
    assert sorted(o.result for o in first.outcomes) == ["booked", "failed"]  # not aborted: no exit 3
    failed = next(o for o in first.outcomes if o.result == "failed")
    record = state.record_get(f"order:{failed.order_id}")
    assert record["attempts"] == 0 and "still a draft" in record["last_error"]
    second = OrderSync(woo=woo, bc=bc, state=state, config=cfg).run(since=T0 - dt.timedelta(days=1))
    assert [o.result for o in second.outcomes if o.order_id == failed.order_id] == ["linked"]
    assert len(bc.documents["salesInvoices"]) == 2
    assert all(d["number"].startswith("PS-") for d in bc.documents["salesInvoices"])
    link = state.link_get("order", str(failed.order_id))
    assert link["bc_number"].startswith("PS-")
