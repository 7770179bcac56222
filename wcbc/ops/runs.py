"""One command run: the run lock, a row in `runs`, its outcome, metrics and the heartbeat."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcbc.core.lock import run_lock


@dataclass
class Run:
    id: int
    command: str
    outcome: str = "ok"
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def command_run(ctx: Any, command: str, *, metrics_file: Path | None = None) -> Iterator[Run]:
    """Hold the lock for `command`, record the run, and always record how it ended."""
    with run_lock(ctx.config.state.path, command):
        started = time.monotonic()
        run = Run(ctx.state.run_start(command), command)
        try:
            yield run
        except BaseException as exc:
            ctx.state.run_finish(run.id, "error", {**run.summary, "error": str(exc)[:500]})
            _after_run(ctx, run, "error", started, metrics_file)
            raise
        ctx.state.run_finish(run.id, run.outcome, run.summary)
        # The journal is append-only and kept for [state] journal_days, then pruned.
        ctx.state.prune_journal(ctx.config.state.journal_days)
        _after_run(ctx, run, run.outcome, started, metrics_file)


def _after_run(ctx: Any, run: Run, outcome: str, started: float, metrics_file: Path | None) -> None:
    """Metrics for node_exporter's textfile collector, then the dead-man's-switch ping (never raise)."""
    from wcbc.adapters.alerts import ping_heartbeat
    from wcbc.ops.metrics import record_run

    record_run(
        ctx,
        metrics_file,
        command=run.command,
        outcome=outcome,
        summary=run.summary,
        duration_s=time.monotonic() - started,
    )
    if outcome == "ok":
        ping_heartbeat(ctx.config.alerts, verify=ctx.config.verify())
