"""Is the file sound? ``PRAGMA quick_check`` on open (at most every few hours) and on demand for doctor."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from wcbc.core.errors import StateError
from wcbc.core.state.base import StateBase
from wcbc.core.state.failures import RESTORE_HINT
from wcbc.core.time import iso_micro, parse

# quick_check reads every page (0.15 s for a 70 MB file here, warm cache): once per interval is cheap for cron
QUICK_CHECK_EVERY = timedelta(hours=6)
_MARKER = "quick_check_at"


class Integrity(StateBase):
    def integrity_check(self, *, full: bool = False) -> list[str]:
        """The problems SQLite finds in the file ([] when sound): ``PRAGMA quick_check``, or with ``full``
        the slower ``PRAGMA integrity_check`` (indexes against their tables too). For `wcbc doctor`;
        a sound result is remembered so that opening the file skips its own check for a while."""
        pragma = "integrity_check" if full else "quick_check"
        try:
            with self._lock:
                found = [str(row[0]) for row in self.db.execute(f"PRAGMA {pragma}(20)").fetchall()]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        problems = [] if found == ["ok"] else found
        if not problems:
            self._mark_checked()
        return problems

    def _check_on_open(self) -> None:
        """quick_check unless one passed less than QUICK_CHECK_EVERY ago; a damaged file is refused."""
        if self._has_table("meta"):
            rows = self._rows("SELECT value FROM meta WHERE key = ?", [_MARKER])
            last = parse(rows[0]["value"]) if rows else None
            if last is not None and timedelta(0) <= self._clock() - last < QUICK_CHECK_EVERY:
                return
        problems = self.integrity_check()
        if problems:
            found = "; ".join(problems[:3])
            raise StateError(f"state file {self.path} is damaged (SQLite quick_check: {found})",
                             hint=RESTORE_HINT)

    def _mark_checked(self) -> None:
        if not self._has_table("meta"):
            return
        with self._tx():
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                            "SET value = excluded.value", [_MARKER, iso_micro(self._clock())])
