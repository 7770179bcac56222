"""sync-orders, step 3 of 3: perform the plans; the one place that writes, recording through the Ledger.

Every write follows look up -> update or create -> link (the OCA connector pattern): the lookup was the
read step; here the intent is journaled before the POST and the outcome after it, so a crash in between
is settled by the same lookup on the next run. What settles an order (its link, its "done" record and the
journal row saying so) commits in ONE transaction (:meth:`wcbc.sync.common.apply.Ledger.done`): a crash
leaves all of it or none of it, and the next run's lookup by externalDocumentNumber finds a document
whose commit was lost. Every journal row carries the run id.

:class:`Applier` also owns the run's other writes: the inbox rows it claims and settles, the bookmarks,
the write-back (:mod:`.writeback`). ``--dry-run`` uses :class:`wcbc.sync.orders.preview.Preview` instead,
with the same methods and no writes.

Each order is isolated here too: whatever an order's booking raises (a BC validation error, a mapping
that fails on its content, a lost answer) fails that order alone; only BC or WooCommerce being down,
credentials refused, or the state DB failing stop the run. ``posted_invoice``: after the post action the
invoice is read again, and its POSTED number (BC renames the draft) is what the link keeps and the store
is told; a lost answer to the post is settled by that read, or left to the next run's lookup for that order
alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.errors import SYSTEMIC, RecordError, RemoteError, StateError, UnreachableError
from wcbc.core.time import iso_z
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders.clock import StoreClock
from wcbc.sync.orders.currency import Currencies
from wcbc.sync.orders.customers import Customers, Unsettled
from wcbc.sync.orders.plan import OrderPlan, Policy, booked_link_data
from wcbc.sync.orders.read import Reader
from wcbc.sync.orders.report import Outcome, Report
from wcbc.sync.orders.verify import Verifier
from wcbc.sync.orders.writeback import WriteBack

log = logging.getLogger("wcbc.orders")


def _explained(plan: OrderPlan, exc: Exception) -> str:
    """``order N: <error>``, and the fix when the error carries one the message does not already say."""
    hint = getattr(exc, "hint", None)
    text = f"order {plan.number}: {exc}"
    return f"{text} (fix: {hint})" if hint and hint not in text else text


class OrderLedger(Ledger):
    """The Ledger, plus the two things only orders record: a conflict, and a customer's link."""

    def conflict(self, record: str, link: dict[str, Any], changes: list[str], data: dict[str, Any]) -> None:
        """A booked order changed: the conflict, its journal row and the link's new summary, together."""
        with self.state.batch():
            self.state.conflict_add(record, {"document": link.get("bc_number"), "changes": changes})
            self.state.journal(record, "conflict", {"changes": changes}, run_id=self.run_id)
            self.state.link_set("order", link["woo_id"], link["bc_id"], link.get("bc_number"), data)

    def link(self, link: Link) -> None:
        self.state.link_set(link.kind, link.woo_id, link.bc_id, link.bc_number, link.data)


