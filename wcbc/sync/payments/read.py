"""sync-fulfilment (payments), step 1 of 3: everything the run reads. No writes.

Candidates are the posted invoices still open (``salesInvoices?$filter=status eq 'Open'``: the list
shrinks as payments close them) that belong to a web order (:mod:`wcbc.sync.shipments.weborders`), plus
the invoices of payments left pending or failed (their invoice may be closed by now: that settles them).
"""

from __future__ import annotations

from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.errors import NotFoundError
from wcbc.sync.shipments.weborders import OrderLinks, confirmed

INVOICE_FIELDS = ("id,number,externalDocumentNumber,orderNumber,customerNumber,currencyCode,status,"
                  "remainingAmount,totalAmountIncludingTax")


class Reader:
    def __init__(self, *, woo: Any, bc: Any, state: Any, config: Any) -> None:
        self.woo, self.bc, self.state = woo, bc, state
        self.links = OrderLinks(state, config.orders.number_prefix)
        self._journals: dict[str, dict | None] = {}
        self._lines: dict[str, dict[str, dict]] = {}

    def open_invoices(self) -> list[dict]:
        return list(self.bc.iter("salesInvoices", {"$filter": odata.eq("status", "Open"),
                                                   "$select": INVOICE_FIELDS}))

    def unsettled_invoices(self, known: set[str]) -> list[dict]:
        """The invoices of payment records left pending or failed (not among ``known``)."""
        out = []
        for status in ("pending", "failed"):
            for record in self.state.records(status=status, kind="payment"):
                invoice_id = str((record.get("data") or {}).get("invoice") or "")
                if invoice_id and invoice_id not in known:
                    try:
                        out.append(self.bc.invoice(invoice_id))
                    except NotFoundError:
                        continue
                    known.add(invoice_id)
        return out

    def web_orders(self, invoices: list[dict]) -> list[tuple[dict, dict]]:
        """(web order, invoice) for the invoices of wcbc's orders."""
        candidates = []
        for inv in invoices:
            numbers = [inv.get("number"), inv.get("orderNumber")]
            oid, linked = self.links.candidate(numbers, inv.get("id"), inv.get("externalDocumentNumber"))
            if oid:
                candidates.append((oid, linked, numbers, inv))
        ids = {c[0] for c in candidates}
        orders = {int(o["id"]): o for o in self.woo.orders_by_ids(ids)} if ids else {}
        out = []
        for oid, linked, numbers, inv in candidates:
            order = orders.get(oid)
            if order is not None and (linked or confirmed(order, numbers)):
                out.append((order, inv))
        return out

    def journal(self, code: str) -> dict | None:
        if code not in self._journals:
            self._journals[code] = self.bc.payment_journal(code)
        return self._journals[code]

    def line_before_run(self, journal_id: str, document_number: str) -> dict | None:
        """A line an earlier attempt left in the journal (read once per journal and run: wcbc's own batch
        is empty between runs; lines created in this run are posted or removed at once)."""
        if journal_id not in self._lines:
            self._lines[journal_id] = {str(line.get("documentNumber")).upper(): line
                                       for line in self.bc.journal_payments(journal_id)}
        return self._lines[journal_id].pop(document_number.upper(), None)

    def forget_lines(self, journal_id: str) -> None:
        """The journal changed under the cache (lines removed): read it again when next needed."""
        self._lines.pop(journal_id, None)
