"""Progress of long runs (reconcile, backfills): a bar on a terminal, log lines elsewhere, else nothing.

::

    with progress(total, "reconcile: products", console=err, enabled=not (quiet or json)) as advance:
        for product in products:
            ...
            advance()          # or advance(len(page))

* ``enabled=False`` (``--quiet``, ``--json``): ``advance`` does nothing and nothing is printed.
* ``console.is_terminal``: a rich progress bar on that console (pass the stderr console, so that stdout
  stays clean for ``--json`` and pipes). ``total=None`` shows a spinner with a running count.
* otherwise (cron, systemd, a pipe): an INFO line on the ``wcbc.ops.progress`` logger every ``every`` records
  (default: a tenth of ``total``, else 1000) or every ``interval_s`` seconds, whichever comes first, and a
  last line with the count when the block ends ("finished", or "stopped" when an exception ends it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("wcbc.progress")

Advance = Callable[..., None]  # advance(n: int = 1) -> None


def _noop(n: int = 1) -> None:
    return None


def _default_every(total: int | None) -> int:
    if total:
        return max(1, total // 10)
    return 1000


@contextmanager
def progress(
    total: int | None,
    description: str,
    *,
    console: Console,
    enabled: bool,
    every: int | None = None,
    interval_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Advance]:
    """Yield ``advance(n=1)``; see the module docstring for what each mode shows."""
    if not enabled:
        yield _noop
        return
    if console.is_terminal:
        with _bar(total, description, console) as advance:
            yield advance
        return
    with _log_lines(total, description, every or _default_every(total), interval_s, clock) as advance:
        yield advance


@contextmanager
def _bar(total: int | None, description: str, console: Console) -> Iterator[Advance]:
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    if total:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


@contextmanager
def _log_lines(
    total: int | None, description: str, every: int, interval_s: float, clock: Callable[[], float]
) -> Iterator[Advance]:
    started = clock()
    done = 0
    last_count = 0
    last_time = started

    def line(n: int) -> str:
        if total:
            return f"{description}: {n}/{total} ({100 * n // total}%)"
        return f"{description}: {n}"

    def advance(n: int = 1) -> None:
        nonlocal done, last_count, last_time
        done += n
        now = clock()
        if done - last_count >= every or now - last_time >= interval_s:
            log.info("%s, %.0f s", line(done), now - started)
            last_count, last_time = done, now

    try:
        yield advance
    except BaseException:
        log.info("%s, stopped after %.0f s", line(done), clock() - started)
        raise
    log.info("%s, finished in %.0f s", line(done), clock() - started)
