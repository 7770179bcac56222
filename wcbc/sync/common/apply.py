"""The apply step's bookkeeping: the only way a sync records what it did.

Every journal row carries the run id. What settles a record (its link, its record row and the journal
row saying so) is committed in ONE transaction, so a crash leaves either all of it or none of it: no
repair code is needed for a half-written outcome. HTTP stays in the adapters; the apply step of each
sync calls them and then one of the methods below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Link:
    """A row of the links table: this external id is that BC document/item/customer."""

    kind: str
    woo_id: str
    bc_id: str
    bc_number: str | None = None
    data: dict[str, Any] | None = None


class Ledger:
    """Journal, records and links of one run, written through one :class:`wcbc.core.state.State`."""

    def __init__(self, state: Any, run_id: int | None) -> None:
        self.state = state
        self.run_id = run_id

    def journal(self, record: str, step: str, detail: dict[str, Any] | str | None = None) -> None:
        self.state.journal(record, step, detail, run_id=self.run_id)

    def intend(self, record: str, kind: str, key: str, detail: dict[str, Any], *,
               data: dict[str, Any] | None = None) -> None:
        """Before a write that creates something: record "pending" and journal the intent, together."""
        with self.state.batch():
            self.state.record_put(record, kind, key, "pending", data=data)
            self.state.journal(record, "mapped", detail, run_id=self.run_id)

    def done(self, record: str, kind: str, key: str, *, links: tuple[Link, ...] | list[Link] = (),
             data: dict[str, Any] | None = None, detail: dict[str, Any] | None = None) -> None:
        """The record is settled: its links, its "done" row and the journal's result, in one transaction."""
        with self.state.batch():
            for link in links:
                self.state.link_set(link.kind, link.woo_id, link.bc_id, link.bc_number, link.data)
            self.state.record_done(record, kind, key, data=data)
            self.state.journal(record, "result", {"status": "done", **(detail or {})}, run_id=self.run_id)

    def put(self, record: str, kind: str, key: str, status: str, *, error: str | None = None,
            data: dict[str, Any] | None = None, step: str | None = None,
            detail: dict[str, Any] | None = None) -> None:
        """Any other settled status (skipped, conflict...) with its journal row, in one transaction."""
        with self.state.batch():
            self.state.record_put(record, kind, key, status, error=error, data=data)
            self.state.journal(record, step or status, detail if detail is not None else
                               ({"reason": error} if error else None), run_id=self.run_id)

    def fail(self, record: str, kind: str, key: str, message: str, *, max_attempts: int) -> str:
        """attempts += 1 and the journal's result, together; returns "failed" or "on_hold"."""
        with self.state.batch():
            status = self.state.record_fail(record, kind, key, message, max_attempts=max_attempts)
            self.state.journal(record, "result", {"status": status, "error": message}, run_id=self.run_id)
        return status

    def fail_uncounted(self, record: str, kind: str, key: str, message: str) -> None:
        """Failed, not counted toward on_hold: the record did nothing wrong (a lost answer, say)."""
        with self.state.batch():
            self.state.record_put(record, kind, key, "failed", error=message)
            self.state.journal(record, "result", {"status": "failed", "error": message}, run_id=self.run_id)
