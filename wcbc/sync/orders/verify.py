"""After the deep insert: read the document back with its lines and prove it equals the store's order.

The decision is pure (:mod:`wcbc.sync.mapping.orders.agreement`); here are the reads and writes it needs,
through the BC adapter and journaled through the Ledger:

* ``agree``: nothing to do;
* ``round``: one line on ``orders.rounding_account`` (an account that carries no tax: ``wcbc doctor``
  checks it) adds the difference, capped by ``orders.rounding_cap``; the document is read and checked again;
* ``disagree`` (also after a rounding line that did not close it): the draft is deleted (If-Match) and the
  order fails with the table of the lines that differ. A document is never posted while it disagrees.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.common.apply import Ledger
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.orders import agreement
from wcbc.sync.orders.plan import OrderPlan, Policy

log = logging.getLogger("wcbc.orders")


class Verifier:
    def __init__(self, *, bc: Any, ledger: Ledger, policy: Policy, options: mapping.MappingOptions) -> None:
        self.bc, self.ledger, self.policy, self.options = bc, ledger, policy, options

    def _read(self, entity: str, doc_id: str) -> tuple[dict, list[dict]]:
        key = self.policy.lines_key
        doc = self.bc.get(f"{entity}({doc_id})", {"$expand": key})
        return doc, list(doc.get(key) or [])

    def check(self, plan: OrderPlan, doc: dict, entity: str) -> Decimal | None:
        """The difference left (None when none); raises RecordError after deleting a disagreeing draft."""
        expected = agreement.expected_lines(plan.order, self.options)
        read, lines = self._read(entity, str(doc["id"]))
        found = agreement.compare(plan.order, expected, read, lines)
        verdict = found.verdict(self.policy.total_tolerance, self.policy.rounding_cap,
                                self.policy.rounding_account)
        if verdict == "round":
            assert self.policy.rounding_account is not None
            line = mapping.rounding_line(found.difference, self.policy.rounding_account)
            if self.options.tax_codes.get("untaxed"):  # a rounding line never carries tax
                line["taxCode"] = self.options.tax_codes["untaxed"]
            self.ledger.journal(plan.rid, "sent", {"rounding_line": line})
            self.bc.post(f"{entity}({doc['id']})/{self.policy.lines_key}", line)
            difference = found.difference
            read, lines = self._read(entity, str(doc["id"]))
            found = agreement.compare(plan.order, expected, read, lines)
            verdict = "agree" if abs(found.difference) <= self.policy.total_tolerance else "disagree"
            if verdict == "agree":
                return difference
        if verdict == "agree":
            return found.difference or None
        self._discard(plan, entity, read)
        raise RecordError(f"{found.message(plan.order)}\nlikely cause: {found.hint()}", hint=found.hint())

    def _discard(self, plan: OrderPlan, entity: str, doc: dict) -> None:
        self.ledger.journal(plan.rid, "sent", {"delete": doc.get("number"), "reason": "disagrees with store"})
        self.bc.delete(f"{entity}({doc['id']})", str(doc.get("@odata.etag") or "*"))
        log.warning("order %s: draft %s deleted (it disagreed with the store)", plan.number,
                    doc.get("number"))
