"""ItemSync logic against small in-memory fakes of the two APIs (the real State on a temp file).

The fakes (also used by tests/sync/test_reconcile.py) understand exactly the queries item sync sends:
they fail
loudly on anything else, so a query that BC would refuse cannot slip through here.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wcbc.adapters.woo.client import BatchResult
from wcbc.core.config import ItemsConfig, OrdersConfig, WooConfig
from wcbc.core.errors import ConfigError, UnreachableError
from wcbc.core.state import State
from wcbc.core.time import odata_literal as bc_time
from wcbc.core.time import parse as parse_time
from wcbc.sync.common.cursors import ITEMS_LEDGER_ENTRY as CURSOR_LEDGER
from wcbc.sync.common.cursors import ITEMS_MODIFIED_AFTER as CURSOR_MODIFIED
from wcbc.sync.items.catalog import Catalog, SkuMap
from wcbc.sync.items.sync import ItemSync

COMPANY = "b18aed47-c385-49d2-b954-dbdf8ad71780"
T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------- fakes


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    moment = parse_time(text) if "T" in text else None
    if moment is not None:
        return moment
    return text  # a bare GUID or a date


def _term(record: dict, term: str) -> bool:
    match = re.fullmatch(r"\s*\(?\s*(\w+) (eq|ne|gt|ge|lt|le) (.+?)\s*\)?\s*", term)
    assert match, f"fake BC cannot read filter term {term!r}"
    name, op, raw = match.groups()
    value = _literal(raw)
    have = record.get(name)
    if isinstance(value, dt.datetime):
        have = parse_time(have)
    elif isinstance(value, str):
        have, value = str(have or "").upper(), value.upper()
    ops = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
           "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}
    return ops[op](have, value)


def matches(record: dict, flt: str | None) -> bool:
    if not flt:
        return True
    for conjunct in flt.split(" and "):
        terms = conjunct.strip().strip("()").split(" or ")
        fields = {t.strip().split(" ")[0] for t in terms}
        assert len(fields) == 1, "BC refuses 'or' across different fields"
        if not any(_term(record, t) for t in terms):
            return False
    return True


class FakeBC:
    """items, itemLedgerEntries, salesOrders (+lines), salesInvoices; counts calls per entity set."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.ledger: list[dict] = []
        self.sales_orders: list[dict] = []
        self.sales_invoices: list[dict] = []
        self.calls: collections.Counter[str] = collections.Counter()
        self.queries: list[tuple[str, dict]] = []
        self.fail_with: Exception | None = None
        self.clock = T0

    def tick(self) -> str:
        self.clock += dt.timedelta(seconds=1)
        return bc_time(self.clock)

    def add_item(self, number: str, price: Any = "10", inventory: Any = 0, **fields: Any) -> dict:
        item = {"id": f"00000000-0000-0000-0000-{len(self.items) + 1:012d}", "number": number.upper(),
                "displayName": number.title(), "type": "Inventory", "unitPrice": Decimal(str(price)),
                "inventory": Decimal(str(inventory)), "blocked": False, "priceIncludesTax": False,
                "lastModifiedDateTime": self.tick(), **fields}
        self.items.append(item)
        return item

    def item(self, number: str) -> dict:
        return next(i for i in self.items if i["number"] == number.upper())

    def change(self, number: str, **fields: Any) -> dict:
        item = self.item(number)
        item.update(fields)
        item["lastModifiedDateTime"] = self.tick()
        return item

    def move(self, number: str, quantity: Any) -> None:
        """A stock movement: a ledger entry, the item record is untouched (like BC)."""
        item = self.item(number)
        item["inventory"] += Decimal(str(quantity))
        self.ledger.append({"entryNumber": len(self.ledger) + 1, "itemNumber": item["number"],
                            "quantity": Decimal(str(quantity))})

    def iter(self, path: str, params: dict | None = None, *, page_size: int | None = None):
        params = dict(params or {})
        self.calls[path] += 1
        self.queries.append((path, params))
        if self.fail_with is not None:
            raise self.fail_with
        rows = {"items": self.items, "itemLedgerEntries": self.ledger, "salesOrders": self.sales_orders,
                "salesInvoices": self.sales_invoices}[path]
        found = [r for r in rows if matches(r, params.get("$filter"))]
        if params.get("$orderby"):
            name, _, direction = params["$orderby"].partition(" ")
            found.sort(key=lambda r: r[name], reverse=direction == "desc")
        if params.get("$top"):
            found = found[: int(params["$top"])]
        select = params.get("$select")
        for row in found:
            if select:
                out = {k: row[k] for k in select.split(",") if k in row}
                for key in row:
                    if key.endswith("Lines") and key in params.get("$expand", ""):
                        out[key] = row[key]
                yield out
            else:
                yield dict(row)


