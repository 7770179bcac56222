"""In-memory fakes of the two APIs for item sync and reconcile tests, and an environment with the real State.

The fakes understand exactly the queries item sync sends: they fail loudly on anything else, so a query
that BC would refuse cannot slip through here.
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

from wcbc.adapters.woo.client import BatchResult
from wcbc.core.config import ItemsConfig, OrdersConfig, WooConfig
from wcbc.core.state import State
from wcbc.core.time import odata_literal as bc_time
from wcbc.core.time import parse as parse_time
from wcbc.sync.common.cursors import ITEMS_LEDGER_ENTRY as CURSOR_LEDGER
from wcbc.sync.common.cursors import ITEMS_MODIFIED_AFTER as CURSOR_MODIFIED
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
        self.credit_memos: list[dict] = []
        self.sales_shipments: list[dict] = []
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
                "salesInvoices": self.sales_invoices, "salesCreditMemos": self.credit_memos,
                "salesShipments": self.sales_shipments}[path]
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
                   "stock_status": "instock", "backorders": "no", "variations": [], **fields}
        _derive_stock_status(product)
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

    def iter_refunds(self, *, after: Any = None) -> Any:
        return iter(r for o in self.orders for r in o.get("_refunds", []))

    def orders_by_ids(self, ids: Any) -> list[dict]:
        return [o for o in self.orders if o["id"] in set(ids)]

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
            _derive_stock_status(product)
            results.append(BatchResult(product["id"], True, dict(product), None))
        return results

    def batch_products(self, update: list[dict]) -> list[BatchResult]:
        return self._batch("POST /products/batch", update, None)

    def batch_variations(self, product_id: int, update: list[dict]) -> list[BatchResult]:
        return self._batch("POST /products/{id}/variations/batch", update, int(product_id))


def _derive_stock_status(product: dict) -> None:
    """WooCommerce's rule: a product that manages stock has the status its quantity and backorders give;
    one that does not keeps the status it was given."""
    if product.get("manage_stock") is True and product["type"] != "variable":
        if (product.get("stock_quantity") or 0) > 0:
            product["stock_status"] = "instock"
        else:
            product["stock_status"] = "onbackorder" if product.get("backorders") != "no" else "outofstock"


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
