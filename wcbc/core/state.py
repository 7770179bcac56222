"""The local state database: links, records, journal, cursors, webhook inbox, subscriptions, runs.

One SQLite file (WAL, busy timeout, mode 0600), opened through sqlite-utils. The schema is a list
of named migrations recorded in the ``migrations`` table: a newer wcbc upgrades an older file; an
older wcbc refuses a file that holds a migration it does not know.

One connection is shared by every thread of the process (``wcbc serve`` stores deliveries from
request threads while workers drain the inbox); a re-entrant lock serialises its use and every
write runs in ``BEGIN IMMEDIATE`` so that several processes can share the file safely.

Timestamps are ISO-8601 UTC with a ``Z`` (``2026-01-31T12:00:00.123456Z``): they sort as text.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from wcbc.core.errors import StateError

RECORD_STATUSES = ("pending", "done", "failed", "on_hold", "skipped", "conflict")
INBOX_STATUSES = ("pending", "claimed", "done", "failed")
LINK_KINDS = ("order", "customer", "product", "item")
BUSY_TIMEOUT_MS = 30_000

# headers never stored with an inbox delivery (credentials and signatures)
_DROPPED_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-wc-webhook-signature")
_DROPPED_HEADER_WORDS = ("signature", "secret", "token", "clientstate", "api-key", "apikey", "password")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_ts(value: str | datetime) -> str:
    """Any ISO-8601 timestamp (naive = UTC) in the form stored in the database."""
    if isinstance(value, datetime):
        return iso(value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return iso(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None


# --------------------------------------------------------------------------- migrations


def _m0001_core(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE links (
            kind TEXT NOT NULL, woo_id TEXT NOT NULL, bc_id TEXT NOT NULL, bc_number TEXT,
            data TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (kind, woo_id))""")
    db.execute("CREATE INDEX idx_links_kind_bc ON links (kind, bc_id)")
    db.execute("""
        CREATE TABLE records (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, data TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_records_status ON records (status)")
    db.execute("""
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, run_id INTEGER,
            ts TEXT NOT NULL, step TEXT NOT NULL, detail TEXT)""")
    db.execute("CREATE INDEX idx_journal_record ON journal (record_id)")
    db.execute("CREATE INDEX idx_journal_ts ON journal (ts)")
    db.execute("CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT, summary TEXT)""")
    db.execute("CREATE INDEX idx_runs_command ON runs (command)")


def _m0002_inbox(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, topic TEXT NOT NULL,
            resource_id TEXT, body BLOB NOT NULL, body_hash TEXT NOT NULL, headers TEXT,
            received_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', claimed_by TEXT,
            lease_until TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, processed_at TEXT)""")
    db.execute("CREATE INDEX idx_inbox_status_source ON inbox (status, source)")
    db.execute("CREATE INDEX idx_inbox_body_hash ON inbox (body_hash)")


def _m0003_subscriptions_conflicts(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY, resource TEXT NOT NULL, notification_url TEXT NOT NULL,
            expiration TEXT NOT NULL, etag TEXT, updated_at TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, detected_at TEXT NOT NULL,
            detail TEXT, resolved_at TEXT)""")
    db.execute("CREATE INDEX idx_conflicts_record ON conflicts (record_id)")


Migration = tuple[str, Callable[[sqlite_utils.Database], None]]

MIGRATIONS: list[Migration] = [
    ("0001_core", _m0001_core),
    ("0002_inbox", _m0002_inbox),
    ("0003_subscriptions_conflicts", _m0003_subscriptions_conflicts),
]


# --------------------------------------------------------------------------- helpers


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _select(table: str, clauses: list[str], order: str) -> str:
    """SELECT * from fixed SQL fragments (values always go through ? placeholders)."""
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return f"SELECT * FROM {table}{where} ORDER BY {order}"  # noqa: S608 - no user text in here


def _keep_header(name: str) -> bool:
    lower = name.lower()
    if lower in _DROPPED_HEADERS:
        return False
    return not any(word in lower for word in _DROPPED_HEADER_WORDS)


