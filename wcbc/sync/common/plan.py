"""A plan: what a sync intends to write, decided by pure functions from what was read and the state.

A planner never calls an adapter and never writes the state: it returns :class:`Write` values. The same
plan is what ``--dry-run`` prints and what the apply step performs, so a dry run cannot drift from a real
run. Every write names the record it belongs to and its idempotency key: the value by which a rerun (after
a crash, a lost answer or a lost state DB) finds what an earlier attempt already created instead of
creating it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

SYSTEMS = ("bc", "woocommerce")


@dataclass(frozen=True)
class Write:
    """One intended write.

    ``record``: the record it belongs to (``order:123``, ``item:1000``); ``action``: what is done
    (``create_document``, ``update_product``, ...); ``system``: where; ``key``: the idempotency key (an
    externalDocumentNumber, a product id); ``body``: what is sent; ``note``: a line for people.
    """

    record: str
    action: str
    system: str
    key: str
    body: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"write {self.action} of {self.record}: unknown system {self.system!r}")
        if not self.key:
            raise ValueError(f"write {self.action} of {self.record}: no idempotency key")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "action": self.action, "system": self.system,
                               "key": self.key, "body": self.body}
        if self.note:
            out["note"] = self.note
        return out


class HasWrites(Protocol):
    """A record's plan (a shipment's, a payment's...): the writes it needs, in order."""

    @property
    def writes(self) -> list[Write]: ...


@dataclass
class Plan:
    """The writes a sync intends, in order, and the decisions that need no write (skips, holds...)."""

    writes: list[Write] = field(default_factory=list)

    @classmethod
    def gather(cls, plans: Iterable[HasWrites]) -> Plan:
        """One plan holding the writes of each record's plan, in their order (what ``--dry-run`` shows)."""
        return cls([w for p in plans for w in p.writes])

    def add(self, write: Write) -> Write:
        self.writes.append(write)
        return write

    def extend(self, other: Plan) -> None:
        self.writes.extend(other.writes)

    def for_record(self, record: str) -> list[Write]:
        return [w for w in self.writes if w.record == record]

    def __len__(self) -> int:
        return len(self.writes)

    def __bool__(self) -> bool:
        return bool(self.writes)

    def as_list(self) -> list[dict[str, Any]]:
        """The plan as ``--dry-run`` prints it (``--json``) and tests compare it."""
        return [w.as_dict() for w in self.writes]