class Applier:
    """Performs the plans of one run through the adapters and the :class:`OrderLedger`."""

    def __init__(self, *, woo: Any, bc: Any, state: Any, reader: Reader, policy: Policy,
                 options: mapping.MappingOptions, report: Report, run_id: int | None, concurrency: int,
                 woo_concurrency: int, store_clock: StoreClock | None = None) -> None:
        self.woo, self.bc, self.state = woo, bc, state
        self.reader = reader
        self.policy = policy
        self.options = options
        self.report = report
        self.concurrency = concurrency
        self.ledger = OrderLedger(state, run_id)
        self.writeback = WriteBack(woo, workers=woo_concurrency,
                                   on_answer=store_clock.observe_answer if store_clock else None)
        self.verifier = Verifier(bc=bc, ledger=self.ledger, policy=policy, options=options)
        self.currencies = Currencies(bc, options)
        self._count = threading.Lock()
        self.customers = Customers(bc=bc, state=state, ledger=self.ledger, lookup=reader.customers_by_email,
                                   on_created=self._customer_created)

    def _customer_created(self) -> None:
        with self._count:
            self.report.customers_created += 1

    # ------------------------------------------------------------------ the run's other writes

    def claim_inbox(self) -> list[dict]:
        """Claim the WooCommerce deliveries; clear the ones that are not about orders."""
        rows = []
        for row in self.state.inbox_claim("woocommerce", limit=10_000, worker="sync-orders"):
            if str(row.get("topic", "")).startswith("order."):
                rows.append(row)
            else:  # a product/customer/coupon webhook someone added: nothing for the orders to do
                log.info("inbox:%s (%s) is not an order delivery: ignored", row["id"], row.get("topic"))
                self.state.inbox_done(row["id"])
        return rows

    def inbox_done(self, rows: list[dict]) -> None:
        for row in rows:
            self.state.inbox_done(row["id"])

    def inbox_release(self, rows: list[dict]) -> None:
        """Unprocessed hints stay in the inbox: release them for the next run."""
        for row in rows:
            try:
                self.state.inbox_retry(row["id"])
            except Exception:  # noqa: BLE001 - never mask the original error
                log.debug("could not release inbox row %s", row["id"])

    def not_found(self, order_id: int) -> None:
        self.ledger.journal(f"order:{order_id}", "read", {"error": "not found in WooCommerce"})

    def bookmark(self, name: str, moment: dt.datetime) -> None:
        self.state.cursor_set(name, iso_z(moment))

    def end_page(self, *, defer: bool) -> None:
        self.writeback.end_page(defer=defer)

    def flush(self) -> None:
        self.writeback.flush()

    def close(self) -> None:
        self.writeback.close()

    # ------------------------------------------------------------------ plans settled without booking

    def settle(self, plan: OrderPlan) -> Outcome:
        """An order that needs no new document: unchanged, conflict, held, skipped, linked, linked_by_meta."""
        outcome = Outcome(plan.order_id, plan.number, plan.decision, document=plan.document,
                          message=plan.message)
        if plan.decision == "skipped":
            self.ledger.put(plan.rid, "order", plan.number, "skipped", error=plan.message)
        elif plan.decision == "conflict":
            assert plan.link is not None
            data = {**(plan.link.get("data") or {}), "summary": mapping.summarize(plan.order),
                    "previous": (plan.link.get("data") or {}).get("summary") or {}}
            self.ledger.conflict(plan.rid, plan.link, plan.changes, data)
        elif plan.decision == "linked":
            outcome = self._link_found(plan)
        elif plan.decision == "linked_by_meta":
            outcome.result = "linked"
            self._link_by_meta(plan)
        if outcome.result not in ("failed", "on_hold"):
            self._tell_the_store(plan, plan.document)
        return outcome

    def _link_found(self, plan: OrderPlan) -> Outcome:
        doc = plan.found
        assert doc is not None
        entity = doc["@entity"]
        self.ledger.journal(plan.rid, "answered", {"lookup": entity, "found": doc.get("number")})
        if plan.write("post"):
            # A draft left by an earlier run (its post failed, or a crash): proven equal to the store's order
            # before it is posted (a disagreeing draft is deleted and the order fails).
            self.verifier.check(plan, doc, entity)
            doc = self._post(plan.rid, doc)
        self._done(plan, doc, entity)
        return Outcome(plan.order_id, plan.number, "linked", document=str(doc.get("number")),
                       message="found in BC, linked")

    def _link_by_meta(self, plan: OrderPlan) -> None:
        """Booked once (the order carries our write-back) though BC shows nothing under its number: linked
        by number only, and reported."""
        log.warning("order %s: %s", plan.number, plan.message)
        document = str(plan.document)
        link = Link("order", str(plan.order_id), f"number:{document}", document,
                    booked_link_data(plan.order, None, from_meta=True))
        self.ledger.done(plan.rid, "order", plan.number, links=(link,),
                         data={"document": document, "from_meta": True},
                         detail={"document": document, "warning": plan.message})

    def _done(self, plan: OrderPlan, doc: dict, entity: str) -> None:
        number = str(doc.get("number"))
        link = Link("order", str(plan.order_id), str(doc["id"]), number, booked_link_data(plan.order, entity))
        self.ledger.done(plan.rid, "order", plan.number, links=(link,),
                         data={"document": number, "entity": entity}, detail={"document": number})

    def _post(self, rid: str, doc: dict) -> dict:
        """Post a draft invoice; returns the invoice read again after posting: same id, the POSTED number
        (business-central.md §3.5: BC renames the draft). A lost answer is settled by that read: posted
        (status no longer Draft) is done; still a draft is :class:`Unsettled` (this order alone; the next
        run finds the invoice by externalDocumentNumber and posts it or links the posted one)."""
        self.ledger.journal(rid, "sent", {"action": "Microsoft.NAV.post", "document": doc.get("number")})
        path = f"salesInvoices({doc['id']})"
        try:
            self.bc.action(f"{path}/Microsoft.NAV.post")
        except UnreachableError as exc:
            if not isinstance(exc, AmbiguousWriteError):
                raise  # not sent: BC is down, the run stops
            posted = self.bc.get(path)
            if not posted or posted.get("status") in (None, "Draft"):
                raise Unsettled(f"the answer to the post of invoice {doc.get('number')} was lost "
                                f"({exc.detail}) and it is still a draft") from exc
            self.ledger.journal(rid, "retried", {"post_settled_by_read": posted.get("number")})
        except RemoteError as exc:
            if isinstance(exc, SYSTEMIC):
                raise
            # BC refused the post: this order's failure (counted, then on hold), the draft kept and reused.
            raise RecordError(f"draft invoice {doc.get('number')} was created but BC refused to post it "
                              f"({exc}); the draft is kept and posted on retry",
                              hint="fix the cause in BC (see the message), then wait for the next run "
                                   "or run wcbc replay") from exc
        else:
            posted = self.bc.get(path)
        posted = {**doc, **posted, "@entity": doc.get("@entity", "salesInvoices")}
        self.ledger.journal(rid, "answered", {"posted": posted.get("number"), "status": posted.get("status")})
        return posted

    def _tell_the_store(self, plan: OrderPlan, number: str | None) -> None:
        if number is None:
            return
        if plan.write("write_back"):
            self.writeback.meta(plan.order_id, number)
        if plan.write("add_note"):
            self.writeback.note(plan.order_id, number)

    # ------------------------------------------------------------------ booking

    def book(self, plans: list[OrderPlan]) -> tuple[list[Outcome], BaseException | None]:
        """Book (or fail) the plans, up to ``concurrency`` at once; returns the outcomes in the plans' order
        and the first systemic error (BC down, credentials refused), which the caller raises once the
        page's write-back is out."""
        if self.concurrency > 1 and len(plans) > 1:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                results = list(pool.map(self._book_safely, plans))
        else:
            results = [self._book_safely(p) for p in plans]
        for plan, (outcome, _) in zip(plans, results, strict=True):
            if outcome.result in ("booked", "linked"):
                self._tell_the_store(plan, outcome.document)
        systemic = next((error for _, error in results if error is not None), None)
        return [outcome for outcome, _ in results], systemic

    def _book_safely(self, plan: OrderPlan) -> tuple[Outcome, BaseException | None]:
        if plan.decision == "rejected":
            return self._fail(plan, str(plan.message)), None
        try:
            if plan.decision == "linked":
                return self._link_found(plan), None
            return self._book(plan), None
        except Unsettled as exc:
            message = f"order {plan.number}: {exc}; retried on the next run"
            self.ledger.fail_uncounted(plan.rid, "order", plan.number, message)  # the order did nothing wrong
            log.warning("%s", message)
            return Outcome(plan.order_id, plan.number, "failed", message=message), None
        except SYSTEMIC as exc:
            self.ledger.journal(plan.rid, "result", {"aborted": str(exc)})
            return Outcome(plan.order_id, plan.number, "aborted", message=str(exc)), exc
        except (RecordError, RemoteError) as exc:
            return self._fail(plan, _explained(plan, exc)), None
        except (StateError, sqlite3.Error):
            raise  # the state DB is everyone's: the run stops
        except Exception as exc:  # noqa: BLE001 - whatever this order's content caused, it alone fails
            return self._fail(plan, f"order {plan.number}: {type(exc).__name__}: {exc}"[:500]), None

    def _fail(self, plan: OrderPlan, message: str) -> Outcome:
        """attempts += 1 (on hold at ``orders.max_attempts``), kept for ``wcbc replay``."""
        status = self.ledger.fail(plan.rid, "order", plan.number, message,
                                  max_attempts=self.policy.max_attempts)
        log.error("%s", message)
        return Outcome(plan.order_id, plan.number, status, message=message)

    def _book(self, plan: OrderPlan) -> Outcome:
        create = plan.write("create_document")
        assert create is not None and plan.customer is not None
        body = dict(create.body)
        self.currencies.check(plan.order, body)  # before the customer or the document is created
        customer_number = self.customers.number(plan.rid, plan.customer)  # creates or links it when planned
        if plan.customer.number is None:  # the plan held a placeholder: the customer is known only now
            body["customerNumber"] = customer_number
        entity = self.policy.entity
        self.ledger.intend(plan.rid, "order", plan.number, body, data={"intent": create.key})
        self.ledger.journal(plan.rid, "sent", {"entity": entity, "externalDocumentNumber": create.key})
        try:
            doc = self.bc.post(entity, body)
        except UnreachableError as exc:
            # The POST may have landed before the connection broke: settle it by the idempotency key.
            found = self._ours(plan, create.key, customer_number)
            if not found:
                if isinstance(exc, AmbiguousWriteError):
                    # BC answered the lookup, so it is up: only this order is unsettled. The next run's
                    # lookup settles it (a POST still in flight is then found and linked).
                    raise Unsettled(
                        f"the answer to its POST was lost ({exc.detail}); nothing found in BC yet"
                    ) from exc
                raise
            self.ledger.journal(plan.rid, "retried", {"settled_by_lookup": found.get("number")})
            doc = found
        self.ledger.journal(plan.rid, "answered", {"id": doc.get("id"), "number": doc.get("number"),
                                                   "total": doc.get("totalAmountIncludingTax")})
        difference = self._check_totals(plan, doc, entity)
        if plan.write("post"):
            doc = self._post(plan.rid, doc)
        self._done(plan, doc, entity)
        return Outcome(plan.order_id, plan.number, "booked", document=str(doc.get("number")),
                       difference=difference)

    def _ours(self, plan: OrderPlan, key: str, customer_number: str) -> dict | None:
        """The document BC holds under ``key`` that is proved to be this order's (a POST whose answer was
        lost), or None."""
        for doc in self.reader.documents([plan.order]).get(key.upper(), []):
            if not mapping.document_mismatches(plan.order, doc, customer=customer_number,
                                               tolerance=self.policy.total_tolerance,
                                               decimals=self.options.decimals):
                return doc
        return None

    def _check_totals(self, plan: OrderPlan, doc: dict, entity: str) -> Any:
        """The document read back and proven equal to the store's order (:mod:`.verify`); warns when its
        ``pricesIncludeTax`` is not the configured one."""
        # On invoices the flag follows the customer and net prices are sent: the read-back check judges.
        warning = None if self.options.is_invoice else mapping.prices_include_tax_mismatch(doc, self.options)
        if warning:
            self.ledger.journal(plan.rid, "warning", {"message": warning})
            log.warning("order %s: %s", plan.order.get("number"), warning)
        return self.verifier.check(plan, doc, entity)
