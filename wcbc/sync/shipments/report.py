"""What one shipments or payments run did: :class:`wcbc.sync.common.outcome.Outcome` per record.

Shipment results: shipped (status and/or note written) | unchanged (written before: found on the order)
| skipped (no web order) | failed | on_hold | would_ship (``--dry-run``). Payment results: paid |
unchanged | skipped (unmapped method, not paid in the store...) | on_hold (a person decides) | held (on hold
already: waits for a replay) | pending (posting scheduled) | failed | would_pay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wcbc.sync.common.outcome import Counted, Outcome, Outcomes

__all__ = ["Outcome", "Report"]


@dataclass
class Report(Counted):
    outcomes: list[Outcome] = field(default_factory=Outcomes)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "outcomes": [o.as_dict() for o in self.outcomes],
                **({"would": self.preview} if self.preview else {})}
