"""``State``: the state database, assembled from one part per table group."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from wcbc.core.config.model import COPY_WINDOW_HOURS
from wcbc.core.state.cursors import Cursors
from wcbc.core.state.inbox import Inbox
from wcbc.core.state.instance import Instance
from wcbc.core.state.integrity import Integrity
from wcbc.core.state.journal import Journal
from wcbc.core.state.links import Links
from wcbc.core.state.records import Records
from wcbc.core.state.runs import Conflicts, Runs, Subscriptions

if TYPE_CHECKING:
    from wcbc.core.config import StateConfig

COPY_WINDOW = timedelta(hours=COPY_WINDOW_HOURS)


class State(Links, Records, Journal, Cursors, Inbox, Runs, Subscriptions, Conflicts, Integrity, Instance):
    """The state database. Use as a context manager, or call :meth:`close`.

    Opening it migrates the schema, runs ``PRAGMA quick_check`` when the last one is older than a few
    hours, and checks that no copy of the file is in use elsewhere (``on_copy``, ``copy_window``,
    ``take_over``: see :mod:`wcbc.core.state.instance`). Every failure is a StateError (exit 2).
    """

    def __init__(
        self,
        path: Path,
        *,
        redact: Callable[[str], str] | None = None,
        clock: Callable[[], datetime] | None = None,
        on_copy: str = "refuse",
        copy_window: timedelta = COPY_WINDOW,
        take_over: bool = False,
    ) -> None:
        self._open(path, redact, clock)
        try:
            self._check_on_open()
            self._claim_instance(on_copy, copy_window, take_over)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_config(cls, config: StateConfig, *, redact: Callable[[str], str] | None = None,
                    take_over: bool = False) -> State:
        """Open the state file of a configuration's ``[state]`` section (path, on_copy, copy_window)."""
        return cls(config.path, redact=redact, on_copy=config.on_copy,
                   copy_window=timedelta(hours=config.copy_window_hours), take_over=take_over)

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def take_over(path: Path, *, redact: Callable[[str], str] | None = None) -> dict[str, object]:
    """Make this host the only user of the state file at ``path`` (after stopping the other copy);
    returns :meth:`State.instance` as it is afterwards."""
    with State(path, redact=redact, take_over=True) as state:
        return state.instance()
