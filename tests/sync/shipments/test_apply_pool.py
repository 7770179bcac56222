"""The shipments applier with ``woocommerce.concurrency``: several shipments' notes at once, two of one
order never together, the state written in the calling thread, a failing note failing its shipment alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wcbc.adapters.woo.client import BatchResult
from wcbc.core.errors import RemoteError
from wcbc.core.state import State
from wcbc.sync.shipments.apply import Applier
from wcbc.sync.shipments.plan import Policy, ShipmentPlan, plan_shipment


class PoolWoo:
    """Notes and batch updates in memory; counts how many note calls run at once, per order and in all."""

    def __init__(self, *, gate: threading.Barrier | None = None, failing: set[int] | None = None,
                 hold: int | None = None) -> None:
        self.gate, self.failing, self.hold = gate, failing or set(), hold
        self.another = threading.Event()  # a second note of order ``hold`` started
        self.lock = threading.Lock()
        self.notes: dict[int, list[str]] = {}
        self.active: dict[int, int] = {}
        self.most_per_order = 0
        self.threads: set[str] = set()
        self.batches: list[list[dict]] = []

    def customer_notes(self, order_id: int) -> list[dict]:
        with self.lock:
            return [{"note": n} for n in self.notes.get(order_id, [])]

    def add_customer_note(self, order_id: int, note: str) -> dict:
        with self.lock:
            self.active[order_id] = self.active.get(order_id, 0) + 1
            self.most_per_order = max(self.most_per_order, self.active[order_id])
            self.threads.add(threading.current_thread().name)
            first = order_id == self.hold
            self.hold = None if first else self.hold  # only the order's first note waits
            if self.active[order_id] > 1:
                self.another.set()
        try:
            if first:  # give a second note of the same order the chance to overlap this one
                self.another.wait(timeout=1)
            if self.gate is not None:
                self.gate.wait()  # returns only when the gate's parties are all in a call at once
            if order_id in self.failing:
                raise RemoteError("woocommerce_rest_cannot_create: refused", system="woocommerce")
            with self.lock:
                self.notes.setdefault(order_id, []).append(note)
            return {"id": 1}
        finally:
            with self.lock:
                self.active[order_id] -= 1

    def batch_orders(self, updates: list[dict]) -> list[BatchResult]:
        assert threading.current_thread() is threading.main_thread()
        self.batches.append(updates)
        return [BatchResult(u["id"], True, {"id": u["id"]}, None) for u in updates]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State(tmp_path / "state.db") as s:
        yield s


def plan(order_id: int, number: str) -> ShipmentPlan:
    shipment = {"id": f"id-{number}", "number": number, "orderNumber": f"S-ORD{order_id}",
                "externalDocumentNumber": str(order_id), "postingDate": "2026-12-07",
                "salesShipmentLines": [{"lineType": "Item", "lineObjectNumber": "MUG-001",
                                        "description": "Mug", "quantity": 1}]}
    order = {"id": order_id, "number": str(order_id), "status": "processing", "meta_data": []}
    return plan_shipment(shipment, order, order_id=order_id, full=True, tracking=None, policy=Policy())


def run(applier: Applier, plans: list[ShipmentPlan]) -> dict[str, str]:
    outcomes = []
    try:
        for p in plans:
            outcome = applier.apply(p)
            if outcome is not None:
                outcomes.append(outcome)
        outcomes += applier.flush()
    finally:
        applier.close()
    return {o.key: o.result for o in outcomes}


def test_notes_of_several_shipments_go_out_at_once(state: State) -> None:
    woo = PoolWoo(gate=threading.Barrier(3, timeout=10))  # the three notes must be in flight together
    applier = Applier(woo=woo, state=state, policy=Policy(), run_id=None, concurrency=3)
    results = run(applier, [plan(1, "SH1"), plan(2, "SH2"), plan(3, "SH3")])
    assert results == {"SH1": "shipped", "SH2": "shipped", "SH3": "shipped"}
    assert all(name.startswith("wcbc-ship") for name in woo.threads)
    assert len(woo.batches) == 1 and [u["id"] for u in woo.batches[0]] == [1, 2, 3]
    for order_id, number in ((1, "SH1"), (2, "SH2"), (3, "SH3")):
        assert len(woo.notes[order_id]) == 1
        rid = f"shipment:{number}"
        steps = [(r["step"], r["detail"]) for r in state.journal_for(rid)]
        assert ("sent", {"add_note": number}) in steps
        assert state.record_get(rid)["status"] == "done"


def test_two_shipments_of_one_order_are_never_written_together(state: State) -> None:
    woo = PoolWoo(hold=1)
    applier = Applier(woo=woo, state=state, policy=Policy(), run_id=None, concurrency=4)
    plans = [plan(1, f"SH1-{i}") for i in range(4)] + [plan(2, "SH2")]
    results = run(applier, plans)
    assert set(results.values()) == {"shipped"}
    assert woo.most_per_order == 1
    assert len(woo.notes[1]) == 4


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_failing_note_fails_only_its_shipment_and_a_rerun_repeats_no_note(state: State,
                                                                             concurrency: int) -> None:
    woo = PoolWoo(failing={2})
    plans = [plan(1, "SH1"), plan(2, "SH2"), plan(3, "SH3")]
    results = run(Applier(woo=woo, state=state, policy=Policy(), run_id=None, concurrency=concurrency),
                  plans)
    assert results == {"SH1": "shipped", "SH2": "failed", "SH3": "shipped"}
    assert "refused" in state.record_get("shipment:SH2")["last_error"]
    assert [u["id"] for u in woo.batches[0]] == [1, 3]
    woo.failing.clear()
    again = run(Applier(woo=woo, state=state, policy=Policy(), run_id=None, concurrency=concurrency),
                [plan(2, "SH2"), plan(3, "SH3")])  # SH3's update is written: its note is found, not sent
    assert again == {"SH2": "shipped", "SH3": "shipped"}
    assert {k: len(v) for k, v in woo.notes.items()} == {1: 1, 2: 1, 3: 1}
    assert ("retried", {"add_note": "found on the order"}) in [
        (r["step"], r["detail"]) for r in state.journal_for("shipment:SH3")]
