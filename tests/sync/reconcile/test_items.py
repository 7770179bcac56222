"""Reconciler (items) against the fakes of tests/sync/items/test_sync.py (real State on a temp file)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import time
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.sync.items.fakes import Env, big_store
from wcbc.sync.common.cursors import ITEMS_LEDGER_ENTRY as CURSOR_LEDGER
from wcbc.sync.common.cursors import ITEMS_MODIFIED_AFTER as CURSOR_MODIFIED
from wcbc.sync.reconcile import Reconciler


@pytest.fixture
def env(tmp_path: Path):
    environment = Env(tmp_path)
    yield environment
    environment.state.close()


def reconcile(env: Env, dry_run: bool = False, **kwargs):
    return Reconciler(env.woo, env.bc, env.state, env.config, dry_run=dry_run).run(**kwargs)


def shop(env: Env) -> None:
    env.bc.add_item("TSHIRT-001", "20.00", 100)
    env.bc.add_item("MUG-001", "12.50", 25)
    env.bc.add_item("HOODIE-S", "45.00", 10)
    env.bc.add_item("HOODIE-M", "47.00", 5)
    env.bc.add_item("BLOCKED-1", "5", 5, blocked=True)
    env.bc.add_item("BC-ONLY", "5", 5)
    env.bc.add_item("SERVICE-1", "80", 0, type="Service")
    env.woo.add_product("TSHIRT-001", "20.00", 100)
    env.woo.add_product("MUG-001", "15.00", 25)  # edited by hand in WooCommerce
    env.woo.add_variable("HOODIE", [("HOODIE-S", "45.00", 10), ("HOODIE-M", "47.00", 9)])
    env.woo.add_product("BLOCKED-1", "5.00", 0)  # already not purchasable (see test_block_and_unblock)
    env.woo.add_product("WOO-ONLY", "1.00", 1)
    env.woo.add_product("", "1.00")
    env.woo.add_product("SERVICE-1", "80.00")  # no stock managed: a service has none to push


def test_reconcile_puts_differences_right_and_reports(env: Env) -> None:
    shop(env)
    report = reconcile(env)
    changed = {d.number: (d.before, d.after) for d in report.updated}
    assert changed == {
        "MUG-001": ({"regular_price": "15.00"}, {"regular_price": "12.50"}),
        "HOODIE-M": ({"stock_quantity": 9, "manage_stock": True},
                     {"manage_stock": True, "stock_quantity": 5}),
    }
    assert env.woo.by_sku("MUG-001")["regular_price"] == "12.50"
    assert env.woo.by_sku("HOODIE-M")["stock_quantity"] == 5
    assert report.already_right == 4  # TSHIRT-001, HOODIE-S, SERVICE-1, BLOCKED-1 (stock 0, out of stock)
    assert report.woo_only == ["WOO-ONLY"]
    assert report.bc_only == ["BC-ONLY"]
    assert report.skipped == [("BLOCKED-1", "the item is blocked in Business Central")]
    assert report.without_sku == 1 and report.duplicates == {}
    blocked = env.woo.by_sku("BLOCKED-1")
    assert (blocked["regular_price"], blocked["stock_quantity"]) == ("5.00", 0)  # its price never written
    assert blocked["stock_status"] == "outofstock"
    assert env.state.record_get("item:MUG-001")["status"] == "done"
    # Second run: everything is right.
    again = reconcile(env)
    assert again.differences == [] and again.already_right == 6


def test_duplicate_skus_are_reported(env: Env) -> None:
    env.bc.add_item("DUP-1", "5", 1)
    first = env.woo.add_product("DUP-1", "5.00", 1)
    second = env.woo.add_product("dup-1", "4.00", 1)
    report = reconcile(env)
    assert list(report.duplicates.values()) == [[first["id"], second["id"]]]
    assert env.woo.products[second["id"]]["regular_price"] == "5.00"


def test_call_budget(env: Env) -> None:
    for n in range(250):
        env.bc.add_item(f"P-{n:04d}", "10", 3)
        env.woo.add_product(f"P-{n:04d}", "9.00" if n < 120 else "10.00", 3)
    for v in range(3):
        env.bc.add_item(f"V{v}-S", "30", 2)
        env.bc.add_item(f"V{v}-M", "30", 2)
        env.woo.add_variable(f"V{v}", [(f"V{v}-S", "30.00", 2), (f"V{v}-M", "31.00", 2)])
    env.woo.calls.clear()
    report = reconcile(env)
    products, variable, changes = 253, 3, 120 + 3
    assert len(report.updated) == changes
    woo = env.woo.calls
    assert woo["GET /products"] == math.ceil(products / 100)
    assert woo["GET /products/{id}/variations"] == variable
    # 123 changes: 2 product batches (120) + one variations batch per parent whose variation changed.
    assert woo["POST /products/batch"] == math.ceil(120 / 100)
    assert woo["POST /products/{id}/variations/batch"] == 3
    assert woo["GET /products?sku"] == 0
    assert env.bc.calls["items"] == math.ceil(256 / 20000)
    items_query = next(q for p, q in env.bc.queries if p == "items")
    assert set(items_query["$select"].split(",")) >= {"number", "unitPrice", "inventory", "blocked", "id"}
    assert "$filter" not in items_query
    # Web orders still holding stock: one windowed read of booked statuses + one of on-hold.
    assert woo["GET /orders"] == 2
    assert report.calls["woocommerce"]["total"] == sum(woo.values())


def test_dry_run_writes_nothing_and_lists_differences(env: Env) -> None:
    shop(env)
    report = reconcile(env, dry_run=True)
    assert {d.number for d in report.differences} == {"MUG-001", "HOODIE-M"}
    assert {d.result for d in report.differences} == {"would_update"}
    mug = next(d for d in report.differences if d.number == "MUG-001")
    assert mug.sku == "MUG-001" and mug.before == {"regular_price": "15.00"}
    assert env.woo.writes == []
    assert env.woo.by_sku("MUG-001")["regular_price"] == "15.00"
    assert env.state.records() == [] and env.state.cursors() == {} and env.state.links("product") == []


def test_batch_item_error_is_recorded_and_others_written(env: Env) -> None:
    shop(env)
    env.woo.fail_ids.add(env.woo.by_sku("MUG-001")["id"])
    env.state.cursor_set(CURSOR_MODIFIED, "2026-01-01T00:00:00Z")
    report = reconcile(env)
    assert {d.number: d.result for d in report.differences} == {"MUG-001": "failed", "HOODIE-M": "updated"}
    assert report.failed
    assert env.state.record_get("item:MUG-001")["status"] == "failed"
    assert env.state.cursor_get(CURSOR_MODIFIED) == "2026-01-01T00:00:00Z"  # left for sync-items to retry


def test_reconcile_moves_sync_items_bookmarks(env: Env) -> None:
    shop(env)
    env.bc.move("MUG-001", -2)
    reconcile(env)
    assert env.state.cursor_get(CURSOR_LEDGER) == str(len(env.bc.ledger))
    assert env.state.cursor_get(CURSOR_MODIFIED) == max(i["lastModifiedDateTime"] for i in env.bc.items)
    assert env.woo.by_sku("MUG-001")["stock_quantity"] == 23


def test_orders_check(env: Env) -> None:
    env.state.cursor_set(CURSOR_LEDGER, "0")
    env.config.orders = dataclasses.replace(env.config.orders, number_prefix="")  # keys = order numbers
    ok = env.woo.add_order("processing", [("A", 1)], total="10.00")
    missing = env.woo.add_order("completed", [("A", 1)], total="5.00")
    differs = env.woo.add_order("processing", [("A", 1)], total="20.00")
    dup = env.woo.add_order("processing", [("A", 1)], total="7.00")
    shipped = env.woo.add_order("processing", [("A", 1)], total="8.00")
    env.woo.add_order("pending", [("A", 1)], total="1.00")  # not a booked status
    day = "2026-11-20"

    def doc(entity: str, number: str, ext: str, total: str, **extra: str) -> None:
        rows = env.bc.sales_orders if entity == "salesOrders" else env.bc.sales_invoices
        date_field = "orderDate" if entity == "salesOrders" else "invoiceDate"
        rows.append({"id": f"id-{number}", "number": number, "externalDocumentNumber": ext,
                     "totalAmountIncludingTax": Decimal(total), date_field: day, "salesOrderLines": [],
                     **extra})

    doc("salesOrders", "S-1", ok["number"], "10.00")
    doc("salesOrders", "S-2", differs["number"], "19.00")
    doc("salesOrders", "S-3", dup["number"], "7.00")
    doc("salesInvoices", "I-3", dup["number"], "7.00")
    doc("salesOrders", "S-4", shipped["number"], "8.00")
    doc("salesInvoices", "I-4", shipped["number"], "8.00", orderNumber="S-4")  # shipped part: same sale
    doc("salesOrders", "S-9", "PHONE-ORDER-9", "3.00")
    report = reconcile(env, orders=True, since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    issues = {(i.kind, i.external_number) for i in report.orders.issues}
    assert issues == {
        ("missing_in_bc", missing["number"]),
        ("total_differs", differs["number"]),
        ("duplicate", dup["number"]),
        ("missing_in_woo", "PHONE-ORDER-9"),
    }
    assert report.orders.woo_orders == 5 and report.orders.matched == 4
    queries = [q for p, q in env.bc.queries if p in ("salesOrders", "salesInvoices") and "$filter" in q]
    assert all("ge 2026-11-01" in q["$filter"] for q in queries)


def test_twenty_thousand_items_stay_small(tmp_path: Path) -> None:
    env = Env(tmp_path)
    for n in range(20_000):
        number = f"ITEM-{n:05d}"
        env.bc.items.append({"id": f"00000000-0000-0000-0000-{n:012d}", "number": number,
                             "displayName": number,
                             "type": "Inventory", "unitPrice": Decimal("10"), "inventory": Decimal(4),
                             "blocked": False, "priceIncludesTax": False,
                             "lastModifiedDateTime": "2026-01-01T00:00:00Z"})
        env.woo.products[n + 1] = {"id": n + 1, "sku": number, "type": "simple", "parent_id": 0,
                                   "regular_price": "10.00", "manage_stock": True, "stock_quantity": 4,
                                   "variations": []}
    env.woo.products[7]["regular_price"] = "11.00"
    tracemalloc.start()
    try:
        report = reconcile(env)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.bc_items == 20_000 and report.already_right == 19_999 and len(report.updated) == 1
    assert env.bc.calls["items"] == 1
    assert env.woo.calls["GET /products"] == 200
    print(f"reconcile of 20,000 items: peak {peak / 1e6:.1f} MB")
    assert peak < 100 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    env.state.close()


def _outcome_of(env: Env) -> dict:
    """Everything a reconcile leaves in the state, each record's journal in its own order."""
    rows = env.state.db.execute("SELECT record_id, step, detail FROM journal ORDER BY id").fetchall()
    journal: dict[str, list[tuple[str, str]]] = {}
    for record_id, step, detail in rows:
        journal.setdefault(record_id, []).append((step, detail))
    records = {r["id"]: (r["status"], r["attempts"], r["last_error"], r["data"]) for r in env.state.records()}
    links = sorted((link["woo_id"], link["bc_id"], link["bc_number"], str(link["data"]))
                   for link in env.state.links("product"))
    return {"journal": journal, "records": records, "links": links, "cursors": env.state.cursors()}


