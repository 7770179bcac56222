"""`wcbc replay` directly: targets from record ids, inbox rows and failed records; the order replay through
OrderSync against in-memory fakes (no HTTP), the item replay through a stand-in."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.sync.orders.fakes import FakeBC, FakeWoo, config, order
from wcbc.core.errors import UsageError
from wcbc.core.state import State
from wcbc.sync import replay
from wcbc.sync.replay import ReplayResult, ReplayTarget


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State(tmp_path / "state.db") as s:
        yield s


def test_parse_record_id() -> None:
    assert replay.parse_record_id("16") == ReplayTarget("order", "16")
    assert replay.parse_record_id("item:TSHIRT-001") == ReplayTarget("item", "TSHIRT-001")
    assert replay.parse_record_id("inbox:5") == ReplayTarget("inbox", "5")
    for bad in ("customer:1", "order:", "nonsense"):
        with pytest.raises(UsageError):
            replay.parse_record_id(bad)


def test_targets(state: State) -> None:
    state.record_put("order:1", "order", "1", "failed", error="x")
    state.record_put("item:MUG-001", "item", "MUG-001", "on_hold", error="y")
    state.record_put("order:2", "order", "2", "done")
    assert replay.replay_targets(state, None) == [ReplayTarget("order", "1"), ReplayTarget("item", "MUG-001")]
    assert replay.replay_targets(state, None, since=dt.datetime(2999, 1, 1, tzinfo=dt.UTC)) == []
    with pytest.raises(UsageError, match="already done"):
        replay.replay_targets(state, "order:2")
    assert replay.replay_targets(state, "order:2", force=True) == [ReplayTarget("order", "2")]
    woo_row = state.inbox_add("woocommerce", "order.updated", "7", b"{}")
    bc_row = state.inbox_add("business_central", "collection", None, b"{}")
    other = state.inbox_add("woocommerce", "product.updated", None, b"{}")
    assert replay.replay_targets(state, f"inbox:{woo_row}") == [ReplayTarget("order", "7")]
    with pytest.raises(UsageError, match="name no item number"):
        replay.replay_targets(state, f"inbox:{bc_row}")
    with pytest.raises(UsageError, match="names no order"):
        replay.replay_targets(state, f"inbox:{other}")
    with pytest.raises(UsageError, match="no inbox delivery"):
        replay.replay_targets(state, "inbox:999")


def test_result_rows() -> None:
    assert ReplayResult([]).rows() == [("replayed", "nothing to replay")]
    result = ReplayResult([{"record": "order:1", "result": "on_hold", "message": "bad SKU"}])
    assert result.failed and result.rows() == [("order:1", "on_hold — bad SKU")]
    assert not ReplayResult([{"record": "item:A", "result": "updated", "message": None}]).failed


def test_replay_books_held_orders_and_replays_items_each_under_its_run(state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2)), FakeBC()
    state.record_put("order:1", "order", "1", "on_hold", error="unknown SKU")
    state.record_put("order:2", "order", "2", "failed", error="BC down")
    state.record_put("item:MUG-001", "item", "MUG-001", "failed", error="store down")
    runs: list[Any] = []

    @contextlib.contextmanager
    def run(ctx: Any, command: str) -> Iterator[Any]:
        current = SimpleNamespace(id=ctx.state.run_start(command), command=command, summary={})
        runs.append(current)
        yield current

    class Items:
        def __init__(self, ctx: Any, run_id: int) -> None:
            self.run_id = run_id

        def replay(self, numbers: list[str]) -> dict[str, str]:
            return dict.fromkeys(numbers, "updated")

    ctx = SimpleNamespace(woo=woo, bc=bc, state=state, config=config())
    result = replay.replay_records(ctx, record=None, failed=True, run=run, item_sync=Items)
    assert [(o["record"], o["result"]) for o in result.outcomes] == [
        ("order:2", "booked"), ("order:1", "booked"), ("item:MUG-001", "updated")]  # failed, then held
    assert not result.failed
    assert [(r.command, r.summary) for r in runs] == [
        ("sync-orders", {"replay": True, "booked": 2}), ("sync-items", {"replay": True})]
    order_run = runs[0].id
    assert {row["run_id"] for row in state.journal_for("order:1")} == {order_run}
    assert woo.reads == [2, 1] and woo.polls == []  # the named orders only: no poll, no other retries
    # Replaying a done order is refused; with --force it books nothing twice.
    with pytest.raises(UsageError):
        replay.replay_records(ctx, record="order:1", failed=False, run=run)
    forced = replay.replay_records(ctx, record="order:1", failed=False, force=True, run=run)
    assert [o["result"] for o in forced.outcomes] == ["unchanged"]
    assert len(bc.documents["salesOrders"]) == 2
