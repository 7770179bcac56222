"""The connection under every part of :class:`~wcbc.core.state.State`: opening the file, transactions,
reads, and SQLite failures turned into :class:`~wcbc.core.errors.StateError`.

One connection is shared by every thread of the process (``wcbc serve`` stores deliveries from
request threads while workers drain the inbox); a re-entrant lock serialises its use and every
write runs in ``BEGIN IMMEDIATE`` so that several processes can share the file safely.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from wcbc.core.errors import StateError
from wcbc.core.redact import Redactor
from wcbc.core.state import migrations as schema
from wcbc.core.state.failures import RESTORE_HINT, translate
from wcbc.core.time import iso_micro, utcnow

BUSY_TIMEOUT_MS = 30_000


class StateBase:
    """Opening, transactions and reads; the tables' own methods live in the mixins of ``State``."""

    path: Path
    db: sqlite_utils.Database

    def _open(self, path: Path, redact: Callable[[str], str] | None,
              clock: Callable[[], datetime] | None) -> None:
        self.path = Path(path).expanduser()
        # whatever the caller gives, stored text is at least pattern-redacted (Authorization headers,
        # Basic/Bearer credentials, ck_/cs_ keys, credential fields)
        self._redact: Callable[[str], str] = redact or Redactor()
        self._clock = clock or utcnow
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _tx() in the thread holding _lock
        self._closed = False
        self._create_file()
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise translate(exc, self.path) or StateError(
                f"state file {self.path} cannot be opened: {exc}") from None
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StateError(f"state file {self.path} cannot use WAL mode (got {mode})")
            # WAL + NORMAL: a committed transaction survives any process crash (SIGKILL included);
            # only a power loss can drop the last commits, and BC's externalDocumentNumber lookup
            # settles those. FULL would fsync on every commit (about 1.4 ms each on this class of disk).
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            known = translate(exc, self.path)
            if known is not None and known.hint != RESTORE_HINT:  # disk full, read-only, locked...
                raise known from None
            raise StateError(f"state file {self.path} is not a usable wcbc state database ({exc})",
                             hint=RESTORE_HINT) from None
        except BaseException:
            conn.close()
            raise

    def _create_file(self) -> None:
        if self.path.exists():
            return
        try:
            self.path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise StateError(f"state file {self.path} cannot be created: {exc.strerror}") from None
        os.close(fd)

    def _migrate(self) -> None:
        known = [name for name, _ in schema.MIGRATIONS]
        with self._tx():
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            applied = [row[0] for row in self.db.execute("SELECT name FROM migrations ORDER BY name")]
            for name in applied:
                if name not in known:
                    raise StateError(
                        f"state file {self.path} was written by a newer wcbc (migration '{name}'); "
                        "upgrade wcbc"
                    )
            for name, apply in schema.MIGRATIONS:
                if name in applied:
                    continue
                apply(self.db)
                self.db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                                [name, self._now()])

    def migrations(self) -> list[str]:
        """Names of the migrations applied to this file."""
        return [row["name"] for row in self._rows("SELECT name FROM migrations ORDER BY name")]

    def _has_table(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", [name]))

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many writes into one transaction (all or nothing), e.g. the links of a batch write."""
        with self._tx():
            yield

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite failures with a known cause (disk full, read-only, damaged...) become StateError."""
        try:
            yield
        except sqlite3.Error as exc:
            known = translate(exc, self.path)
            if known is None:
                raise
            raise known from exc

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE) holding the thread lock; nested calls join it."""
        with self._lock:
            if self._closed:
                raise StateError(f"state file {self.path} is closed")
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self._guard(), self._outer_tx():
                    yield
            finally:
                self._depth = 0

    @contextmanager
    def _outer_tx(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Roll back what is left of a failed transaction (SQLite may have done it already: disk full)."""
        if self.db.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock, self._guard():
            if self._closed:
                raise StateError(f"state file {self.path} is closed")
            cursor = self.db.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _seen(self) -> None:
        """Record this host's activity; see :mod:`wcbc.core.state.instance`."""

    def _now(self) -> str:
        return iso_micro(self._clock())
