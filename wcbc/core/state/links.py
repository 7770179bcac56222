"""Links: which BC record a WooCommerce object (order, customer, product, item) corresponds to."""

from __future__ import annotations

from typing import Any

from wcbc.core.state.base import StateBase
from wcbc.core.state.codec import dump, load


class Links(StateBase):
    @staticmethod
    def _link(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is not None:
            row["data"] = load(row["data"])
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
                 None if data is None else dump(data), self._now()],
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
            row["data"] = load(row["data"])
        return rows
