"""What a sync-items run reports: one :class:`ItemOutcome` per item and product, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wcbc.sync.common.outcome import Counted
from wcbc.sync.common.plan import Plan

# Item number -> its worst result: failed > on_hold > unknown > ... > unchanged.
_RANK = {"failed": 0, "on_hold": 1, "unknown": 2, "skipped": 3, "held": 4, "deleted": 5, "would_update": 6,
         "updated": 7, "unchanged": 8}


@dataclass
class ItemOutcome:
    number: str
    result: str  # updated | unchanged | would_update | skipped | unknown | deleted | held | failed | on_hold
    product_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "result": self.result, "product_id": self.product_id,
                "changes": self.changes, "before": self.before, "message": self.message}


@dataclass
class ItemReport(Counted):
    outcomes: list[ItemOutcome] = field(default_factory=list)
    items_read: int = 0
    notifications: int = 0
    ledger_entries: int = 0
    dry_run: bool = False
    calls: dict[str, int] = field(default_factory=dict)
    plan: Plan = field(default_factory=Plan)  # every write the run decided on (made, or shown in a dry run)
    # (item number, reason) of each item whose price was not written while its stock was planned
    price_skipped: list[tuple[str, str]] = field(default_factory=list)


    @property
    def unknown(self) -> list[str]:
        return [o.number for o in self.outcomes if o.result == "unknown"]

    def by_number(self) -> dict[str, str]:
        """Item number -> the worst result of its products (failed > on_hold > updated > ...)."""
        result: dict[str, str] = {}
        for outcome in self.outcomes:
            current = result.get(outcome.number)
            if current is None or _RANK.get(outcome.result, 9) < _RANK.get(current, 9):
                result[outcome.number] = outcome.result
        return result

    def summary(self) -> dict[str, Any]:
        return {"items_read": self.items_read, "notifications": self.notifications,
                "ledger_entries": self.ledger_entries, **self.counts,
                **({"price_skipped": len(self.price_skipped)} if self.price_skipped else {}),
                "calls": self.calls}