class FakeWoo:
    """Products (simple/variable) with variations, orders; batch writes with per-item errors."""

    def __init__(self) -> None:
        self.products: dict[int, dict] = {}
        self.orders: list[dict] = []
        self.calls: collections.Counter[str] = collections.Counter()
        self.fail_ids: set[int] = set()
        self.writes: list[tuple[str, list[dict]]] = []
        self._next = 100
        self.lock = threading.Lock()  # item sync calls from several threads (listing and batch pools)
        # Wraps every call (a context manager taking the route): tests watch concurrency with it.
        self.hook: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None

    def _call(self, route: str) -> contextlib.AbstractContextManager[Any]:
        with self.lock:
            self.calls[route] += 1
        return self.hook(route) if self.hook is not None else contextlib.nullcontext()

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_product(self, sku: str, price: str = "10.00", stock: int | None = None, **fields: Any) -> dict:
        product = {"id": self._id(), "sku": sku, "type": "simple", "parent_id": 0, "regular_price": price,
                   "sale_price": "", "manage_stock": stock is not None, "stock_quantity": stock,
                   "variations": [], **fields}
        self.products[product["id"]] = product
        return product

    def add_variable(self, sku: str, variations: list[tuple[str, str, int | None]]) -> dict:
        parent = self.add_product(sku, price="", type="variable")
        for vsku, price, stock in variations:
            child = self.add_product(vsku, price, stock, type="variation", parent_id=parent["id"])
            parent["variations"].append(child["id"])
        return parent

    def by_sku(self, sku: str) -> dict:
        return next(p for p in self.products.values() if p["sku"].upper() == sku.upper())

    def add_order(self, status: str, lines: list[tuple[str, int]], **fields: Any) -> dict:
        order = {"id": self._id(), "number": str(self._next), "status": status, "total": "0.00",
                 "line_items": [{"sku": s, "quantity": q} for s, q in lines], **fields}
        self.orders.append(order)
        return order

    # the WooClient surface used by item sync
    def find_products_by_sku(self, skus: list[str]) -> list[dict]:
        with self._call("GET /products?sku"):
            pass
        wanted = {s.upper() for s in skus}
        return [dict(p) for p in self.products.values() if p["sku"] and p["sku"].upper() in wanted]

    def _pages(self, route: str, rows: list[dict], per_page: int) -> Any:
        for start in range(0, max(len(rows), 1), per_page):
            with self._call(route), self.lock:
                page = [dict(r) for r in rows[start:start + per_page]]
            yield from page

    def iter_products(self, **params: Any) -> Any:
        rows = [p for p in self.products.values() if p["type"] != "variation"]
        return self._pages("GET /products", rows, int(params.get("per_page", 10)))

    def iter_variations(self, product_id: int, **params: Any) -> Any:
        rows = [{k: v for k, v in self.products[v].items() if k != "type"}
                for v in self.products[product_id]["variations"]]
        return self._pages("GET /products/{id}/variations", rows, int(params.get("per_page", 10)))

    def iter_orders(self, *, modified_after: Any = None, modified_before: Any = None, status: Any = None,
                    per_page: int = 100) -> Any:
        statuses = set(status.split(",")) if status else None
        rows = [o for o in self.orders if statuses is None or o["status"] in statuses]
        return self._pages("GET /orders", rows, per_page)

    def get_order(self, order_id: int) -> dict:
        with self._call("GET /orders/{id}"):
            pass
        return dict(next(o for o in self.orders if o["id"] == int(order_id)))

    def _batch(self, route: str, update: list[dict], parent: int | None) -> list[BatchResult]:
        results = []
        for start in range(0, len(update), 100):
            chunk = update[start:start + 100]
            with self._call(route), self.lock:
                self.writes.append((route, chunk))
                results.extend(self._apply(chunk, parent))
        return results

    def _apply(self, chunk: list[dict], parent: int | None) -> list[BatchResult]:
        results = []
        for change in chunk:
            product = self.products.get(int(change["id"]))
            if int(change["id"]) in self.fail_ids:
                results.append(BatchResult(change["id"], False, None, {
                    "code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                    "data": {"status": 400}}))
                continue
            wrong = product is None or (parent is None and product["type"] == "variation") or (
                parent is not None and product["parent_id"] != parent)
            if wrong:
                results.append(BatchResult(change["id"], False, None, {
                    "code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                    "data": {"status": 400}}))
                continue
            assert isinstance(change.get("regular_price", ""), str), "prices are sent as strings"
            assert product["type"] not in ("variable",) or "regular_price" not in change
            if "stock_quantity" in change:
                assert change.get("manage_stock") is True, "stock needs manage_stock true"
            product.update({k: v for k, v in change.items() if k != "id"})
            results.append(BatchResult(product["id"], True, dict(product), None))
        return results

    def batch_products(self, update: list[dict]) -> list[BatchResult]:
        return self._batch("POST /products/batch", update, None)

    def batch_variations(self, product_id: int, update: list[dict]) -> list[BatchResult]:
        return self._batch("POST /products/{id}/variations/batch", update, int(product_id))


def make_config(tmp_path: Path, **items: Any) -> SimpleNamespace:
    orders = items.pop("orders", {})
    return SimpleNamespace(
        woocommerce=WooConfig(url="https://shop.example"),
        items=ItemsConfig(**items),
        orders=OrdersConfig(**orders),
    )


def notify(state: State, item: dict | None = None, change: str = "updated", resource: str | None = None,
           when: str = "2026-01-05T10:00:00Z") -> int:
    """Store a BC notification the way wcbc.webhooks.app does."""
    if resource is None:
        assert item is not None
        resource = f"api/v2.0/companies({COMPANY})/items({item['id']})"
    body = {"subscriptionId": "s1", "resource": resource, "changeType": change, "lastModifiedDateTime": when}
    return state.inbox_add("business_central", change, resource, json.dumps(body).encode())


class Env:
    def __init__(self, tmp_path: Path, **items: Any) -> None:
        self.tmp = tmp_path
        self.bc = FakeBC()
        self.woo = FakeWoo()
        self.state = State(tmp_path / "state.db")
        self.config = make_config(tmp_path, **items)

    def sync(self, dry_run: bool = False):
        return ItemSync(self.woo, self.bc, self.state, self.config, dry_run=dry_run).run()

    def from_start(self) -> None:
        """Bookmarks before every item of the fake BC: the modified poll sees them all."""
        self.state.cursor_set(CURSOR_MODIFIED, bc_time(T0 - dt.timedelta(minutes=1)))
        self.state.cursor_set(CURSOR_LEDGER, "0")

    def ready(self) -> None:
        """Bookmarks as after an earlier run: no 24-hour look-back, ledger read from entry 0."""
        self.state.cursor_set(CURSOR_MODIFIED, bc_time(self.bc.clock))
        self.state.cursor_set(CURSOR_LEDGER, str(len(self.bc.ledger)))


@pytest.fixture
def env(tmp_path: Path):
    environment = Env(tmp_path)
    yield environment
    environment.state.close()


# ---------------------------------------------------------------------------- tests


def test_price_change_from_notification_updates_product_then_link_saves_the_search(env: Env) -> None:
    item = env.bc.add_item("TSHIRT-001", "20.00", 0, type="Service")
    env.woo.add_product("tshirt-001", "20.00")
    env.ready()
    env.bc.change("TSHIRT-001", unitPrice=Decimal("24.5"))
    env.state.cursor_set(CURSOR_MODIFIED, bc_time(env.bc.clock))  # only the notification names it
    notify(env.state, item)
    report = env.sync()
    assert report.counts == {"updated": 1}
    assert env.woo.by_sku("TSHIRT-001")["regular_price"] == "24.50"
    id_reads = [q for p, q in env.bc.queries if p == "items" and "id eq" in q.get("$filter", "")]
    assert len(id_reads) == 1 and "$select" in id_reads[0]
    assert env.state.inbox_backlog("business_central") == 0
    assert env.state.record_get("item:TSHIRT-001")["status"] == "done"
    # Next change: the link gives the product, no search; one write.
    env.bc.change("TSHIRT-001", unitPrice=Decimal("25"))
    notify(env.state, item)
    env.woo.calls.clear()
    report = env.sync()
    assert report.counts == {"updated": 1}
    assert env.woo.calls == {"POST /products/batch": 1}
    assert env.woo.writes[-1][1] == [{"id": env.woo.by_sku("TSHIRT-001")["id"], "regular_price": "25.00"}]


def test_stock_is_inventory_minus_open_bc_orders_minus_unbooked_web_orders(env: Env) -> None:
    env.bc.add_item("MUG-001", "12.50", 10)
    env.woo.add_product("MUG-001", "12.50", 10)
    env.bc.sales_orders.append({"id": "so1", "number": "S-1", "salesOrderLines": [
        {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 3, "shippedQuantity": 1},
        {"lineType": "Comment", "lineObjectNumber": "", "quantity": 0, "shippedQuantity": 0}]})
    booked = env.woo.add_order("processing", [("MUG-001", 2)])  # in BC already: on the open order
    env.state.link_set("order", str(booked["id"]), "so1", "S-1")
    env.woo.add_order("processing", [("mug-001", 1)])  # not booked yet
    env.woo.add_order("on-hold", [("MUG-001", 4)])  # not booked (status not in orders.statuses)
    env.woo.add_order("pending", [("MUG-001", 50)])  # unpaid: holds nothing
    env.woo.add_order("cancelled", [("MUG-001", 50)])
    env.from_start()
    report = env.sync()
    assert report.counts == {"updated": 1}
    product = env.woo.by_sku("MUG-001")
    assert product["stock_quantity"] == 10 - 2 - 1 - 4
    assert product["manage_stock"] is True
    so_query = next(q for p, q in env.bc.queries if p == "salesOrders")
    assert "salesOrderLines($select=" in so_query["$expand"] and so_query["$select"] == "id,number"


def test_stock_never_negative_and_hold_unbooked_off(tmp_path: Path) -> None:
    env = Env(tmp_path, hold_unbooked=False)
    env.bc.add_item("CAP-001", "9.99", Decimal("7.9"))
    env.woo.add_product("CAP-001", "9.99", 0)
    env.woo.add_order("processing", [("CAP-001", 5)])
    env.from_start()
    env.sync()
    assert env.woo.by_sku("CAP-001")["stock_quantity"] == 7  # rounded down, nothing held back
    assert env.bc.calls["salesOrders"] == 0 and env.woo.calls["GET /orders"] == 0
    env2 = Env(tmp_path / "b")
    env2.bc.add_item("CAP-001", "9.99", 2)
    env2.woo.add_product("CAP-001", "9.99", 2)
    env2.woo.add_order("processing", [("CAP-001", 5)])
    env2.from_start()
    env2.sync()
    assert env2.woo.by_sku("CAP-001")["stock_quantity"] == 0


def test_only_differences_are_sent_and_variable_parent_gets_no_price(env: Env) -> None:
    env.bc.add_item("HOODIE-S", "45.00", 10)
    env.bc.add_item("HOODIE-M", "49.00", 5)
    env.bc.add_item("HOODIE", "99.00", 0)  # the parent's SKU is a BC item too
    parent = env.woo.add_variable("HOODIE", [("HOODIE-S", "45", 10), ("HOODIE-M", "47.00", 5)])
    env.from_start()
    report = env.sync()
    assert report.count("updated") == 1 and report.count("unchanged") == 2
    assert env.woo.calls["POST /products/batch"] == 0
    route, body = env.woo.writes[0]
    assert route == "POST /products/{id}/variations/batch"
    assert body == [{"id": env.woo.by_sku("HOODIE-M")["id"], "regular_price": "49.00"}]
    assert env.woo.products[parent["id"]]["regular_price"] == ""
    link = env.state.link_get("product", str(env.woo.by_sku("HOODIE-M")["id"]))
    assert link["data"]["parent_id"] == parent["id"] and link["bc_number"] == "HOODIE-M"


def test_item_failing_inside_a_batch_is_recorded_then_put_on_hold(env: Env) -> None:
    for number in ("A-1", "A-2", "A-3"):
        env.bc.add_item(number, "5", 1)
        env.woo.add_product(number, "4.00", 1)
    env.woo.fail_ids.add(env.woo.by_sku("A-2")["id"])
    env.from_start()
    report = env.sync()
    assert report.by_number() == {"A-1": "updated", "A-2": "failed", "A-3": "updated"}
    assert env.woo.calls["POST /products/batch"] == 1
    record = env.state.record_get("item:A-2")
    assert record["status"] == "failed" and "Invalid or duplicated SKU" in record["last_error"]
    assert report.failed
    # Failed items are retried by the next runs (no new change needed) until on hold.
    assert env.sync().by_number() == {"A-2": "failed"}
    assert env.sync().by_number() == {"A-2": "on_hold"}
    assert env.state.record_get("item:A-2")["attempts"] == 3
    # On hold: left alone, even when BC changes it again...
    env.bc.change("A-2", unitPrice=Decimal("6"))
    writes = len(env.woo.writes)
    assert env.sync().by_number() == {"A-2": "held"}
    assert len(env.woo.writes) == writes
    # ...until replayed once the cause is fixed.
    env.woo.fail_ids.clear()
    result = ItemSync(env.woo, env.bc, env.state, env.config).replay(["A-2"])
    assert result == {"A-2": "updated"}
    assert env.state.record_get("item:A-2")["status"] == "done"
    assert env.woo.by_sku("A-2")["regular_price"] == "6.00"


def test_unknown_sku_reported_once_per_run(env: Env) -> None:
    item = env.bc.add_item("NOPE-1", "5", 1)
    env.ready()
    env.bc.move("NOPE-1", 3)
    env.bc.move("NOPE-1", -1)
    notify(env.state, item)
    notify(env.state, item)
    report = env.sync()
    assert report.unknown == ["NOPE-1"]
    assert report.counts == {"unknown": 1}
    record = env.state.record_get("item:NOPE-1")
    assert record["status"] == "skipped" and "NOPE-1" in record["last_error"]
    assert len([j for j in env.state.journal_for("item:NOPE-1") if j["step"] == "skipped"]) == 1
    assert env.woo.calls["GET /products?sku"] == 1


def test_blocked_and_zero_price_items_are_skipped_never_written_as_zero(env: Env) -> None:
    env.bc.add_item("B-1", "5", 1, blocked=True)
    env.bc.add_item("Z-1", "0", 8)
    env.woo.add_product("B-1", "5.00", 0)
    env.woo.add_product("Z-1", "3.00", 0)
    env.from_start()
    report = env.sync()
    assert report.counts == {"skipped": 2}
    assert env.woo.writes == []
    assert "blocked" in env.state.record_get("item:B-1")["last_error"]
    assert env.state.record_get("item:Z-1")["status"] == "skipped"


def test_deleted_notification_is_recorded_and_product_left_alone(env: Env) -> None:
    item = env.bc.add_item("GONE-1", "5", 1)
    env.woo.add_product("GONE-1", "5.00", 1)
    env.from_start()
    env.sync()  # links it
    env.bc.items.remove(item)
    env.ready()
    notify(env.state, item, change="deleted")
    report = env.sync()
    assert report.counts == {"deleted": 1}
    assert env.state.record_get("item:GONE-1")["status"] == "skipped"
    assert len(env.woo.products) == 1 and env.woo.writes == []


def test_collection_notification_reads_items_modified_after_its_time(env: Env) -> None:
    env.bc.add_item("C-1", "5", 1)
    env.bc.add_item("C-2", "5", 1)
    env.woo.add_product("C-1", "5.00", 1)
    env.woo.add_product("C-2", "4.00", 1)
    env.state.cursor_set(CURSOR_LEDGER, "0")
    env.state.cursor_set(CURSOR_MODIFIED, bc_time(env.bc.clock + dt.timedelta(hours=1)))  # nothing polled
    resource = (f"/api/v2.0/companies({COMPANY})/items?$filter=lastModifiedDateTime%20gt%20"
                f"{bc_time(T0)}")
    notify(env.state, change="collection", resource=resource)
    report = env.sync()
    assert report.by_number() == {"C-1": "unchanged", "C-2": "updated"}
    poll = [q["$filter"] for p, q in env.bc.queries if p == "items"]
    assert poll == [f"lastModifiedDateTime gt {bc_time(T0)}"]


def test_ledger_poll_pushes_only_the_items_that_moved(env: Env) -> None:
    env.bc.add_item("L-1", "5", 4)
    env.bc.add_item("L-2", "5", 4)
    env.woo.add_product("L-1", "5.00", 4)
    env.woo.add_product("L-2", "5.00", 4)
    env.bc.move("L-1", 1)
    env.state.cursor_set(CURSOR_MODIFIED, bc_time(env.bc.clock))
    first = env.sync()  # no ledger bookmark: start at the newest entry, push nothing
    assert first.counts == {} and env.state.cursor_get(CURSOR_LEDGER) == "1"
    env.bc.move("L-2", -3)
    env.bc.move("L-2", 1)
    report = env.sync()
    assert report.counts == {"updated": 1} and report.ledger_entries == 2
    assert env.woo.by_sku("L-2")["stock_quantity"] == 2
    assert env.state.cursor_get(CURSOR_LEDGER) == "3"
    by_number = [q["$filter"] for p, q in env.bc.queries if "number eq" in q.get("$filter", "")]
    assert by_number == ["number eq 'L-2'"]


def test_modified_poll_bookmark_moves_past_committed_items_never_past_start(env: Env) -> None:
    env.bc.add_item("M-1", "5", 1)
    env.woo.add_product("M-1", "4.00", 1)
    env.from_start()
    sync = ItemSync(env.woo, env.bc, env.state, env.config)
    sync.run()
    assert env.state.cursor_get(CURSOR_MODIFIED) == env.bc.item("M-1")["lastModifiedDateTime"]
    # An item stamped in the future (clock skew) never moves the bookmark past the run's start.
    env.bc.change("M-1", unitPrice=Decimal("7"), lastModifiedDateTime="2099-01-01T00:00:00Z")
    env.bc.item("M-1")["lastModifiedDateTime"] = "2099-01-01T00:00:00Z"
    sync = ItemSync(env.woo, env.bc, env.state, env.config)
    sync.run()
    assert parse_time(env.state.cursor_get(CURSOR_MODIFIED)) <= sync.started


def test_systemic_error_aborts_keeps_bookmarks_and_releases_inbox(env: Env) -> None:
    item = env.bc.add_item("S-1", "5", 1)
    env.woo.add_product("S-1", "4.00", 1)
    env.ready()
    before = env.state.cursors()
    notify(env.state, item)
    env.bc.fail_with = UnreachableError("down", system="business_central")
    with pytest.raises(UnreachableError):
        env.sync()
    assert env.state.cursors() == before
    assert [r["status"] for r in env.state.inbox_list(source="business_central")] == ["pending"]
    assert env.state.record_get("item:S-1") is None


def test_dry_run_writes_nothing(env: Env) -> None:
    item = env.bc.add_item("D-1", "5", 3)
    env.woo.add_product("D-1", "4.00", 1)
    notify(env.state, item)
    report = env.sync(dry_run=True)
    assert report.counts == {"would_update": 1}
    assert report.outcomes[0].changes == {"regular_price": "5.00", "manage_stock": True, "stock_quantity": 3}
    assert report.outcomes[0].before == {"regular_price": "4.00", "manage_stock": True, "stock_quantity": 1}
    assert env.woo.writes == []
    assert env.state.cursors() == {} and env.state.links("product") == []
    assert env.state.records() == [] and env.state.inbox_backlog("business_central") == 1


def test_mapping_file_matches_other_skus(tmp_path: Path) -> None:
    mapping = tmp_path / "items.csv"
    mapping.write_text("bc_item_number,woo_sku\n1000,WEB-CHAIR\n")
    env = Env(tmp_path, mapping_file=mapping)
    env.bc.add_item("1000", "120", 2)
    env.woo.add_product("WEB-CHAIR", "100.00", 2)
    env.woo.add_order("processing", [("web-chair", 1)])
    env.from_start()
    env.sync()
    assert env.woo.by_sku("WEB-CHAIR")["regular_price"] == "120.00"
    assert env.woo.by_sku("WEB-CHAIR")["stock_quantity"] == 1  # the unbooked web order maps back to 1000


def test_bad_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    mapping = tmp_path / "items.csv"
    mapping.write_text("1000,A\n1001\n")
    with pytest.raises(ConfigError) as info:
        SkuMap.load(mapping)
    assert "items.mapping_file" in str(info.value) and "line 2" in str(info.value)
    mapping.write_text("1000,A\n1001,a\n")
    with pytest.raises(ConfigError):
        SkuMap.load(mapping)
    with pytest.raises(ConfigError):
        SkuMap.load(tmp_path / "missing.csv")


def test_tax_conversion_needs_a_rate(tmp_path: Path) -> None:
    env = Env(tmp_path, prices_include_tax=True)
    env.bc.add_item("T-1", "100", 1)
    env.woo.add_product("T-1", "100.00", 1)
    env.from_start()
    with pytest.raises(ConfigError) as info:
        env.sync()
    assert "items.tax_rate" in str(info.value)
    env2 = Env(tmp_path / "b", prices_include_tax=True, tax_rate=Decimal("20"))
    env2.bc.add_item("T-1", "100", 1)
    env2.woo.add_product("T-1", "100.00", 1)
    env2.from_start()
    env2.sync()
    assert env2.woo.by_sku("T-1")["regular_price"] == "120.00"


def test_linked_product_deleted_in_woocommerce_forgets_the_link(env: Env) -> None:
    env.bc.add_item("X-1", "5", 1)
    product = env.woo.add_product("X-1", "5.00", 1)
    env.from_start()
    env.sync()
    assert env.state.link_get("product", str(product["id"]))
    del env.woo.products[product["id"]]
    env.bc.change("X-1", unitPrice=Decimal("6"))
    report = env.sync()
    assert report.by_number() == {"X-1": "failed"}
    assert env.state.link_get("product", str(product["id"])) is None
    assert env.sync().by_number() == {"X-1": "unknown"}  # searched again, not found


def test_a_batch_call_refused_as_a_whole_fails_each_of_its_items(env: Env) -> None:
    from wcbc.core.errors import ValidationError

    for number in ("W-1", "W-2"):
        env.bc.add_item(number, "5", 1)
        env.woo.add_product(number, "4.00", 1)
    env.from_start()

    def refuse(update: list[dict]) -> list:
        raise ValidationError("Unable to accept more than 100 items", system="woocommerce",
                              call="POST /products/batch", status=413)

    env.woo.batch_products = refuse  # type: ignore[method-assign]
    report = env.sync()
    assert report.by_number() == {"W-1": "failed", "W-2": "failed"}
    assert "more than 100" in env.state.record_get("item:W-2")["last_error"]


# ---------------------------------------------------------------------------- concurrency


class InFlight:
    """Watches the fake WooCommerce calls: how many run at once, in which threads.

    Each call holds its slot for a moment; the first ``meet`` calls whose route contains ``route`` wait
    for each other (a barrier), which can only pass if that many such calls run at the same time.
    """

    def __init__(self, route: str = "", meet: int = 0) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.threads: collections.Counter[str] = collections.Counter()
        self.route = route
        self.barrier = threading.Barrier(meet) if meet > 1 else None
        self.waiting = meet

    @contextlib.contextmanager
    def __call__(self, route: str) -> Iterator[None]:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.threads[threading.current_thread().name.split("_")[0]] += 1
            meet = self.barrier is not None and self.route in route and self.waiting > 0
            if meet:
                self.waiting -= 1
        try:
            if meet:
                assert self.barrier is not None
                self.barrier.wait(timeout=10)
            time.sleep(0.002)
            yield
        finally:
            with self.lock:
                self.now -= 1


def big_store(env: Env, simple: int = 230, variable: int = 24) -> None:
    """Simple and variable products interleaved (3 pages of 100), every fifth value differing in BC."""
    n = 0
    for index in range(simple + variable):
        if index % 10 == 3 and index // 10 < variable:
            variations = []
            for size in ("S", "M", "L"):
                number = f"V{index:03d}-{size}"
                env.bc.add_item(number, "30", 4)
                variations.append((number, "30.00" if n % 5 else "29.00", 4))
                n += 1
            env.woo.add_variable(f"V{index:03d}", variations)
        else:
            number = f"P-{index:03d}"
            env.bc.add_item(number, "10", 3)
            env.woo.add_product(number, "10.00", 3 if n % 5 else 2)
            n += 1


def test_listing_reads_variations_concurrently_in_the_same_order(env: Env) -> None:
    big_store(env)
    sequential = list(Catalog(env.woo, env.state, concurrency=1).iter_all())
    calls = dict(env.woo.calls)
    env.woo.calls.clear()
    watch = InFlight("/variations", meet=3)
    env.woo.hook = watch
    concurrent = list(Catalog(env.woo, env.state, concurrency=4).iter_all())
    assert concurrent == sequential
    assert dict(env.woo.calls) == calls  # the same calls, no more
    assert calls["GET /products"] == 3 and calls["GET /products/{id}/variations"] == 24
    assert 3 <= watch.peak <= 4  # the barrier of 3 passed; never more than 4 at once
    assert watch.threads["wcbc-variations"] == 24 and watch.threads["wcbc-products"] == 3
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]


def test_listing_error_comes_out_after_the_products_before_it(env: Env) -> None:
    big_store(env)
    sequential = list(Catalog(env.woo, env.state, concurrency=1).iter_all())
    broken = env.woo.by_sku("V123")["id"]
    real = env.woo.iter_variations

    def variations(product_id: int, **params: Any) -> Any:
        if product_id == broken:
            raise UnreachableError("store down", system="woocommerce")
        return real(product_id, **params)

    env.woo.iter_variations = variations  # type: ignore[method-assign]
    seen: list[Any] = []
    with pytest.raises(UnreachableError):
        for product in Catalog(env.woo, env.state, concurrency=4).iter_all():
            seen.append(product)
    position = next(i for i, p in enumerate(sequential) if p.id == broken)
    assert seen == sequential[: position + 1]  # up to the parent whose variations could not be read
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]
    # Closing a listing half-way stops its threads too.
    listing = Catalog(env.woo, env.state, concurrency=4).iter_all()
    assert [next(listing) for _ in range(5)] == sequential[:5]
    listing.close()
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]


def test_batch_writes_run_in_a_pool_and_state_is_written_in_the_calling_thread(env: Env) -> None:
    # One chunk of 100 items: 70 simple products + 30 variations under 10 parents = 11 batch calls.
    for n in range(70):
        env.bc.add_item(f"S-{n:02d}", "10", 3)
        env.woo.add_product(f"S-{n:02d}", "9.00", 3)
    for p in range(10):
        sizes = [(f"Q{p}-{s}", "9.00", 3) for s in ("S", "M", "L")]
        for number, _, _ in sizes:
            env.bc.add_item(number, "10", 3)
        env.woo.add_variable(f"Q{p}", sizes)
    env.from_start()
    caller = threading.current_thread()
    writers: set[str] = set()
    for name in ("journal", "record_done", "record_fail", "record_put", "link_set", "link_delete",
                 "cursor_set", "inbox_done"):
        real = getattr(env.state, name)

        def wrapped(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            writers.add(threading.current_thread().name)
            assert threading.current_thread() is caller, "state written outside the calling thread"
            return _real(*args, **kwargs)

        setattr(env.state, name, wrapped)
    watch = InFlight("/batch", meet=4)
    env.woo.hook = watch
    report = env.sync()
    assert report.counts == {"updated": 100}
    assert env.woo.calls["POST /products/batch"] == 1
    assert env.woo.calls["POST /products/{id}/variations/batch"] == 10
    assert watch.peak == 4 and watch.threads["wcbc-batch"] == 11
    assert writers == {caller.name}
    assert {r["status"] for r in env.state.records(kind="item")} == {"done"}
    # Outcomes come in the order the calls were sent: the parents one after another.
    variation_outcomes = [o.number for o in report.outcomes if o.number.startswith("Q")]
    assert variation_outcomes == sorted(variation_outcomes, key=lambda n: (int(n[1]), "SML".index(n[-1])))
    assert not [t for t in threading.enumerate() if t.name.startswith("wcbc-batch")]


def test_systemic_error_in_one_batch_records_the_calls_already_answered(env: Env) -> None:
    for p in range(8):
        sizes = [(f"R{p}-{s}", "9.00", 3) for s in ("S", "M")]
        for number, _, _ in sizes:
            env.bc.add_item(number, "10", 3)
        env.woo.add_variable(f"R{p}", sizes)
    env.from_start()
    before = env.state.cursors()
    broken = env.woo.by_sku("R2")["id"]
    real = env.woo.batch_variations

    def batch(product_id: int, update: list[dict]) -> list[BatchResult]:
        if int(product_id) == broken:
            raise UnreachableError("store down", system="woocommerce")
        return real(product_id, update)

    env.woo.batch_variations = batch  # type: ignore[method-assign]
    with pytest.raises(UnreachableError):
        env.sync()
    written = {env.woo.products[int(c["id"])]["sku"] for _, chunk in env.woo.writes for c in chunk}
    assert {"R0-S", "R0-M", "R1-S", "R1-M"} <= written and not written & {"R2-S", "R2-M"}
    for number in ("R0-S", "R0-M", "R1-S", "R1-M", "R2-S", "R2-M", "R7-M"):
        record = env.state.record_get(f"item:{number}")
        steps = [j["step"] for j in env.state.journal_for(f"item:{number}")]
        if number in written:  # answered: recorded as done, whichever order the threads finished in
            assert record["status"] == "done" and steps[-1] == "result"
        else:  # not written: nothing recorded as done, the next run tries again
            assert record is None or record["status"] != "done"
            assert "result" not in steps
    assert env.state.cursors() == before
    assert not [t for t in threading.enumerate() if t.name.startswith("wcbc-batch")]
    env.woo.batch_variations = real  # type: ignore[method-assign]
    assert set(env.sync().by_number().values()) <= {"updated", "unchanged"}
    assert {env.woo.by_sku(f"R{p}-M")["regular_price"] for p in range(8)} == {"10.00"}


def test_notified_items_the_poll_returned_are_not_read_again_by_id(env: Env) -> None:
    polled = [env.bc.add_item(f"N-{n}", "5", 1) for n in range(3)]
    quiet = env.bc.add_item("N-QUIET", "5", 1)
    for number in ("N-0", "N-1", "N-2", "N-QUIET"):
        env.woo.add_product(number, "5.00", 1)
    env.ready()
    for item in polled:
        env.bc.change(item["number"], unitPrice=Decimal("6"))
        notify(env.state, item)
    env.bc.change("N-QUIET", unitPrice=Decimal("7"))
    env.state.cursor_set(CURSOR_MODIFIED, bc_time(env.bc.clock))  # the poll will not see N-QUIET
    env.bc.item("N-QUIET")["lastModifiedDateTime"] = bc_time(T0)
    notify(env.state, quiet)
    for item in polled:  # changed again after the bookmark: the poll returns these three
        env.bc.change(item["number"], unitPrice=Decimal("8"))
    env.bc.queries.clear()
    report = env.sync()
    assert report.by_number() == {"N-0": "updated", "N-1": "updated", "N-2": "updated", "N-QUIET": "updated"}
    filters = [q.get("$filter", "") for p, q in env.bc.queries if p == "items"]
    assert filters[0].startswith("lastModifiedDateTime gt")
    by_id = [f for f in filters if f.startswith("id eq") or "(id eq" in f]
    assert by_id == [f"id eq {quiet['id']}"]
    assert env.woo.by_sku("N-QUIET")["regular_price"] == "7.00"
    assert env.woo.by_sku("N-1")["regular_price"] == "8.00"
    # All notified items in the poll: no read by id at all.
    env.bc.change("N-0", unitPrice=Decimal("9"))
    notify(env.state, polled[0])
    env.bc.queries.clear()
    env.sync()
    assert [q["$filter"] for p, q in env.bc.queries if p == "items"][0].startswith("lastModifiedDateTime")
    assert len([q for p, q in env.bc.queries if p == "items"]) == 1
