"""What one sync-orders run did: an :class:`Outcome` per order, and the :class:`Report` built on them.

``result`` is one of: booked | linked | unchanged | conflict | skipped | held | failed | on_hold |
aborted (BC down or credentials refused: the run stops) | would_book (``--dry-run``). Counts and the
failed flag come from :mod:`wcbc.sync.common.outcome`, as for every sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from wcbc.sync.common.outcome import Counted, Outcomes


@dataclass
class Outcome:
    order_id: int
    number: str
    result: str
    document: str | None = None
    message: str | None = None
    difference: Decimal | None = None


@dataclass
class Report(Counted):
    """The outcomes (each one appended advances the progress display), customers created, the dry run's
    preview (the plan's customers and documents, as they would be sent), the store's clock skew (seconds
    the store is ahead of this host; None when unknown) and the run's warnings (a skew beyond half of
    ``orders.overlap_seconds``)."""

    outcomes: list[Outcome] = field(default_factory=Outcomes)
    customers_created: int = 0
    preview: list[dict] = field(default_factory=list)
    clock_skew: float | None = None
    warnings: list[str] = field(default_factory=list)

