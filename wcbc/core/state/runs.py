"""Runs (one row per command run with its redacted summary), BC subscriptions and conflicts."""

from __future__ import annotations

from typing import Any

from wcbc.core.state.base import StateBase
from wcbc.core.state.codec import dump, load, select


class Runs(StateBase):
    def run_start(self, command: str) -> int:
        with self._tx():
            self._seen()
            cursor = self.db.execute("INSERT INTO runs (command, started_at) VALUES (?, ?)",
                                     [command, self._now()])
            return int(cursor.lastrowid or 0)

    def run_finish(self, run_id: int, outcome: str, summary: dict[str, Any]) -> None:
        with self._tx():
            self._seen()
            self.db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, summary = ? WHERE id = ?",
                [self._now(), outcome, self._redact(dump(summary)), run_id],
            )

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The latest run of each command: {command: row} (summary decoded)."""
        rows = self._rows(
            "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY command) ORDER BY command"
        )
        out = {}
        for row in rows:
            row["summary"] = load(row["summary"])
            out[row["command"]] = row
        return out


class Subscriptions(StateBase):
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


class Conflicts(StateBase):
    def conflict_add(self, record_id: str, detail: dict[str, Any]) -> int:
        with self._tx():
            cursor = self.db.execute(
                "INSERT INTO conflicts (record_id, detected_at, detail) VALUES (?, ?, ?)",
                [record_id, self._now(), self._redact(dump(detail))],
            )
            return int(cursor.lastrowid or 0)

    def conflicts(self, open_only: bool = True) -> list[dict[str, Any]]:
        sql = select("conflicts", ["resolved_at IS NULL"] if open_only else [], "id")
        rows = self._rows(sql)
        for row in rows:
            row["detail"] = load(row["detail"])
        return rows

    def conflict_resolve(self, conflict_id: int) -> None:
        with self._tx():
            self.db.execute("UPDATE conflicts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                            [self._now(), conflict_id])
