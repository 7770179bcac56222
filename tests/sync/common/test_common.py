from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from wcbc.core.state import State
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.common.batching import chunks
from wcbc.sync.common.bookmark import capped
from wcbc.sync.common.outcome import Outcome, Outcomes, any_failed, tally
from wcbc.sync.common.plan import Plan, Write


@pytest.fixture
def state(tmp_path):
    with State(tmp_path / "wcbc.db") as db:
        yield db


def test_chunks() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 3)) == []
    with pytest.raises(ValueError):
        list(chunks([1], 0))


def test_bookmark_never_past_the_run_start() -> None:
    started = datetime(2026, 1, 1, 12, tzinfo=UTC)
    before = datetime(2026, 1, 1, 11, tzinfo=UTC)
    after = datetime(2026, 1, 1, 13, tzinfo=UTC)
    assert capped([before, None], started) == before
    assert capped([before, after], started) == started
    assert capped([None], started) == started


def test_a_write_needs_a_known_system_and_a_key() -> None:
    with pytest.raises(ValueError, match="no idempotency key"):
        Write("order:1", "create_document", "bc", "")
    with pytest.raises(ValueError, match="unknown system"):
        Write("order:1", "create_document", "erp", "WC-1")
    plan = Plan()
    plan.add(Write("order:1", "create_document", "bc", "WC-1", {"a": 1}, note="3 lines"))
    plan.add(Write("order:2", "create_document", "bc", "WC-2"))
    assert len(plan) == 2 and plan
    assert [w.key for w in plan.for_record("order:1")] == ["WC-1"]
    assert plan.as_list()[0] == {"record": "order:1", "action": "create_document", "system": "bc",
                                 "key": "WC-1", "body": {"a": 1}, "note": "3 lines"}



def test_plan_gather_keeps_each_records_writes_in_order() -> None:
    @dataclass
    class RecordPlan:
        writes: list[Write]

    a1 = Write("ship:1", "add_note", "woocommerce", "S-1")
    a2 = Write("ship:1", "update_order", "woocommerce", "S-1")
    b1 = Write("ship:2", "add_note", "woocommerce", "S-2")
    gathered = Plan.gather([RecordPlan([a1, a2]), RecordPlan([]), RecordPlan([b1])])
    assert gathered.writes == [a1, a2, b1]
    assert not Plan.gather([])

def test_outcomes_count_and_progress() -> None:
    ticks: list[int] = []
    outcomes = Outcomes(on_add=ticks.append)
    outcomes.append(Outcome("order:1", "booked", document="S-1"))
    outcomes.append(Outcome("order:2", "failed", message="boom"))
    outcomes.append(Outcome("order:3", "booked"))
    assert ticks == [1, 1, 1]
    assert tally(outcomes) == {"booked": 2, "failed": 1}
    assert any_failed(outcomes) and not any_failed(outcomes[:1])
    assert outcomes[0].as_dict() == {"record": "order:1", "result": "booked", "key": "", "document": "S-1"}


def test_done_commits_link_record_and_journal_with_the_run_id(state: State) -> None:
    ledger = Ledger(state, run_id=7)
    ledger.intend("order:1", "order", "1", {"externalDocumentNumber": "WC-1"})
    assert state.record_get("order:1")["status"] == "pending"
    ledger.done("order:1", "order", "1", links=[Link("order", "1", "guid-1", "S-1", {"entity": "x"})],
                data={"document": "S-1"}, detail={"document": "S-1"})
    assert state.record_get("order:1")["status"] == "done"
    assert state.link_get("order", "1")["bc_number"] == "S-1"
    steps = [(r["step"], r["run_id"]) for r in state.journal_for("order:1")]
    assert steps == [("mapped", 7), ("result", 7)]


def test_done_is_all_or_nothing(state: State) -> None:
    class Boom(Exception):
        pass

    ledger = Ledger(state, run_id=1)
    original = state.record_done

    def failing(*args, **kwargs):
        raise Boom()

    state.record_done = failing  # the link is written first, then this fails: the link must go too
    with pytest.raises(Boom):
        ledger.done("order:1", "order", "1", links=[Link("order", "1", "guid-1", "S-1")])
    state.record_done = original
    assert state.link_get("order", "1") is None
    assert state.journal_for("order:1") == []


def test_fail_counts_attempts_until_on_hold(state: State) -> None:
    ledger = Ledger(state, run_id=3)
    assert ledger.fail("order:9", "order", "9", "unknown SKU", max_attempts=2) == "failed"
    assert ledger.fail("order:9", "order", "9", "unknown SKU", max_attempts=2) == "on_hold"
    ledger.fail_uncounted("order:8", "order", "8", "answer lost")
    assert state.record_get("order:8")["attempts"] == 0
    ledger.put("order:7", "order", "7", "skipped", error="status draft")
    rows = state.journal_for("order:7")
    assert rows[0]["step"] == "skipped" and rows[0]["detail"] == {"reason": "status draft"}
    assert all(r["run_id"] == 3 for r in state.journal_for("order:9"))


def test_counted_reports_answer_from_their_outcomes() -> None:
    from dataclasses import dataclass, field

    from wcbc.sync.common.outcome import Counted

    @dataclass
    class Report(Counted):
        outcomes: list = field(default_factory=list)

    report = Report([Outcome("a", "booked"), Outcome("b", "booked"), Outcome("c", "skipped")])
    assert report.count("booked") == 2 and report.counts == {"booked": 2, "skipped": 1}
    assert not report.failed
    report.outcomes.append(Outcome("d", "on_hold"))
    assert report.failed
