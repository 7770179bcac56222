"""The webhook inbox: deliveries stored at once, claimed by workers with a lease, done, failed or retried."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from wcbc.core.state.base import StateBase
from wcbc.core.state.codec import dump, equal, keep_header, load, select
from wcbc.core.time import iso_micro


class Inbox(StateBase):
    def prune_inbox(self, days: int) -> int:
        """Delete inbox rows done more than ``days`` days ago; returns how many."""
        cutoff = iso_micro(self._clock() - timedelta(days=days))
        with self._tx():
            return self.db.execute("DELETE FROM inbox WHERE status = 'done' AND processed_at < ?",
                                   [cutoff]).rowcount

    @staticmethod
    def _inbox(row: dict[str, Any]) -> dict[str, Any]:
        row["headers"] = load(row["headers"]) or {}
        row["body"] = bytes(row["body"])
        return row

    def inbox_add(self, source: str, topic: str, resource_id: str | None, body: bytes,
                  headers: dict[str, str] | None = None) -> int:
        """Store a delivery (pending) in one transaction; credential and signature headers are dropped."""
        kept = {k: v for k, v in (headers or {}).items() if keep_header(k)}
        with self._tx():
            cursor = self.db.execute(
                """INSERT INTO inbox (source, topic, resource_id, body, body_hash, headers, received_at,
                   status, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0)""",
                [source, topic, None if resource_id is None else str(resource_id), bytes(body),
                 hashlib.sha256(body).hexdigest(), dump(kept), self._now()],
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
                [source, iso_micro(now), int(limit)],
            )]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            self.db.execute(
                f"""UPDATE inbox SET status = 'claimed', claimed_by = ?, lease_until = ?,
                    attempts = attempts + 1 WHERE id IN ({marks})""",  # noqa: S608 - placeholders only
                [worker, iso_micro(now + timedelta(seconds=lease_seconds)), *ids],
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
        rows = self._rows("SELECT MIN(received_at) AS t FROM inbox WHERE status IN ('pending', 'claimed')")
        return rows[0]["t"] if rows and rows[0]["t"] else None

    def inbox_newest(self, source: str) -> str | None:
        """``received_at`` of the newest delivery from ``source`` (any status), or None."""
        rows = self._rows("SELECT MAX(received_at) AS t FROM inbox WHERE source = ?", [source])
        return str(rows[0]["t"]) if rows and rows[0]["t"] else None

    def inbox_get(self, inbox_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM inbox WHERE id = ?", [inbox_id])
        return self._inbox(rows[0]) if rows else None

    def inbox_list(self, status: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        where, params = equal(status=status, source=source)
        sql = select("inbox", where, "id")
        return [self._inbox(r) for r in self._rows(sql, params)]