@contextlib.contextmanager
def _late_answer(route: str) -> Iterator[None]:
    """A slow WooCommerce: every batch call answers 20 ms late (the answers are still in flight while the
    listing goes on; what a loaded machine does now and then)."""
    yield
    if route.endswith("/batch"):
        time.sleep(0.02)


def test_concurrent_reconcile_does_exactly_what_one_call_at_a_time_does(tmp_path: Path) -> None:
    results = []
    for concurrency, slow in ((1, False), (4, False), (4, True)):
        env = Env(tmp_path / f"{concurrency}-{slow}")
        env.config.woocommerce = dataclasses.replace(env.config.woocommerce, concurrency=concurrency)
        if slow:
            env.woo.hook = _late_answer
        big_store(env)
        for product in env.woo.products.values():
            if product["type"] == "simple" and product["id"] % 2:
                product["regular_price"] = "9.00"  # enough differences for two products/batch calls
        env.woo.add_product("p-007", "1.00", 1)  # a duplicate SKU (another case), also wrong
        env.woo.fail_ids |= {env.woo.by_sku("P-020")["id"], env.woo.by_sku("V013-M")["id"]}
        env.state.record_fail("item:P-040", "item", "P-040", "earlier failure", max_attempts=3)
        first = reconcile(env)
        writes = list(env.woo.writes)
        env.woo.fail_ids.clear()
        second = reconcile(env)
        results.append(([d.as_dict() for d in first.differences], [d.as_dict() for d in second.differences],
                        first.already_right, first.duplicates, first.woo_only, first.bc_only,
                        # the calls in flight together reach WooCommerce in any order: what was sent counts
                        sorted((route, sorted(c["id"] for c in chunk)) for route, chunk in writes),
                        _outcome_of(env)))
        env.state.close()
    one, four, four_slow = results
    assert one == four
    assert one == four_slow  # each record's journal in decision order, however late the answers come
    differences = one[0]
    assert len(differences) > 150 and {d["result"] for d in differences} == {"updated", "failed"}
    assert [route for route, _ in one[6]].count("POST /products/batch") == 2