class State:
    """The state database. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        path: Path,
        *,
        redact: Callable[[str], str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self._redact = redact or (lambda text: text)
        self._clock = clock or utc_now
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _tx() in the thread holding _lock
        self._closed = False
        self._create_file()
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise StateError(f"state file {self.path} cannot be opened: {exc}") from None
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
            raise StateError(f"state file {self.path} is not a usable wcbc state database ({exc})") from None
        except StateError:
            conn.close()
            raise

    # ------------------------------------------------------------------ lifecycle

    def _create_file(self) -> None:
        if self.path.exists():
            return
        self.path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise StateError(f"state file {self.path} cannot be created: {exc.strerror}") from None
        os.close(fd)

    def _migrate(self) -> None:
        known = [name for name, _ in MIGRATIONS]
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
            for name, apply in MIGRATIONS:
                if name in applied:
                    continue
                apply(self.db)
                self.db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                                [name, self._now()])

    def migrations(self) -> list[str]:
        """Names of the migrations applied to this file."""
        with self._lock:
            return [row[0] for row in self.db.execute("SELECT name FROM migrations ORDER BY name")]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many writes into one transaction (all or nothing), e.g. the links of a batch write."""
        with self._tx():
            yield

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
                with self._outer_tx():
                    yield
            finally:
                self._depth = 0

    @contextmanager
    def _outer_tx(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _now(self) -> str:
        return iso(self._clock())

    # ------------------------------------------------------------------ links

    @staticmethod
    def _link(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is not None:
            row["data"] = _load(row["data"])
        return row

    def link_get(self, kind: str, woo_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM links WHERE kind = ? AND woo_id = ?", [kind, str(woo_id)])
        return self._link(rows[0]) if rows else None

    def link_by_bc(self, kind: str, bc_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM links WHERE kind = ? AND bc_id = ? ORDER BY updated_at DESC LIMIT 1",
                          [kind, str(bc_id)])
        return self._link(rows[0]) if rows else None

    def link_set(self, kind: str, woo_id: str, bc_id: str, bc_number: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        """Upsert a link; ``data=None`` keeps the stored data, ``bc_number=None`` keeps the stored number."""
        with self._tx():
            self.db.execute(
                """INSERT INTO links (kind, woo_id, bc_id, bc_number, data, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (kind, woo_id) DO UPDATE SET bc_id = excluded.bc_id,
                   bc_number = COALESCE(excluded.bc_number, bc_number),
                   data = COALESCE(excluded.data, data), updated_at = excluded.updated_at""",
                [kind, str(woo_id), str(bc_id), bc_number,
                 None if data is None else _dump(data), self._now()],
            )

    def link_set_many(self, kind: str, rows: list[tuple[str, str, str | None, dict[str, Any] | None]]) -> int:
        """Upsert many links ``(woo_id, bc_id, bc_number, data)`` in one transaction; returns how many."""
        with self._tx():
            for woo_id, bc_id, bc_number, data in rows:
                self.link_set(kind, woo_id, bc_id, bc_number, data)
        return len(rows)

    def link_delete(self, kind: str, woo_id: str) -> bool:
        with self._tx():
            cursor = self.db.execute("DELETE FROM links WHERE kind = ? AND woo_id = ?", [kind, str(woo_id)])
            return cursor.rowcount > 0

    def links(self, kind: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM links WHERE kind = ? ORDER BY woo_id", [kind])
        for row in rows:
            row["data"] = _load(row["data"])
        return rows

    # ------------------------------------------------------------------ records

    @staticmethod
    def _record(row: dict[str, Any]) -> dict[str, Any]:
        row["data"] = _load(row["data"])
        return row

    def record_get(self, record_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM records WHERE id = ?", [record_id])
        return self._record(rows[0]) if rows else None

    def _upsert_record(self, record_id: str, kind: str, key: str, status: str, *, error: str | None,
                       data: dict[str, Any] | None, attempts: int | None) -> None:
        if status not in RECORD_STATUSES:
            raise ValueError(f"unknown record status {status!r}")
        now = self._now()
        self.db.execute(
            """INSERT INTO records (id, kind, key, status, attempts, last_error, data, created_at, updated_at)
               VALUES (?, ?, ?, ?, COALESCE(?, 0), ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, key = excluded.key,
               status = excluded.status, attempts = COALESCE(?, attempts), last_error = excluded.last_error,
               data = COALESCE(excluded.data, data), updated_at = excluded.updated_at""",
            [record_id, kind, str(key), status, attempts, None if error is None else self._redact(error),
             None if data is None else self._redact(_dump(data)), now, now, attempts],
        )

    def record_put(self, record_id: str, kind: str, key: str, status: str, *, error: str | None = None,
                   data: dict[str, Any] | None = None) -> None:
        """Upsert a record; keeps ``attempts``; ``data=None`` keeps the stored data."""
        with self._tx():
            self._upsert_record(record_id, kind, key, status, error=error, data=data, attempts=None)

    def record_fail(self, record_id: str, kind: str, key: str, error: str, *, max_attempts: int) -> str:
        """attempts += 1; "failed", or "on_hold" once attempts >= max_attempts. Returns the status."""
        with self._tx():
            row = self.db.execute("SELECT attempts FROM records WHERE id = ?", [record_id]).fetchone()
            attempts = (row[0] if row else 0) + 1
            status = "on_hold" if attempts >= max_attempts else "failed"
            self._upsert_record(record_id, kind, key, status, error=error, data=None, attempts=attempts)
        return status

    def record_done(self, record_id: str, kind: str, key: str, *, data: dict[str, Any] | None = None) -> None:
        """status "done", attempts 0, error cleared."""
        with self._tx():
            self._upsert_record(record_id, kind, key, "done", error=None, data=data, attempts=0)

    def records(self, status: str | None = None, kind: str | None = None,
                since: str | None = None) -> list[dict[str, Any]]:
        """Records filtered by status, kind and ``updated_at >= since`` (any ISO timestamp)."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("updated_at >= ?")
            params.append(normalise_ts(since))
        sql = _select("records", where, "updated_at, id")
        return [self._record(r) for r in self._rows(sql, params)]

    def counts(self) -> dict[str, int]:
        """Number of records per status (every known status is present, zero included)."""
        out = dict.fromkeys(RECORD_STATUSES, 0)
        for row in self._rows("SELECT status, COUNT(*) AS n FROM records GROUP BY status"):
            out[row["status"]] = row["n"]
        return out

    # ------------------------------------------------------------------ journal

    def journal(self, record_id: str, step: str, detail: dict[str, Any] | str | None = None, *,
                run_id: int | None = None) -> None:
        """Append a journal row; ``detail`` is JSON-serialised (unless a string) and redacted."""
        text = None if detail is None else self._redact(detail if isinstance(detail, str) else _dump(detail))
        with self._tx():
            self.db.execute(
                "INSERT INTO journal (record_id, run_id, ts, step, detail) VALUES (?, ?, ?, ?, ?)",
                [record_id, run_id, self._now(), step, text],
            )

    def journal_for(self, record_id: str) -> list[dict[str, Any]]:
        """The record's journal, oldest first; ``detail`` is decoded when it is JSON."""
        rows = self._rows("SELECT * FROM journal WHERE record_id = ? ORDER BY id", [record_id])
        for row in rows:
            row["detail"] = _load(row["detail"])
        return rows

    def prune_journal(self, days: int) -> int:
        """Delete journal rows older than ``days`` days; returns how many."""
        cutoff = iso(self._clock() - timedelta(days=days))
        with self._tx():
            return self.db.execute("DELETE FROM journal WHERE ts < ?", [cutoff]).rowcount

    def prune_inbox(self, days: int) -> int:
        """Delete inbox rows done more than ``days`` days ago; returns how many."""
        cutoff = iso(self._clock() - timedelta(days=days))
        with self._tx():
            return self.db.execute("DELETE FROM inbox WHERE status = 'done' AND processed_at < ?",
                                   [cutoff]).rowcount

    # ------------------------------------------------------------------ cursors

    def cursor_get(self, name: str) -> str | None:
        rows = self._rows("SELECT value FROM cursors WHERE name = ?", [name])
        return rows[0]["value"] if rows else None

    def cursor_set(self, name: str, value: str) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                   updated_at = excluded.updated_at""",
                [name, str(value), self._now()],
            )

    def cursors(self) -> dict[str, str]:
        return {r["name"]: r["value"] for r in self._rows("SELECT name, value FROM cursors ORDER BY name")}

    # ------------------------------------------------------------------ inbox

    @staticmethod
    def _inbox(row: dict[str, Any]) -> dict[str, Any]:
        row["headers"] = _load(row["headers"]) or {}
        row["body"] = bytes(row["body"])
        return row

    def inbox_add(self, source: str, topic: str, resource_id: str | None, body: bytes,
                  headers: dict[str, str] | None = None) -> int:
        """Store a delivery (pending) in one transaction; credential and signature headers are dropped."""
        kept = {k: v for k, v in (headers or {}).items() if _keep_header(k)}
        with self._tx():
            cursor = self.db.execute(
                """INSERT INTO inbox (source, topic, resource_id, body, body_hash, headers, received_at,
                   status, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0)""",
                [source, topic, None if resource_id is None else str(resource_id), bytes(body),
                 hashlib.sha256(body).hexdigest(), _dump(kept), self._now()],
            )
            return int(cursor.lastrowid or 0)

    def inbox_claim(self, source: str, *, limit: int = 100, worker: str,
                    lease_seconds: int = 300) -> list[dict[str, Any]]:
        """Atomically claim up to ``limit`` rows (pending, or claimed with an expired lease), oldest first.

        Each claim counts as an attempt. Safe across threads and processes (BEGIN IMMEDIATE).
        """
        now = self._clock()
        with self._tx():
            ids = [row[0] for row in self.db.execute(
                """SELECT id FROM inbox WHERE source = ? AND (status = 'pending'
                   OR (status = 'claimed' AND lease_until < ?)) ORDER BY id LIMIT ?""",
                [source, iso(now), int(limit)],
            )]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            self.db.execute(
                f"""UPDATE inbox SET status = 'claimed', claimed_by = ?, lease_until = ?,
                    attempts = attempts + 1 WHERE id IN ({marks})""",  # noqa: S608 - placeholders only
                [worker, iso(now + timedelta(seconds=lease_seconds)), *ids],
            )
            rows = self._rows(f"SELECT * FROM inbox WHERE id IN ({marks}) ORDER BY id", ids)  # noqa: S608
        return [self._inbox(r) for r in rows]

    def inbox_done(self, inbox_id: int) -> None:
        with self._tx():
            self.db.execute(
                """UPDATE inbox SET status = 'done', processed_at = ?, lease_until = NULL, last_error = NULL
                   WHERE id = ?""",
                [self._now(), inbox_id],
            )

    def inbox_fail(self, inbox_id: int, error: str) -> None:
        with self._tx():
            self.db.execute(
                """UPDATE inbox SET status = 'failed', processed_at = ?, lease_until = NULL, last_error = ?
                   WHERE id = ?""",
                [self._now(), self._redact(error), inbox_id],
            )

    def inbox_retry(self, inbox_id: int) -> None:
        """Put a failed (or claimed) delivery back to pending (for replay)."""
        with self._tx():
            self.db.execute(
                "UPDATE inbox SET status = 'pending', claimed_by = NULL, lease_until = NULL WHERE id = ?",
                [inbox_id],
            )

    def inbox_backlog(self, source: str | None = None) -> int:
        """Deliveries not yet processed (pending or claimed)."""
        sql = "SELECT COUNT(*) AS n FROM inbox WHERE status IN ('pending', 'claimed')"
        params: list[Any] = []
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        return int(self._rows(sql, params)[0]["n"])

    def inbox_oldest_pending(self) -> str | None:
        """``received_at`` of the oldest delivery not yet done or failed (pending or claimed), or None."""
        row = self.db.execute(
            "SELECT MIN(received_at) FROM inbox WHERE status IN ('pending', 'claimed')"
        ).fetchone()
        return row[0] if row and row[0] else None

    def inbox_newest(self, source: str) -> str | None:
        """``received_at`` of the newest delivery from ``source`` (any status), or None."""
        row = self.db.execute("SELECT MAX(received_at) FROM inbox WHERE source = ?", [source]).fetchone()
        return str(row[0]) if row and row[0] else None

    def inbox_get(self, inbox_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM inbox WHERE id = ?", [inbox_id])
        return self._inbox(rows[0]) if rows else None

    def inbox_list(self, status: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if source is not None:
            where.append("source = ?")
            params.append(source)
        sql = _select("inbox", where, "id")
        return [self._inbox(r) for r in self._rows(sql, params)]

    # ------------------------------------------------------------------ subscriptions

    def subscription_put(self, subscription_id: str, resource: str, notification_url: str,
                         expiration: str, etag: str | None) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO subscriptions (id, resource, notification_url, expiration, etag, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET resource = excluded.resource,
                   notification_url = excluded.notification_url, expiration = excluded.expiration,
                   etag = excluded.etag, updated_at = excluded.updated_at""",
                [subscription_id, resource, notification_url, expiration, etag, self._now()],
            )

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM subscriptions ORDER BY resource, id")

    def subscription_delete(self, subscription_id: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM subscriptions WHERE id = ?", [subscription_id])

    # ------------------------------------------------------------------ runs

    def run_start(self, command: str) -> int:
        with self._tx():
            cursor = self.db.execute("INSERT INTO runs (command, started_at) VALUES (?, ?)",
                                     [command, self._now()])
            return int(cursor.lastrowid or 0)

    def run_finish(self, run_id: int, outcome: str, summary: dict[str, Any]) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, summary = ? WHERE id = ?",
                [self._now(), outcome, self._redact(_dump(summary)), run_id],
            )

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The latest run of each command: {command: row} (summary decoded)."""
        rows = self._rows(
            "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY command) ORDER BY command"
        )
        out = {}
        for row in rows:
            row["summary"] = _load(row["summary"])
            out[row["command"]] = row
        return out

    # ------------------------------------------------------------------ conflicts

    def conflict_add(self, record_id: str, detail: dict[str, Any]) -> int:
        with self._tx():
            cursor = self.db.execute(
                "INSERT INTO conflicts (record_id, detected_at, detail) VALUES (?, ?, ?)",
                [record_id, self._now(), self._redact(_dump(detail))],
            )
            return int(cursor.lastrowid or 0)

    def conflicts(self, open_only: bool = True) -> list[dict[str, Any]]:
        sql = _select("conflicts", ["resolved_at IS NULL"] if open_only else [], "id")
        rows = self._rows(sql)
        for row in rows:
            row["detail"] = _load(row["detail"])
        return rows

    def conflict_resolve(self, conflict_id: int) -> None:
        with self._tx():
            self.db.execute("UPDATE conflicts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                            [self._now(), conflict_id])
