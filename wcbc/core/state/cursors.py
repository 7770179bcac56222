"""Cursors: named bookmarks (the polls' high-water marks)."""

from __future__ import annotations

from wcbc.core.state.base import StateBase


class Cursors(StateBase):
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
