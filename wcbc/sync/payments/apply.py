"""sync-fulfilment (payments), step 3 of 3: the one place that writes, recording through the Ledger.

Per payment: the journal line is looked up by its documentNumber before one is created (a line left by a
killed run is reused, never doubled); the batch is posted. A post that fails removes the run's own line
again, so the batch holds nothing that would make the next payment's post fail: a failing post fails that
payment alone. The invoices of the run's posted payments are read back together once the posts are done
(:meth:`Applier.settle`: ``number in (...)``, one call per chunk instead of one per payment): each read
still follows its own post, and only that payment touches that invoice. Until then the record stays
``pending``, exactly as after a kill between a post and its read-back, which the next run settles from
the invoice. Whether a post whose answer was lost happened is read from the invoice the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.errors import SYSTEMIC, AmbiguousWriteError, RecordError, WcbcError
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.common.outcome import Outcome
from wcbc.sync.payments.plan import PaymentPlan, Policy, money
from wcbc.sync.payments.read import INVOICE_FIELDS, Reader

log = logging.getLogger("wcbc.payments")
KIND = "payment"


class Applier:
    def __init__(self, *, bc: Any, state: Any, reader: Reader, policy: Policy, run_id: int | None,
                 replay: bool = False) -> None:
        self.bc, self.state, self.reader, self.policy, self.replay = bc, state, reader, policy, replay
        self.ledger = Ledger(state, run_id)
        self.posted: list[tuple[PaymentPlan, str, str]] = []  # (plan, invoice number, journal id)

    def apply(self, plan: PaymentPlan) -> Outcome | None:
        """The payment's outcome, or None when it was posted and waits for :meth:`settle`."""
        rid, key = plan.rid, plan.key
        record = self.state.record_get(rid)
        doc = str(plan.invoice.get("number"))
        if plan.decision == "settled":
            if record and record["status"] in ("pending", "failed"):
                self.ledger.journal(rid, "retried", {"settled_by_lookup": plan.reason})
                self.ledger.done(rid, KIND, key, links=[self._link(plan)], detail={"invoice": doc})
                return Outcome(rid, "paid", key, document=doc, message=plan.reason)
            return Outcome(rid, "unchanged", key, document=doc)
        if plan.decision in ("skipped", "held"):
            # held: a person decides; kept on hold (listed by `wcbc failures`, exit 1 once) for a replay
            status = "skipped" if plan.decision == "skipped" else "on_hold"
            if record and record["status"] == status and record.get("last_error") == plan.reason:
                return Outcome(rid, "unchanged", key, document=doc, message=plan.reason)
            self.ledger.put(rid, KIND, key, status, error=plan.reason)
            return Outcome(rid, status, key, document=doc, message=plan.reason)
        if record and record["status"] == "on_hold" and not self.replay:
            return Outcome(rid, "held", key, document=doc, message=f"on hold: wcbc replay {rid}")
        try:
            return self._pay(plan, doc)
        except SYSTEMIC:
            raise
        except WcbcError as exc:
            status = self.ledger.fail(rid, KIND, key, str(exc), max_attempts=self.policy.max_attempts)
            log.warning("payment of order %s: %s", plan.order_id, exc)
            return Outcome(rid, status, key, document=doc, message=str(exc))

    def _link(self, plan: PaymentPlan) -> Link:
        return Link("payment", str(plan.order_id), str(plan.invoice["id"]), plan.key,
                    {"invoice": plan.invoice.get("number"), "journal": plan.journal})

    def settle(self) -> list[Outcome]:
        """Read back the invoices of the posted payments (one call per chunk) and settle each payment."""
        posted, self.posted = self.posted, []
        found: dict[str, dict] = {}
        for flt in odata.in_chunks("number", [doc for _, doc, _ in posted]):
            params = {"$filter": flt, "$select": INVOICE_FIELDS, **odata.SCHEMA_2_1}
            for inv in self.bc.iter("salesInvoices", params):
                found[str(inv.get("number")).upper()] = inv
        outcomes: list[Outcome] = []
        for plan, doc, jid in posted:
            try:
                invoice = found.get(doc.upper()) or self.bc.invoice(str(plan.invoice["id"]))
                outcomes.append(self._read_back(plan, doc, jid, invoice))
            except SYSTEMIC:
                raise
            except WcbcError as exc:
                status = self.ledger.fail(plan.rid, KIND, plan.key, str(exc),
                                          max_attempts=self.policy.max_attempts)
                outcomes.append(Outcome(plan.rid, status, plan.key, document=doc, message=str(exc)))
        return outcomes

    def _pay(self, plan: PaymentPlan, doc: str) -> None:
        rid, key = plan.rid, plan.key
        journal = self.reader.journal(plan.journal)
        if not journal:
            raise RecordError(f"customer payment journal {plan.journal!r} not found in BC (page Cash Receipt "
                              "Journals; see README \"Fulfilment and payments\")")
        jid = str(journal["id"])
        create = plan.writes[0]
        intent = {"journal": plan.journal, "invoice": doc, "amount": create.body["amount"]}
        self.ledger.intend(rid, KIND, key, intent, data={"invoice": plan.invoice["id"]})
        line = self.reader.line_before_run(jid, key)
        if line:
            self.ledger.journal(rid, "retried", {"found_line": key})
        else:
            try:
                line = self.bc.create_payment(jid, create.body)
            except AmbiguousWriteError:
                found = self.bc.journal_payments(jid, key)
                if not found:
                    raise
                line = found[0]
            self.ledger.journal(rid, "answered", {"line": line.get("id"), "documentNumber": key})
        try:
            self.bc.post_journal(jid)
        except AmbiguousWriteError:
            pass  # read back below
        except WcbcError as exc:
            foreign = self._clear(jid)
            if foreign:
                raise RecordError(f"{exc}; the batch also holds {len(foreign)} line(s) not written by this "
                                  f"connector ({', '.join(foreign[:5])}): a post posts every line, so remove "
                                  f"or fix them in BC's Cash Receipt Journal {plan.journal}") from exc
            raise
        self.ledger.journal(rid, "sent", {"post": plan.journal, "read_back": "after the run's posts"})
        self.posted.append((plan, doc, jid))

    def _read_back(self, plan: PaymentPlan, doc: str, jid: str, invoice: dict) -> Outcome:
        rid, key = plan.rid, plan.key
        remaining = money(invoice.get("remainingAmount"))
        if invoice.get("status") == "Open" and self.bc.journal_payments(jid, key):
            self.ledger.put(rid, KIND, key, "pending", error="posting scheduled (Post with Job Queue?)",
                            data={"invoice": plan.invoice["id"]})
            return Outcome(rid, "pending", key, document=doc, message="posting scheduled; read back next run")
        self.ledger.done(rid, KIND, key, links=[self._link(plan)],
                         detail={"invoice": doc, "remaining": str(remaining),
                                 "status": invoice.get("status")})
        message = None if remaining == 0 else f"invoice {doc} still has {remaining} open"
        if plan.warning:
            self.ledger.journal(rid, "warning", {"message": plan.warning})
            message = "; ".join(m for m in (message, plan.warning) if m)
        if message:
            log.warning("payment of order %s: %s", plan.order_id, message)
        return Outcome(rid, "paid", key, document=doc, message=message, difference=remaining)

    def _clear(self, jid: str) -> list[str]:
        """After a failed post: remove every line of the batch this connector wrote (its own, and any an
        earlier run left, e.g. one applied to an invoice closed since, which would fail every later post of
        the batch). The invoices still open are paid again by the next run; other lines are left alone and
        returned (their document numbers)."""
        prefix = self.policy.document_prefix.upper()
        self.reader.forget_lines(jid)
        foreign: list[str] = []
        for line in self.bc.journal_payments(jid):
            if not str(line.get("documentNumber") or "").upper().startswith(prefix):
                foreign.append(str(line.get("documentNumber") or line.get("id")))
                continue
            try:
                self.bc.delete_payment(jid, line)
            except WcbcError as exc:  # the next failed post tries again
                log.warning("payment line %s could not be removed after a failed post: %s",
                            line.get("documentNumber"), exc)
        return foreign
