"""wcbc.ops.runs.command_run: the one run wrapper of cron runs and of serve's worker rounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.adapters.receiver import Receiver, serving
from wcbc.core.config import AlertsConfig
from wcbc.core.errors import LockHeld
from wcbc.core.lock import run_lock
from wcbc.core.state import State
from wcbc.ops.runs import command_run, run_label


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with serving() as server:
        yield server


def make_ctx(tmp_path: Path, heartbeat_url: str | None = None) -> Any:
    config = SimpleNamespace(
        state=SimpleNamespace(path=tmp_path / "state.db", journal_days=0),
        alerts=AlertsConfig(heartbeat_url=heartbeat_url),
        verify=lambda: True,
    )
    return SimpleNamespace(config=config)


def runs(state: State) -> list[dict]:
    rows = state.db.execute("SELECT command, outcome FROM runs ORDER BY id").fetchall()
    return [{"command": command, "outcome": outcome} for command, outcome in rows]


@pytest.mark.parametrize("source", ["cron", "serve"])
def test_a_run_gets_its_row_pruning_metrics_and_heartbeat(tmp_path: Path, receiver: Receiver,
                                                          source: str) -> None:
    ctx = make_ctx(tmp_path, receiver.url + "/ping")
    state = State(ctx.config.state.path)
    if source == "cron":
        ctx.state = state
    state.journal("order:1", "old", "kept for journal_days (0 here), then pruned")
    processed = state.inbox_add("woocommerce", "order.updated", "1", b"{}", {})
    state.inbox_done(processed)
    waiting = state.inbox_add("woocommerce", "order.updated", "2", b"{}", {})
    metrics = tmp_path / "wcbc.prom"
    with command_run(ctx, "sync-orders", metrics_file=metrics, source=source,
                     state=None if source == "cron" else state) as run:
        run.summary = {"booked": 2}
    assert runs(state) == [{"command": run_label("sync-orders", source), "outcome": "ok"}]
    assert state.journal_for("order:1") == []
    assert state.inbox_get(processed) is None and state.inbox_get(waiting) is not None  # only processed ones
    text = metrics.read_text()
    assert 'command="sync-orders"' in text and "booked" in text
    assert receiver.gets == ["/ping"]
    state.close()


def test_a_failing_run_is_recorded_as_error_and_sends_no_heartbeat(tmp_path: Path,
                                                                   receiver: Receiver) -> None:
    ctx = make_ctx(tmp_path, receiver.url + "/ping")
    state = State(ctx.config.state.path)
    with pytest.raises(RuntimeError), command_run(ctx, "sync-items", source="serve", state=state):
        raise RuntimeError("boom")
    assert runs(state) == [{"command": "sync-items (serve)", "outcome": "error"}]
    assert receiver.gets == []
    state.close()


def test_a_held_lock_raises_lockheld_and_records_nothing(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    state = State(ctx.config.state.path)
    with run_lock(ctx.config.state.path, "sync-orders"), pytest.raises(LockHeld):  # noqa: SIM117
        with command_run(ctx, "sync-orders", source="serve", state=state):
            raise AssertionError("must not run")
    assert runs(state) == []
    state.close()


def test_run_label_knows_its_sources() -> None:
    assert run_label("sync-orders", "cron") == "sync-orders"
    assert run_label("sync-orders", "serve") == "sync-orders (serve)"
    with pytest.raises(ValueError):
        run_label("sync-orders", "elsewhere")


def test_a_long_lived_context_counts_only_each_runs_own_calls(tmp_path: Path) -> None:
    """serve keeps its clients (and their counters) for its whole life: each round adds only its calls."""
    import collections

    from wcbc.ops.metrics import parse_series

    ctx = make_ctx(tmp_path)
    ctx.woo = SimpleNamespace(calls=collections.Counter(), retries=collections.Counter())
    metrics = tmp_path / "wcbc.prom"
    with State(ctx.config.state.path) as state:
        for calls in (3, 2):
            with command_run(ctx, "sync-orders", metrics_file=metrics, source="serve", state=state):
                ctx.woo.calls["GET /orders"] += calls
    series = parse_series(metrics.read_text())
    total = [v for (name, labels), v in series.items()
             if name == "wcbc_api_calls_total" and ("system", "woocommerce") in labels]
    assert total == [5.0]  # 3 + 2, not 3 + 5