def test_more_than_500_right_but_unlinked_products_are_all_linked_in_one_transaction(env: Env) -> None:
    for n in range(650):
        env.bc.add_item(f"K-{n:04d}", "10", 3)
        env.woo.add_product(f"K-{n:04d}", "10.00", 3)
    calls: list[int] = []
    real = env.state.link_set_many

    def link_set_many(kind: str, rows: list) -> int:
        calls.append(len(rows))
        return real(kind, rows)

    env.state.link_set_many = link_set_many  # type: ignore[method-assign]
    report = reconcile(env)
    assert report.already_right == 650 and report.differences == []
    assert calls == [650]
    links = {link["bc_number"]: link for link in env.state.links("product")}
    assert len(links) == 650
    assert links["K-0649"]["woo_id"] == str(env.woo.by_sku("K-0649")["id"])
    assert links["K-0649"]["bc_id"] == env.bc.item("K-0649")["id"]
    # Linked: the next sync-items of these items needs no search.
    env.bc.change("K-0007", unitPrice=Decimal("11"))
    env.woo.calls.clear()
    env.sync()
    assert env.woo.calls["GET /products?sku"] == 0 and env.woo.by_sku("K-0007")["regular_price"] == "11.00"


def test_a_dry_run_reconcile_shows_the_plan_the_real_one_performs(env: Env) -> None:
    shop(env)
    shown = reconcile(env, dry_run=True)
    done = reconcile(env)
    assert shown.plan.as_list() == done.plan.as_list() and len(done.plan) == 2
    sent = [change for _, chunk in env.woo.writes for change in chunk]  # variations go out per parent
    assert sorted(sent, key=str) == sorted((w["body"] for w in done.plan.as_list()), key=str)


