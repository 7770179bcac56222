"""What happened to one record, and the counts a run's report is built on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Results that make a run exit 1 (a record needs a person or a replay).
FAILED_RESULTS = frozenset({"failed", "on_hold"})


@dataclass
class Outcome:
    """One record's result in one run.

    ``result`` is one word: booked | linked | updated | unchanged | skipped | held | conflict | failed |
    on_hold | would_book | would_update | ... (each sync documents its own).
    """

    record: str
    result: str
    key: str = ""
    document: str | None = None
    message: str | None = None
    difference: Decimal | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.result in FAILED_RESULTS

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "result": self.result, "key": self.key}
        for name in ("document", "message"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.difference is not None:
            out["difference"] = str(self.difference)
        if self.detail:
            out["detail"] = self.detail
        return out


class Outcomes(list):
    """A report's outcomes; each one appended also advances the progress display, if any."""

    def __init__(self, items: Iterable[Any] = (), on_add: Callable[[int], None] | None = None) -> None:
        super().__init__(items)
        self.on_add = on_add

    def append(self, outcome: Any) -> None:
        super().append(outcome)
        if self.on_add is not None:
            self.on_add(1)


def tally(outcomes: Iterable[Any]) -> dict[str, int]:
    """Outcomes per result, in first-seen order."""
    return dict(Counter(o.result for o in outcomes))


def any_failed(outcomes: Iterable[Any]) -> bool:
    return any(o.result in FAILED_RESULTS for o in outcomes)


class Counted:
    """What every run report answers from its ``outcomes``: the counts per result, and whether any failed."""

    outcomes: list[Any]

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def counts(self) -> dict[str, int]:
        return tally(self.outcomes)

    @property
    def failed(self) -> bool:
        return any_failed(self.outcomes)
