"""Records: one row per synced object with its status, attempts and last (redacted) error."""

from __future__ import annotations

from typing import Any

from wcbc.core.state.base import StateBase
from wcbc.core.state.codec import RECORD_STATUSES, dump, equal, load, select
from wcbc.core.time import normalise_ts


class Records(StateBase):
    @staticmethod
    def _record(row: dict[str, Any]) -> dict[str, Any]:
        row["data"] = load(row["data"])
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
             None if data is None else self._redact(dump(data)), now, now, attempts],
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
        where, params = equal(status=status, kind=kind)
        if since is not None:
            where.append("updated_at >= ?")
            params.append(normalise_ts(since))
        sql = select("records", where, "updated_at, id")
        return [self._record(r) for r in self._rows(sql, params)]

    def counts(self) -> dict[str, int]:
        """Number of records per status (every known status is present, zero included)."""
        out = dict.fromkeys(RECORD_STATUSES, 0)
        for row in self._rows("SELECT status, COUNT(*) AS n FROM records GROUP BY status"):
            out[row["status"]] = row["n"]
        return out
