"""The journal: every step of every record (redacted), pruned after ``journal_days``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wcbc.core.state.base import StateBase
from wcbc.core.state.codec import dump, load
from wcbc.core.time import iso_micro


class Journal(StateBase):
    def journal(self, record_id: str, step: str, detail: dict[str, Any] | str | None = None, *,
                run_id: int | None = None) -> None:
        """Append a journal row; ``detail`` is JSON-serialised (unless a string) and redacted."""
        text = None if detail is None else self._redact(detail if isinstance(detail, str) else dump(detail))
        with self._tx():
            self.db.execute(
                "INSERT INTO journal (record_id, run_id, ts, step, detail) VALUES (?, ?, ?, ?, ?)",
                [record_id, run_id, self._now(), step, text],
            )

    def journal_for(self, record_id: str) -> list[dict[str, Any]]:
        """The record's journal, oldest first; ``detail`` is decoded when it is JSON."""
        rows = self._rows("SELECT * FROM journal WHERE record_id = ? ORDER BY id", [record_id])
        for row in rows:
            row["detail"] = load(row["detail"])
        return rows

    def prune_journal(self, days: int) -> int:
        """Delete journal rows older than ``days`` days; returns how many."""
        cutoff = iso_micro(self._clock() - timedelta(days=days))
        with self._tx():
            return self.db.execute("DELETE FROM journal WHERE ts < ?", [cutoff]).rowcount
