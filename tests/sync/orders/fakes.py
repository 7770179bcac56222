"""Plain-data orders, a config, and in-memory WooCommerce and BC fakes for the order sync (no HTTP).

The fakes understand exactly the calls the order sync makes and fail loudly on anything else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from wcbc.adapters.woo.client import BatchResult
from wcbc.core.config import ItemsConfig, OrdersConfig, WooConfig
from wcbc.core.errors import NotFoundError

T0 = dt.datetime(2026, 11, 26, 20, 0, tzinfo=dt.UTC)


def order(order_id: int, *, skus: tuple[str, ...] = ("MUG-001",), customer_id: int = 0,
          email: str = "gus@example.test", status: str = "processing", price: str = "10.00",
          modified: dt.datetime | None = None, meta: list[dict] | None = None, **extra: Any) -> dict:
    """A WooCommerce order without tax: each SKU once at ``price``."""
    lines = [{"id": 100 + i, "name": sku.title(), "sku": sku, "quantity": 1, "subtotal": price,
              "total": price, "subtotal_tax": "0", "total_tax": "0"} for i, sku in enumerate(skus)]
    moment = (modified or T0).strftime("%Y-%m-%dT%H:%M:%S")
    data = {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "USD",
        "customer_id": customer_id,
        "date_created_gmt": moment,
        "date_modified_gmt": moment,
        "billing": {"first_name": "Gus", "last_name": "Guest", "email": email, "address_1": "9 Elm Rd",
                    "city": "Portland", "postcode": "97201", "country": "US"},
        "shipping": {},
        "line_items": lines,
        "shipping_lines": [],
        "fee_lines": [],
        "total": str(Decimal(price) * len(skus)),
        "payment_method_title": "Direct bank transfer",
        "meta_data": list(meta or []),
    }
    data.update(extra)
    return data


def config(**orders: Any) -> SimpleNamespace:
    # The empty prefix of installs from before "WC-" became the default (they keep it): keys are the bare
    # order numbers, which keeps these tests' expectations short.
    values: dict[str, Any] = {"add_note": False, "number_prefix": ""}
    values.update(orders)
    return SimpleNamespace(
        orders=OrdersConfig(**values),
        woocommerce=WooConfig(url="https://shop.example"),
        business_central=SimpleNamespace(max_concurrency=1),
        items=ItemsConfig(),
    )


class FakeWoo:
    """Orders by id. ``now`` is the store's clock: a write-back answers each order with it as
    ``date_modified_gmt`` (a simplification: the stored order keeps its date, so pages never shift)."""

    def __init__(self, *orders: dict, now: Any = None) -> None:
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.orders = {o["id"]: o for o in orders}
        self.batches: list[list[dict]] = []
        self.notes: list[tuple[int, str]] = []
        self.reads: list[int] = []
        self.polls: list[tuple[dt.datetime | None, dt.datetime | None]] = []

    def get_order(self, order_id: int) -> dict:
        self.reads.append(int(order_id))
        if int(order_id) not in self.orders:
            raise NotFoundError("no such order", system="woocommerce", call=f"GET orders/{order_id}",
                                status=404)
        return dict(self.orders[int(order_id)])

    def iter_orders(self, *, modified_after: dt.datetime | None = None,
                    modified_before: dt.datetime | None = None) -> Any:
        self.polls.append((modified_after, modified_before))

        def moment(o: dict) -> dt.datetime:
            return dt.datetime.fromisoformat(o["date_modified_gmt"]).replace(tzinfo=dt.UTC)

        for o in sorted(self.orders.values(), key=moment):
            if (modified_after is None or moment(o) > modified_after) and (
                    modified_before is None or moment(o) < modified_before):
                yield dict(o)

    def batch_orders(self, updates: list[dict]) -> list[BatchResult]:
        self.batches.append(updates)
        results = []
        for update in updates:
            stored = self.orders[update["id"]]
            stored["meta_data"] = [*stored.get("meta_data", []), *update["meta_data"]]
            answer = {**stored, "date_modified_gmt": self.now().strftime("%Y-%m-%dT%H:%M:%S")}
            results.append(BatchResult(update["id"], True, answer, None))
        return results

    def add_order_note(self, order_id: int, note: str) -> dict:
        self.notes.append((order_id, note))
        return {"id": len(self.notes), "note": note}


_LITERAL = re.compile(r"'((?:[^']|'')*)'")


class FakeBC:
    """BC's customers, items and sales documents; ``fail`` maps a POST path to the errors it raises next."""

    def __init__(self, items: dict[str, bool] | None = None) -> None:
        self.items = {n: {"number": n, "blocked": b} for n, b in (items or {"MUG-001": False}).items()}
        self.customers: list[dict] = []
        self.documents: dict[str, list[dict]] = {"salesOrders": [], "salesInvoices": []}
        self.fail: dict[str, list[BaseException]] = {}
        self.queries: list[tuple[str, str]] = []
        self.posts: list[tuple[str, dict]] = []
        self.actions: list[str] = []
        self.land_before_failing = False  # a failing document POST still creates the document
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def iter(self, path: str, params: dict | None = None) -> Any:
        flt = (params or {}).get("$filter", "")
        with self._lock:
            self.queries.append((path, flt))
        match = re.match(r"\s*(?:tolower\((\w+)\)|(\w+)) (in|eq) ", flt)
        assert match, f"fake BC cannot read filter {flt!r}"
        field = match.group(1) or match.group(2)  # compared case-insensitively either way
        wanted = {v.replace("''", "'").upper() for v in _LITERAL.findall(flt)}
        rows = {"customers": self.customers, "items": list(self.items.values())}.get(path)
        if rows is None:
            rows = self.documents[path]
        return iter([dict(r) for r in rows if str(r.get(field, "")).upper() in wanted])

    def post(self, path: str, body: dict) -> dict:
        with self._lock:
            self.posts.append((path, body))
            errors = self.fail.get(path) or []
            error = errors.pop(0) if errors else None
        if error is not None and not self.land_before_failing:
            raise error
        with self._lock:
            n = next(self._ids)
            if path == "customers":
                created = {**body, "id": f"cust-{n}", "number": f"C{n:05d}"}
                self.customers.append(created)
            elif path in self.documents:
                lines = [ln for key, ln_list in body.items() if key.endswith("Lines") for ln in ln_list]
                total = sum((Decimal(str(ln.get("quantity", 0))) * Decimal(str(ln.get("unitPrice", 0)))
                             - Decimal(str(ln.get("discountAmount", 0))) for ln in lines), Decimal(0))
                created = {**body, "id": f"doc-{n}", "number": f"S-{n:05d}", "status": "Draft",
                           "totalAmountIncludingTax": float(total)}
                self.documents[path].append(created)
            else:
                created = {**body, "id": f"line-{n}"}
        if error is not None:
            raise error
        return dict(created)

    def get(self, path: str, params: dict | None = None) -> dict:
        """One document by id, ``salesInvoices(<id>)``, with its lines expanded (untaxed: net = quantity *
        price - discount)."""
        entity, _, rest = path.partition("(")
        doc_id = rest.rstrip(")")
        doc = next((d for d in self.documents.get(entity, []) if d["id"] == doc_id), None)
        if doc is None:
            raise NotFoundError("no such document", system="business_central", call=f"GET {path}", status=404)
        key = "salesOrderLines" if entity == "salesOrders" else "salesInvoiceLines"
        lines = []
        for n, ln in enumerate(doc.get(key) or [], start=1):
            net = (Decimal(str(ln.get("quantity", 0))) * Decimal(str(ln.get("unitPrice", 0)))
                   - Decimal(str(ln.get("discountAmount", 0))))
            lines.append({**ln, "sequence": n * 10000, "netAmount": float(net), "netTaxAmount": 0.0})
        return {**doc, key: lines, "totalTaxAmount": 0.0, "@odata.etag": 'W/"1"'}

    def delete(self, path: str, etag: str) -> None:
        entity, doc_id = path.rstrip(")").split("(")
        self.documents[entity] = [d for d in self.documents[entity] if d["id"] != doc_id]

    def action(self, path: str) -> None:
        """Microsoft.NAV.post: the draft keeps its id and gets a posted number (as BC renames it)."""
        self.actions.append(path)
        with self._lock:
            errors = self.fail.get("post") or []
            error = errors.pop(0) if errors else None
        doc_id = path.split("(")[1].split(")")[0]
        if error is not None and not self.land_before_failing:
            raise error
        for doc in self.documents["salesInvoices"]:
            if doc["id"] == doc_id and doc["status"] == "Draft":
                doc["status"] = "Open"
                doc["number"] = "P" + doc["number"]
        if error is not None:
            raise error

