"""sync-orders: each WooCommerce order becomes exactly one BC sales document.

Every write follows look up -> update or create -> link (the OCA connector pattern):

1. candidates come from the webhook inbox (a hint: the order is read fresh), explicit ids, and a
   poll on date_modified_gmt bounded above by the run's start;
2. per page of orders, ONE lookup of BC by externalDocumentNumber on salesOrders and salesInvoices
   settles anything a crash or a lost state DB left behind (found: link it, create nothing);
3. the intent is journaled before the POST and the outcome after it, so a crash in between is
   settled by the same lookup on the next run;
4. the BC number is written back to the order (meta ``_wcbc_bc_document``) in one orders/batch call
   per page; the order.updated echo this causes is recognised by the order's fingerprint.

The bookmark moves only past orders whose outcome (done, failed, skipped...) is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.errors import (
    AuthError,
    NotFoundError,
    RecordError,
    RemoteError,
    ThrottledError,
    UnreachableError,
    WcbcError,
)
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.mapping import orders as mapping

log = logging.getLogger("wcbc.orders")

CURSOR = "orders.modified_after"
LAST_SEEN = "orders.last_seen_modified"
META_KEY = mapping.DOCUMENT_META_KEY
SYSTEMIC = (AuthError, UnreachableError, ThrottledError)
# Order notes sent at once (WooCommerce has no notes batch; a WordPress site serves a few PHP workers).
WOO_CONCURRENCY = 4

ENTITY = {"sales_order": "salesOrders", "sales_invoice": "salesInvoices", "posted_invoice": "salesInvoices"}
LINES = {"salesOrders": "salesOrderLines", "salesInvoices": "salesInvoiceLines"}


@dataclass
class Outcome:
    order_id: int
    number: str
    result: str  # booked | linked | skipped | unchanged | conflict | failed | on_hold | held | would_book
    document: str | None = None
    message: str | None = None
    difference: Decimal | None = None


class _Outcomes(list):
    """The report's outcomes; each one appended also advances the progress display."""

    def __init__(self, on_add: Callable[..., None] | None = None) -> None:
        super().__init__()
        self.on_add = on_add

    def append(self, outcome: Outcome) -> None:
        super().append(outcome)
        if self.on_add is not None:
            self.on_add(1)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=_Outcomes)
    customers_created: int = 0
    preview: list[dict] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.result] = counts.get(o.result, 0) + 1
        return counts

    @property
    def failed(self) -> bool:
        return any(o.result in ("failed", "on_hold") for o in self.outcomes)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def parse_gmt(value: str | None) -> dt.datetime | None:
    """WooCommerce's *_gmt fields are bare UTC timestamps."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", ""))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Unsettled(RecordError):
    """A POST whose answer was lost and whose document BC does not show (yet)."""


def _has_meta(order: dict, number: str) -> bool:
    return any(m.get("key") == META_KEY and m.get("value") == number for m in order.get("meta_data") or [])


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class OrderSync:
    def __init__(
        self,
        *,
        woo: Any,
        bc: Any,
        state: Any,
        config: Any,
        dry_run: bool = False,
        replay: bool = False,
        concurrency: int | None = None,
        run_id: int | None = None,
        on_progress: Callable[..., None] | None = None,
    ) -> None:
        self.woo, self.bc, self.state, self.config = woo, bc, state, config
        self.cfg = config.orders
        self.options = mapping.MappingOptions.from_config(config)
        self.dry_run = dry_run
        self.replay = replay
        self.run_id = run_id
        self.concurrency = concurrency or getattr(config.business_central, "max_concurrency", 5)
        self.entity = ENTITY[self.cfg.target]
        self.report = Report(outcomes=_Outcomes(on_progress))
        self._customer_lock = threading.Lock()
        self._buyer_locks: dict[tuple[str, str], threading.Lock] = {}
        self._customers: dict[tuple[str, str], str] = {}
        self._items: dict[str, bool | None] = {}  # SKU (upper) -> blocked; None = not a BC item
        self._by_email: dict[str, dict] = {}  # this page's BC customers by e-mail (lower)
        self._looked_up: set[str] = set()  # this page's e-mails already asked of BC
        self._notes_pool: ThreadPoolExecutor | None = None
        # Shops whose SKUs differ from BC item numbers map them in [items] mapping_file (both directions).
        self.skus = SkuMap.load(getattr(config.items, "mapping_file", None))
        self._item_numbers = self.skus.numbers_by_sku()

    # ------------------------------------------------------------------ entry point

    def run(
        self,
        *,
        since: dt.datetime | None = None,
        order_ids: Iterable[int] | None = None,
        limit: int | None = None,
        poll: bool = True,
        drain_inbox: bool = True,
    ) -> Report:
        started = utcnow()
        explicit = [int(i) for i in order_ids or []]
        inbox_rows: list[dict] = []
        if drain_inbox and not self.dry_run and not explicit:
            for row in self.state.inbox_claim("woocommerce", limit=10_000, worker="sync-orders"):
                if str(row.get("topic", "")).startswith("order."):
                    inbox_rows.append(row)
                else:  # a product/customer/coupon webhook someone added: nothing for the orders to do
                    log.info("inbox:%s (%s) is not an order delivery: ignored", row["id"], row.get("topic"))
                    self.state.inbox_done(row["id"])
        try:
            return self._run(started, explicit, inbox_rows, since=since, limit=limit, poll=poll)
        finally:
            self._finish_notes()

    def _run(
        self,
        started: dt.datetime,
        explicit: list[int],
        inbox_rows: list[dict],
        *,
        since: dt.datetime | None,
        limit: int | None,
        poll: bool,
    ) -> Report:
        hinted = sorted(
            {int(r["resource_id"]) for r in inbox_rows if str(r.get("resource_id") or "").isdigit()}
        )
        seen: set[int] = set()
        budget = limit
        try:
            # 1. orders named on the command line or by webhooks: read fresh.
            # Orders that failed before (not on hold) are tried again by every scheduled run until they
            # succeed or reach orders.max_attempts: the poll's bookmark has moved past them.
            # (Only scheduled runs: serve's worker runs on every delivery and would use up the attempts.)
            retry = self._failed_order_ids() if poll and not explicit else []
            wanted = [i for i in explicit + hinted + retry if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]
            for page in chunks(wanted, 100):
                orders = self._fetch(page)
                if budget is not None:
                    orders = orders[:budget]
                    budget -= len(orders)
                self._process_page(orders)
                if budget is not None and budget <= 0:
                    break
            for row in inbox_rows:
                self.state.inbox_done(row["id"])
            # 2. the poll backfills whatever a webhook missed.
            if poll and not explicit and (budget is None or budget > 0):
                self._poll(since, started, seen, budget)
        except BaseException:
            for row in inbox_rows:
                # Unprocessed hints stay in the inbox: release them for the next run.
                try:
                    self.state.inbox_retry(row["id"])
                except Exception:  # noqa: BLE001 - never mask the original error
                    log.debug("could not release inbox row %s", row["id"])
            raise
        return self.report

    def _failed_order_ids(self, limit: int = 500) -> list[int]:
        keys = [r["id"].partition(":")[2] for r in self.state.records(status="failed", kind="order")]
        return [int(k) for k in keys if k.isdigit()][:limit]

    def _fetch(self, ids: list[int]) -> list[dict]:
        orders = []
        for order_id in ids:
            try:
                orders.append(self.woo.get_order(order_id))
            except NotFoundError:
                if not self.dry_run:
                    self.state.journal(f"order:{order_id}", "read", {"error": "not found in WooCommerce"})
                log.warning("order %s: not found in WooCommerce (deleted?)", order_id)
        return orders

    def _poll(
        self, since: dt.datetime | None, started: dt.datetime, seen: set[int], budget: int | None
    ) -> None:
        cursor = self.state.cursor_get(CURSOR)
        if since is not None:
            start = since
        elif cursor:
            start = parse_gmt(cursor) - dt.timedelta(seconds=self.cfg.overlap_seconds)  # type: ignore[operator]
        elif self.cfg.start_date:
            start = parse_gmt(str(self.cfg.start_date))
        else:
            start = started - dt.timedelta(days=1)
            log.info("no bookmark and no orders.start_date: polling the last 24 hours")
        page: list[dict] = []
        newest: dt.datetime | None = None
        # The store pages by offset, ordered by date_modified: writing the BC numbers back while paging
        # would move the written orders behind the unread ones, shift the unread ones onto pages already
        # read, and the poll would never see them. The write-back waits until the last page was read.
        deferred: list[tuple[dict, str]] = []
        # modified_before is exclusive and has whole seconds: +1 s keeps orders changed in the start second.
        upper = started + dt.timedelta(seconds=1)
        try:
            for order in self.woo.iter_orders(modified_after=start, modified_before=upper):
                modified = parse_gmt(order.get("date_modified_gmt"))
                if modified and (newest is None or modified > newest):
                    newest = modified
                if order["id"] in seen:
                    continue
                seen.add(order["id"])
                page.append(order)
                if budget is not None and len(page) >= budget:
                    break
                if len(page) >= self.cfg.batch_size:
                    self._process_page(page, deferred)
                    budget = None if budget is None else budget - len(page)
                    self._advance(page, started)
                    page = []
            if page:
                self._process_page(page, deferred)
                self._advance(page, started)
        finally:
            for part in chunks(deferred, 100):
                self._write_back(part)
        if budget is None and not self.dry_run:
            # The whole window up to the run's start was read and every outcome committed.
            self.state.cursor_set(CURSOR, iso(started))
        if newest is not None and not self.dry_run:
            self.state.cursor_set(LAST_SEEN, iso(newest))

    def _advance(self, page: list[dict], started: dt.datetime) -> None:
        """Move the bookmark past a page whose outcomes are all committed, never past the run's start."""
        if self.dry_run or not page:
            return
        newest = max(parse_gmt(o.get("date_modified_gmt")) or started for o in page)
        self.state.cursor_set(CURSOR, iso(min(newest, started)))

    # ------------------------------------------------------------------ one page

    def _process_page(self, orders: list[dict], deferred: list[tuple[dict, str]] | None = None) -> None:
        """Book one page; its write-back goes to ``deferred`` when given (the poll), else is done now."""
        to_book: list[dict] = []
        written_back: list[tuple[dict, str]] = []
        for order in orders:
            outcome = self._triage(order)
            if outcome is None:
                to_book.append(order)
                continue
            self.report.outcomes.append(outcome)
            if outcome.result == "unchanged" and outcome.document and not _has_meta(order, outcome.document):
                written_back.append((order, outcome.document))  # an earlier write-back failed
        if not to_book:
            self._write_back_later(written_back, deferred)
            return
        existing = self._page_reads(to_book)
        pending: list[dict] = []
        for order in to_book:
            found = existing.get(self._ext(order).upper())
            if found:
                outcome = self._link_existing(order, found)
                self.report.outcomes.append(outcome)
                if outcome.result == "linked":
                    written_back.append((order, outcome.document or ""))
            elif mapping.meta_value(order, META_KEY):
                self.report.outcomes.append(self._link_from_meta(order))
            else:
                pending.append(order)
        if pending:
            if self.concurrency > 1 and len(pending) > 1:
                with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                    outcomes = list(pool.map(self._book_safely, pending))
            else:
                outcomes = [self._book_safely(o) for o in pending]
            for order, outcome in zip(pending, outcomes, strict=True):
                self.report.outcomes.append(outcome)
                if outcome.result == "booked":
                    written_back.append((order, outcome.document or ""))
            systemic = [o for o in outcomes if o.result == "aborted"]
            if systemic:
                self._write_back_later(written_back, deferred)
                raise systemic[0].error  # type: ignore[attr-defined]
        self._write_back_later(written_back, deferred)

    def _write_back_later(
        self, done: list[tuple[dict, str]], deferred: list[tuple[dict, str]] | None
    ) -> None:
        # Notes go out now, in the background: adding a note does not move date_modified, so unlike
        # the meta write-back it cannot disturb the poll's paging, and it overlaps the next page's BC work.
        self._send_notes(done)
        if deferred is None:
            self._write_back(done)
        else:  # keep only what the write-back reads, not whole orders
            deferred.extend(({"id": o["id"], "meta_data": o.get("meta_data") or []}, n) for o, n in done)

    def _ext(self, order: dict) -> str:
        return mapping.document_number(order, self.cfg.number_prefix)

    def _triage(self, order: dict) -> Outcome | None:
        """Decide without BC calls: skip, hold, echo, conflict; None = needs booking."""
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        record = self.state.record_get(rid)
        link = self.state.link_get("order", str(order["id"]))
        if link:
            if record and record["status"] == "pending" and not self.dry_run:
                # Killed between the link and the record in _commit: the link is the truth.
                document = link.get("bc_number")
                entity = (link.get("data") or {}).get("entity")
                self.state.record_done(rid, "order", number, data={"document": document, "entity": entity})
                self.state.journal(
                    rid,
                    "result",
                    {"status": "done", "document": document, "settled_by": "link"},
                    run_id=self.run_id,
                )
            return self._compare_booked(order, link)
        if record and record["status"] == "on_hold" and not self.replay:
            return Outcome(order["id"], number, "held", message="on hold: run `wcbc replay` once fixed")
        status = order.get("status")
        if status not in self.cfg.statuses:
            reason = f"status {status!r} is not in orders.statuses ({', '.join(self.cfg.statuses)})"
            if not self.dry_run:
                self.state.record_put(rid, "order", number, "skipped", error=reason)
                self.state.journal(rid, "skipped", {"reason": reason}, run_id=self.run_id)
            return Outcome(order["id"], number, "skipped", message=reason)
        return None

    def _compare_booked(self, order: dict, link: dict) -> Outcome:
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        before = (link.get("data") or {}).get("summary") or {}
        if before.get("fingerprint") == mapping.order_fingerprint(order):
            return Outcome(order["id"], number, "unchanged", document=link.get("bc_number"))
        changes = mapping.diff_orders(before, order)
        if not self.dry_run:
            self.state.conflict_add(rid, {"document": link.get("bc_number"), "changes": changes})
            self.state.journal(rid, "conflict", {"changes": changes}, run_id=self.run_id)
            self.state.link_set(
                "order",
                str(order["id"]),
                link["bc_id"],
                link.get("bc_number"),
                {**(link.get("data") or {}), "summary": mapping.summarize(order), "previous": before},
            )
        return Outcome(
            order["id"],
            number,
            "conflict",
            document=link.get("bc_number"),
            message="changed after booking: " + "; ".join(changes)[:300],
        )

    # ------------------------------------------------------------------ lookups

    def _document_queries(self, orders: list[dict]) -> list[tuple[str, dict[str, str]]]:
        numbers = sorted({self._ext(o) for o in orders})
        return [
            (entity, {"$filter": flt, **odata.SCHEMA_2_1})
            for entity in ("salesOrders", "salesInvoices")
            for flt in odata.in_chunks("externalDocumentNumber", numbers)
        ]

    @staticmethod
    def _merge_documents(queries: list[tuple[str, dict]], answers: list[list[dict]]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for (entity, _), docs in zip(queries, answers, strict=True):
            for doc in docs:
                key = str(doc.get("externalDocumentNumber", "")).upper()
                doc["@entity"] = entity
                # A posted invoice beats a draft; an invoice beats an order that was shipped.
                if key not in found or entity == "salesInvoices":
                    found[key] = doc
        return found

    def _lookup_documents(self, orders: list[dict]) -> dict[str, dict]:
        """One query per entity (per filter chunk): externalDocumentNumber in (...)."""
        queries = self._document_queries(orders)
        return self._merge_documents(queries, [list(self.bc.iter(e, p)) for e, p in queries])

    def _page_reads(self, orders: list[dict]) -> dict[str, dict]:
        """All the reads a page needs, sent together (up to ``concurrency`` at once): the documents by
        externalDocumentNumber, the SKUs not checked yet, the unlinked buyers by e-mail. Returns the
        documents found; fills the item and customer caches."""
        docs = self._document_queries(orders)
        skus = self._wanted_skus(orders)
        emails = self._wanted_emails(orders)
        items = [
            ("items", {"$filter": flt, "$select": "number,blocked", **odata.SCHEMA_2_1})
            for flt in odata.in_chunks("number", sorted(skus))
        ]
        customers = [
            ("customers", {"$filter": flt, "$select": "id,number,email", **odata.SCHEMA_2_1})
            for flt in odata.in_chunks("email", sorted(emails))
        ]
        queries = docs + items + customers
        if self.concurrency > 1 and len(queries) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(queries))) as pool:
                answers = list(pool.map(lambda q: list(self.bc.iter(q[0], q[1])), queries))
        else:
            answers = [list(self.bc.iter(e, p)) for e, p in queries]
        found = self._merge_documents(docs, answers[: len(docs)])
        self._remember_items(skus, answers[len(docs) : len(docs) + len(items)])
        self._remember_customers(emails, answers[len(docs) + len(items) :])
        return found

    def _link_from_meta(self, order: dict) -> Outcome:
        """The order carries our write-back but BC shows no document under its externalDocumentNumber
        (orders.number_prefix changed, or the document was renumbered or removed in BC): it was booked
        once, so it is never booked again. Linked by number only, and reported."""
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        document = str(mapping.meta_value(order, META_KEY))
        message = (
            f"the order names BC document {document} ({META_KEY}) but BC shows none for "
            f"{self._ext(order)}: not booked again; check orders.number_prefix or the document in BC"
        )
        log.warning("order %s: %s", number, message)
        if not self.dry_run:
            self.state.link_set(
                "order",
                str(order["id"]),
                f"number:{document}",
                document,
                {"entity": None, "summary": mapping.summarize(order), "from_meta": True},
            )
            self.state.record_done(rid, "order", number, data={"document": document, "from_meta": True})
            self.state.journal(rid, "result", {"status": "done", "document": document, "warning": message})
        return Outcome(order["id"], number, "linked", document=document, message=message)

    def _link_existing(self, order: dict, doc: dict) -> Outcome:
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        entity = doc["@entity"]
        if self.dry_run:
            return Outcome(order["id"], number, "linked", document=doc.get("number"), message="already in BC")
        self.state.journal(
            rid, "answered", {"lookup": entity, "found": doc.get("number")}, run_id=self.run_id
        )
        if self.cfg.target == "posted_invoice" and entity == "salesInvoices" and doc.get("status") == "Draft":
            self.state.journal(rid, "sent", {"action": "Microsoft.NAV.post", "document": doc.get("number")})
            self.bc.action(f"salesInvoices({doc['id']})/Microsoft.NAV.post")
        self._commit(order, doc["id"], str(doc.get("number")), entity)
        return Outcome(
            order["id"], number, "linked", document=doc.get("number"), message="found in BC, linked"
        )

    # ------------------------------------------------------------------ customers

    def _buyer(self, order: dict) -> tuple[str, str] | None:
        """The links key of the buyer, or None when the fixed guest customer applies."""
        if int(order.get("customer_id") or 0) == 0:
            email = (order.get("billing") or {}).get("email") or ""
            if self.cfg.guest_customer:
                return None
            if not email:
                raise RecordError(
                    f"order {order.get('number')}: guest order without a billing e-mail",
                    hint="set orders.guest_customer to book guest orders on one BC customer",
                )
            return ("guest", email.strip().lower())
        return ("customer", str(order["customer_id"]))

    def _remember_customers(self, emails: set[str], answers: list[list[dict]]) -> None:
        by_email: dict[str, dict] = {}
        for customers in answers:
            for customer in customers:
                key = str(customer.get("email", "")).strip().lower()
                by_email.setdefault(key, customer)
        self._by_email = by_email
        # An e-mail looked up and not found needs no second query when its customer is created.
        self._looked_up = {e.strip().lower() for e in emails}

    def _wanted_emails(self, orders: list[dict]) -> set[str]:
        emails: set[str] = set()
        for order in orders:
            try:
                buyer = self._buyer(order)
            except RecordError:
                continue
            if buyer is None or buyer in self._customers:
                continue
            link = self.state.link_get("customer", f"{buyer[0]}:{buyer[1]}")
            if link:
                self._customers[buyer] = link["bc_number"]
                continue
            email = ((order.get("billing") or {}).get("email") or "").strip()
            if email:
                emails.add(email)
        return emails

    def _wanted_skus(self, orders: list[dict]) -> set[str]:
        return (
            {
                self.skus.number_for(str(line.get("sku") or ""))
                for order in orders
                for line in order.get("line_items") or []
            }
            - {""}
            - set(self._items)
        )

    def _remember_items(self, wanted: set[str], answers: list[list[dict]]) -> None:
        for items in answers:
            for item in items:
                self._items[str(item["number"]).upper()] = bool(item.get("blocked"))
        for sku in wanted:
            self._items.setdefault(sku, None)

    def _check_items(self, order: dict) -> None:
        for line in order.get("line_items") or []:
            sku = str(line.get("sku") or "").strip()
            if not sku:
                continue  # the mapping names a line without SKU
            number = self.skus.number_for(sku)
            state = self._items.get(number, False)
            where = f"order {order.get('number')}: line {line.get('id')} ({line.get('name')})"
            mapped = "" if number == sku.upper() else f" (mapped to {number} by items.mapping_file)"
            if state is None:
                raise RecordError(
                    f"{where}: SKU {sku!r}{mapped} is not a BC item number",
                    hint="create the item in BC (or fix the SKU or the mapping), then `wcbc replay`",
                )
            if state is True:
                raise RecordError(f"{where}: BC item {number!r} is blocked")

    def _customer_number(self, order: dict) -> str:
        buyer = self._buyer(order)
        if buyer is None:
            return str(self.cfg.guest_customer)
        with self._customer_lock:
            if buyer in self._customers:
                return self._customers[buyer]
            lock = self._buyer_locks.setdefault(buyer, threading.Lock())
        with lock:  # two orders of one new buyer in one run create one customer
            if buyer in self._customers:
                return self._customers[buyer]
            key = f"{buyer[0]}:{buyer[1]}"
            rid = f"order:{order['id']}"
            link = self.state.link_get("customer", key)
            if link:
                number = link["bc_number"]
            else:
                email = ((order.get("billing") or {}).get("email") or "").strip()
                customer = self._by_email.get(email.lower()) if email else None
                if customer is None and email and email.lower() not in self._looked_up:
                    matches = list(self.bc.iter("customers", {"$filter": odata.eq("email", email)}))
                    customer = matches[0] if matches else None
                if customer is None:
                    body = mapping.map_customer(order, self.options)
                    if self.dry_run:
                        self.report.preview.append({"order": order.get("number"), "create_customer": body})
                        number = f"(new customer for {email or key})"
                        self._customers[buyer] = number
                        return number
                    self.state.journal(rid, "sent", {"create_customer": body}, run_id=self.run_id)
                    try:
                        customer = self.bc.post("customers", body)
                    except UnreachableError as exc:
                        # The POST may have landed: settle by e-mail before anything else.
                        again = list(self.bc.iter("customers", {"$filter": odata.eq("email", email)}))
                        if not (email and again):
                            if isinstance(exc, AmbiguousWriteError) and email:
                                raise _Unsettled(
                                    f"the answer to its customer POST was lost ({exc.detail}); "
                                    "no customer with that e-mail in BC yet"
                                ) from exc
                            raise
                        customer = again[0]
                    self.report.customers_created += 1
                    self.state.journal(
                        rid, "answered", {"customer": customer.get("number")}, run_id=self.run_id
                    )
                number = str(customer["number"])
                if not self.dry_run:
                    self.state.link_set("customer", key, str(customer["id"]), number)
            self._customers[buyer] = number
            return number

    # ------------------------------------------------------------------ booking

    def _book_safely(self, order: dict) -> Outcome:
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        try:
            return self._book(order)
        except _Unsettled as exc:
            message = f"order {number}: {exc}; retried on the next run"
            if not self.dry_run:  # failed, but not counted toward on_hold: the order did nothing wrong
                self.state.record_put(rid, "order", number, "failed", error=message)
                self.state.journal(rid, "result", {"status": "failed", "error": message}, run_id=self.run_id)
            log.warning("%s", message)
            return Outcome(order["id"], number, "failed", message=message)
        except SYSTEMIC as exc:
            outcome = Outcome(order["id"], number, "aborted", message=str(exc))
            outcome.error = exc  # type: ignore[attr-defined]
            if not self.dry_run:
                self.state.journal(rid, "result", {"aborted": str(exc)}, run_id=self.run_id)
            return outcome
        except (RecordError, RemoteError) as exc:
            message = f"order {number}: {exc}"
            if self.dry_run:
                return Outcome(order["id"], number, "failed", message=message)
            status = self.state.record_fail(rid, "order", number, message, max_attempts=self.cfg.max_attempts)
            self.state.journal(rid, "result", {"status": status, "error": message}, run_id=self.run_id)
            log.error("%s", message)
            return Outcome(order["id"], number, status, message=message)

    def _book(self, order: dict) -> Outcome:
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        self._check_items(order)
        customer_number = self._customer_number(order)
        shared_guest = self._buyer(order) is None  # booked on orders.guest_customer: keep the buyer's address
        body = mapping.map_document(
            order,
            self.options,
            customer_number=customer_number,
            sell_to_from_billing=shared_guest,
            item_numbers=self._item_numbers,
        )
        if self.dry_run:
            self.report.preview.append(
                {
                    "order": number,
                    "entity": self.entity,
                    "document": body,
                    "woo_total": str(order.get("total")),
                }
            )
            return Outcome(
                order["id"], number, "would_book", message=f"{len(body.get(LINES[self.entity], []))} lines"
            )
        self.state.record_put(
            rid, "order", number, "pending", data={"intent": body["externalDocumentNumber"]}
        )
        self.state.journal(rid, "mapped", body, run_id=self.run_id)
        self.state.journal(
            rid, "sent", {"entity": self.entity, "externalDocumentNumber": body["externalDocumentNumber"]}
        )
        try:
            doc = self.bc.post(self.entity, body)
        except UnreachableError as exc:
            # The POST may have landed before the connection broke: settle it by the idempotency key.
            found = self._lookup_documents([order]).get(self._ext(order).upper())
            if not found:
                if isinstance(exc, AmbiguousWriteError):
                    # BC answered the lookup, so it is up: only this order is unsettled. The next run's
                    # lookup settles it (a POST still in flight is then found and linked).
                    raise _Unsettled(
                        f"the answer to its POST was lost ({exc.detail}); nothing found in BC yet"
                    ) from exc
                raise
            self.state.journal(rid, "retried", {"settled_by_lookup": found.get("number")}, run_id=self.run_id)
            doc = found
        self.state.journal(
            rid,
            "answered",
            {"id": doc.get("id"), "number": doc.get("number"), "total": doc.get("totalAmountIncludingTax")},
        )
        difference = self._check_totals(order, doc, rid)
        if self.cfg.target == "posted_invoice":
            self.state.journal(rid, "sent", {"action": "Microsoft.NAV.post", "document": doc.get("number")})
            self.bc.action(f"salesInvoices({doc['id']})/Microsoft.NAV.post")
        self._commit(order, doc["id"], str(doc.get("number")), self.entity)
        return Outcome(order["id"], number, "booked", document=str(doc.get("number")), difference=difference)

    def _check_totals(self, order: dict, doc: dict, rid: str) -> Decimal | None:
        check = mapping.compare_totals(order, doc, self.cfg.total_tolerance)
        if check.within_tolerance:
            return check.difference or None
        if self.cfg.rounding_account:
            line = mapping.rounding_line(check.difference, self.cfg.rounding_account)
            self.state.journal(rid, "sent", {"rounding_line": line}, run_id=self.run_id)
            self.bc.post(f"{self.entity}({doc['id']})/{LINES[self.entity]}", line)
        else:
            warning = (
                f"BC total {check.bc_total} differs from WooCommerce total {check.woo_total} "
                f"by {check.difference} "
                "(set orders.rounding_account to add a rounding line)"
            )
            self.state.journal(rid, "warning", {"message": warning}, run_id=self.run_id)
            log.warning("order %s: %s", order.get("number"), warning)
        return check.difference

    def _commit(self, order: dict, bc_id: str, bc_number: str, entity: str) -> None:
        rid = f"order:{order['id']}"
        number = str(order.get("number", order["id"]))
        summary = mapping.summarize(order)
        self.state.link_set(
            "order", str(order["id"]), bc_id, bc_number, {"entity": entity, "summary": summary}
        )
        self.state.record_done(rid, "order", number, data={"document": bc_number, "entity": entity})
        self.state.journal(rid, "result", {"status": "done", "document": bc_number}, run_id=self.run_id)

    def _send_notes(self, done: list[tuple[dict, str]]) -> None:
        """With orders.add_note, one note per newly booked order (WooCommerce has no batch for notes),
        sent by a small pool in the background; :meth:`_finish_notes` waits for them."""
        if self.dry_run or not self.cfg.add_note:
            return
        notes = [
            (order["id"], f"Booked in Business Central as {number} by wcbc.")
            for order, number in done
            if not any(m.get("key") == META_KEY for m in order.get("meta_data") or [])
        ]
        if not notes:
            return
        if self._notes_pool is None:
            workers = getattr(self.config.woocommerce, "concurrency", WOO_CONCURRENCY)
            self._notes_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wcbc-notes")
        for order_id, text in notes:
            self._notes_pool.submit(self._note, order_id, text)

    def _note(self, order_id: int, text: str) -> None:
        try:
            self.woo.add_order_note(order_id, text)
        except WcbcError as exc:  # cosmetic: the meta write-back is what counts
            log.warning("order %s: the note naming its BC document was not added (%s)", order_id, exc)

    def _finish_notes(self) -> None:
        if self._notes_pool is not None:
            self._notes_pool.shutdown(wait=True)
            self._notes_pool = None

    def _write_back(self, done: list[tuple[dict, str]]) -> None:
        """Put the BC number on the WooCommerce orders: one orders/batch call per 100 orders."""
        if self.dry_run or not done:
            return
        updates = [
            {"id": order["id"], "meta_data": [{"key": META_KEY, "value": number}]}
            for order, number in done
            if not _has_meta(order, number)
        ]
        try:
            if updates:
                for result in self.woo.batch_orders(updates):
                    if not result.ok:
                        log.warning("write-back to order %s failed: %s", result.id, result.error)
        except WcbcError as exc:
            # The BC document exists and is linked: a failed write-back loses nothing.
            log.warning("write-back of BC numbers failed (%s); the next run will retry it", exc)
