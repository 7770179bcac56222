"""One command run, for cron and for ``wcbc serve`` alike: the run lock, a row in ``runs``, its outcome,
journal pruning, metrics and the heartbeat.

Cron runs (``source="cron"``) raise :class:`~wcbc.core.errors.LockHeld` when another run holds the lock
(the CLI exits 0). The serve worker (``source="serve"``) catches it and skips its round: the running
command drains the same inbox. Its run rows are named ``"<command> (serve)"``; it passes its own
``state`` (a SQLite connection belongs to the thread that opened it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcbc.core.lock import run_lock

SOURCES = ("cron", "serve")


@dataclass
class Run:
    id: int
    command: str
    outcome: str = "ok"
    summary: dict[str, Any] = field(default_factory=dict)
    source: str = "cron"

    def finish(self, summary: dict[str, Any], *, failed: bool) -> None:
        """What the run did, recorded when the block ends: outcome "failed" when records failed."""
        self.summary = summary
        self.outcome = "failed" if failed else "ok"


def run_label(command: str, source: str) -> str:
    """The name of a run row: the command, with `` (serve)`` for the serve worker's runs."""
    if source not in SOURCES:
        raise ValueError(f"unknown run source {source!r}")
    return command if source == "cron" else f"{command} ({source})"


@contextmanager
def command_run(
    ctx: Any,
    command: str,
    *,
    metrics_file: Path | None = None,
    source: str = "cron",
    state: Any = None,
    wait: float = 0.0,
) -> Iterator[Run]:
    """Hold the lock for ``command`` (waiting up to ``wait`` seconds), record the run, and always record
    how it ended. ``state`` defaults to ``ctx.state``."""
    from wcbc.ops.metrics import api_counters

    label = run_label(command, source)
    with run_lock(ctx.config.state.path, command, wait=wait):
        state = ctx.state if state is None else state
        started = (time.monotonic(), api_counters(ctx))
        run = Run(state.run_start(label), command, source=source)
        try:
            yield run
        except BaseException as exc:
            # redacted before it is cut: a secret cut in half would no longer be recognised
            state.run_finish(run.id, "error", {**run.summary, "error": redactor_of(ctx)(str(exc))[:500]})
            _after_run(ctx, state, run, "error", started, metrics_file)
            raise
        state.run_finish(run.id, run.outcome, run.summary)
        # The journal is append-only and kept for [state] journal_days, then pruned; so are the webhook
        # deliveries already processed (pending and failed ones are kept whatever their age).
        state.prune_journal(ctx.config.state.journal_days)
        state.prune_inbox(ctx.config.state.journal_days)
        _after_run(ctx, state, run, run.outcome, started, metrics_file)


def redactor_of(ctx: Any) -> Callable[[str], str]:
    """The context's redactor; the pattern-only one when it has none (or its vault cannot be read)."""
    from wcbc.core.errors import WcbcError
    from wcbc.core.redact import Redactor

    try:
        redactor = getattr(ctx, "redactor", None)
    except WcbcError:
        redactor = None
    return redactor if callable(redactor) else Redactor()


def _after_run(
    ctx: Any, state: Any, run: Run, outcome: str, started: tuple[float, Any], metrics_file: Path | None
) -> None:
    """Metrics for node_exporter's textfile collector, then the dead-man's-switch ping (never raise)."""
    from wcbc.adapters.alerts import ping_heartbeat
    from wcbc.ops.metrics import record_run

    record_run(
        ctx,
        metrics_file,
        command=run.command,
        outcome=outcome,
        summary=run.summary,
        duration_s=time.monotonic() - started[0],
        state=state,
        baseline=started[1],
    )
    if outcome == "ok":
        ping_heartbeat(ctx.config.alerts, verify=ctx.config.verify())
