"""One command run: the run lock, a row in `runs`, and its outcome."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wcbc.lock import run_lock


@dataclass
class Run:
    id: int
    command: str
    outcome: str = "ok"
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def command_run(ctx: Any, command: str) -> Iterator[Run]:
    """Hold the lock for `command`, record the run, and always record how it ended."""
    with run_lock(ctx.config.state.path, command):
        run = Run(ctx.state.run_start(command), command)
        try:
            yield run
        except BaseException as exc:
            ctx.state.run_finish(run.id, "error", {**run.summary, "error": str(exc)[:500]})
            raise
        ctx.state.run_finish(run.id, run.outcome, run.summary)
        # The journal is append-only and kept for [state] journal_days, then pruned.
        ctx.state.prune_journal(ctx.config.state.journal_days)