def test_block_and_unblock(env: Env) -> None:
    env.bc.add_item("SVC-1", "80", 0, type="Service")
    env.bc.add_item("B-2", "5", 4)
    env.woo.add_product("SVC-1", "80.00")  # stock not managed: its status is what makes it purchasable
    env.woo.add_product("B-2", "5.00", 4, backorders="notify")
    assert reconcile(env).differences == []
    env.bc.change("SVC-1", blocked=True)
    env.bc.change("B-2", blocked=True, unitPrice=Decimal("6"))
    blocked = reconcile(env)
    assert {d.number: d.after for d in blocked.updated} == {
        "SVC-1": {"stock_status": "outofstock"},
        "B-2": {"manage_stock": True, "stock_quantity": 0, "stock_status": "outofstock", "backorders": "no"},
    }
    assert env.woo.by_sku("B-2")["regular_price"] == "5.00"  # a blocked item's price is never written
    assert reconcile(env).differences == []  # stays not purchasable, nothing more to write
    env.bc.change("SVC-1", blocked=False)
    env.bc.change("B-2", blocked=False)
    restored = reconcile(env)
    assert {d.number: d.after for d in restored.updated} == {
        "SVC-1": {"stock_status": "instock"},
        "B-2": {"regular_price": "6.00", "manage_stock": True, "stock_quantity": 4, "stock_status": "instock",
                "backorders": "notify"},
    }
    assert env.woo.by_sku("B-2")["stock_status"] == "instock"
    assert reconcile(env).differences == []


def test_a_hostile_item_fails_alone_in_reconcile(env: Env) -> None:
    env.bc.add_item("OK-1", "5", 2)
    bad = env.bc.add_item("BAD-1", "5", 2)
    bad["unitPrice"] = float("inf")
    env.woo.add_product("OK-1", "4.00", 2)
    env.woo.add_product("BAD-1", "5.00", 1)
    report = reconcile(env)
    assert sorted((d.number, d.result) for d in report.differences) == [
        ("BAD-1", "failed"), ("BAD-1", "updated"), ("OK-1", "updated")]  # its stock is still put right
    assert report.failed and env.woo.by_sku("OK-1")["regular_price"] == "5.00"
    assert env.woo.by_sku("BAD-1")["stock_quantity"] == 2
    record = env.state.record_get("item:BAD-1")
    assert record["status"] == "failed" and "unitPrice" in record["last_error"]
