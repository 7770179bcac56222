"""sync-items and reconcile end to end: the real WooClient, BCClient, TokenProvider and State against the
sandbox simulators over HTTPS on 127.0.0.1.

Seeded store and company (wcbc.sandbox seed_sample): TSHIRT-001 20.00 (stock not managed in the store, 100
in BC), MUG-001 12.50 (25/25), HOODIE variable with HOODIE-S 45.00 (not managed, 10 in BC) and HOODIE-M
47.00 (5/5), CAP-001 9.99 (not managed, 50 in BC).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import make_env
from tests.e2e.items_fixtures import Items
from wcbc.core.time import odata_literal as bc_time
from wcbc.core.time import utcnow
from wcbc.sync.common.cursors import ITEMS_LEDGER_ENTRY as CURSOR_LEDGER
from wcbc.sync.common.cursors import ITEMS_MODIFIED_AFTER as CURSOR_MODIFIED
from wcbc.sync.orders.sync import OrderSync


@pytest.fixture
def items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Items]:
    for e2e in make_env(tmp_path, monkeypatch):
        env = Items(e2e)
        try:
            yield env
        finally:
            env.close()


def settle(items: Items) -> None:
    """A first reconcile: every product right and sync-items' bookmarks set."""
    report = items.reconcile()
    assert not report.failed


def test_price_change_through_a_bc_notification(items: Items) -> None:
    settle(items)
    items.e2e.bc.set_price("MUG-001", "13.75")
    # The bookmark is past the change: only the notification can make this run read the item.
    items.state.cursor_set(CURSOR_MODIFIED, bc_time(utcnow()))
    items.notify("MUG-001")
    report = items.sync()
    assert report.by_number() == {"MUG-001": "updated"}
    assert items.product("MUG-001")["regular_price"] == "13.75"
    assert items.state.inbox_backlog("business_central") == 0
    assert items.state.record_get("item:MUG-001")["status"] == "done"
    steps = [j["step"] for j in items.state.journal_for("item:MUG-001")]
    assert steps[-3:] == ["mapped", "sent", "result"]


def test_stock_movement_without_webhook_is_found_by_ledger_poll_and_by_reconcile(items: Items) -> None:
    settle(items)
    assert items.state.cursor_get(CURSOR_LEDGER) is not None
    items.e2e.bc.move_stock("MUG-001", -7, "Sale")  # no item change, no notification
    assert items.e2e.bc.deliveries() == []
    report = items.sync()
    assert report.ledger_entries == 1
    assert report.by_number() == {"MUG-001": "updated"}
    assert items.product("MUG-001")["stock_quantity"] == 18
    # Reconcile finds a movement too, without the ledger bookmark's help.
    items.e2e.bc.move_stock("CAP-001", 5)
    reconciled = items.reconcile()
    assert {d.number for d in reconciled.updated} == {"CAP-001"}
    cap = items.product("CAP-001")
    assert cap["manage_stock"] is True and cap["stock_quantity"] == 55


def test_variations_are_written_through_their_parent(items: Items) -> None:
    settle(items)
    items.e2e.bc.set_price("HOODIE-M", "49.90")
    items.e2e.bc.move_stock("HOODIE-S", -4)
    report = items.sync()
    assert report.by_number() == {"HOODIE-M": "updated", "HOODIE-S": "updated"}
    hoodie_m, hoodie_s = items.product("HOODIE-M"), items.product("HOODIE-S")
    assert hoodie_m["regular_price"] == "49.90" and hoodie_m["sale_price"] == "42.00"  # sale price untouched
    assert hoodie_s["stock_quantity"] == 6 and hoodie_s["manage_stock"] is True
    parent = items.product("HOODIE")
    assert parent["type"] == "variable" and parent["regular_price"] == ""
    assert items.ctx.woo.calls["POST /products/{id}/variations/batch"] == 1 + 1  # settle + this run


def test_item_error_inside_a_batch(items: Items) -> None:
    settle(items)
    gone = items.product("TSHIRT-001")
    with items.e2e.woo.lock:  # the product disappears from the store behind the connector's back
        items.e2e.woo.products_by_id.pop(gone["id"])
        items.e2e.woo.sku_index.pop("tshirt-001", None)
    items.e2e.bc.set_price("TSHIRT-001", "21.00")
    items.e2e.bc.set_price("MUG-001", "12.00")
    batches_before = items.ctx.woo.calls["POST /products/batch"]
    report = items.sync()
    assert report.by_number() == {"TSHIRT-001": "failed", "MUG-001": "updated"}
    assert items.ctx.woo.calls["POST /products/batch"] == batches_before + 1  # both in one batch
    record = items.state.record_get("item:TSHIRT-001")
    assert record["status"] == "failed" and "Invalid ID" in record["last_error"]
    assert items.product("MUG-001")["regular_price"] == "12.00"
    # The link is forgotten: the next run searches by SKU, finds nothing and says so.
    assert items.sync().by_number() == {"TSHIRT-001": "unknown"}


def test_product_edited_by_hand_is_put_right_by_reconcile(items: Items) -> None:
    settle(items)
    items.e2e.woo.edit_product("MUG-001", regular_price="99.00", stock_quantity=3)
    items.e2e.woo.edit_product("HOODIE-M", regular_price="1.00")
    before = items.calls()
    report = items.reconcile()
    after = items.calls()
    assert {(d.number, tuple(sorted(d.after))) for d in report.updated} == {
        ("MUG-001", ("manage_stock", "regular_price", "stock_quantity")),
        ("HOODIE-M", ("regular_price",)),
    }
    assert items.product("MUG-001")["regular_price"] == "12.50"
    assert items.product("MUG-001")["stock_quantity"] == 25
    assert items.product("HOODIE-M")["regular_price"] == "47.00"
    assert report.woo_only == [] and report.bc_only == [] and report.duplicates == {}
    # Budget: 1 products page + 1 variable product + 1 products batch + 1 variations batch (+ order reads).
    woo = report.calls["woocommerce"]
    assert woo["GET /products"] == 1 and woo["GET /products/{id}/variations"] == 1
    assert woo["POST /products/batch"] == 1 and woo["POST /products/{id}/variations/batch"] == 1
    assert report.calls["business_central"]["GET /items"] == 1
    assert after["woocommerce"] - before["woocommerce"] == woo["total"]


def test_unbooked_web_orders_are_held_back(items: Items) -> None:
    settle(items)
    order = items.e2e.woo.create_order(line_items=[{"sku": "MUG-001", "quantity": 2}],
                                       billing={"email": "guest@example.test", "first_name": "G"})
    assert items.product("MUG-001")["stock_quantity"] == 23  # WooCommerce took it out of its stock
    held = items.e2e.woo.create_order(line_items=[{"sku": "HOODIE-M", "quantity": 1}], status="on-hold",
                                      set_paid=False, billing={"email": "g2@example.test", "first_name": "H"})
    assert held["status"] == "on-hold"
    items.e2e.bc.move_stock("MUG-001", 1)  # BC stock moves: 26, of which 2 sold on the web
    items.e2e.bc.move_stock("HOODIE-M", 0.5)
    report = items.sync()
    assert items.product("MUG-001")["stock_quantity"] == 26 - 2
    assert items.product("HOODIE-M")["stock_quantity"] == 5 - 1  # floor(5.5 - 1)
    assert report.by_number()["MUG-001"] == "updated"
    # Once booked in BC the order is on an open sales order instead: still held back, and only once.
    booked = OrderSync(woo=items.ctx.woo, bc=items.ctx.bc, state=items.state, config=items.ctx.config).run()
    assert booked.count("booked") == 1
    assert items.state.link_get("order", str(order["id"])) is not None
    again = items.reconcile()
    assert not again.failed
    assert items.product("MUG-001")["stock_quantity"] == 26 - 2
    assert items.product("HOODIE-M")["stock_quantity"] == 5 - 1  # on-hold: not booked, still held


def test_dry_run_writes_nothing(items: Items) -> None:
    items.e2e.woo.edit_product("MUG-001", regular_price="99.00")
    items.e2e.bc.set_price("CAP-001", "10.49")
    items.notify("CAP-001")
    products_before = items.e2e.woo.products()
    report = items.reconcile(dry_run=True)
    assert {d.number for d in report.differences} >= {"MUG-001", "CAP-001"}
    assert {d.result for d in report.differences} == {"would_update"}
    sync_report = items.sync(dry_run=True)
    assert sync_report.by_number().get("CAP-001") == "would_update"
    assert items.e2e.woo.products() == products_before
    assert items.ctx.woo.calls.get("POST /products/batch", 0) == 0
    assert items.state.cursors() == {} and items.state.records() == [] and items.state.links("product") == []
    assert items.state.inbox_backlog("business_central") == 1


# ------------------------------------------------------------------------ issue 13 item 9, issue 14 item 1


def test_a_skipped_price_never_stops_the_stock(items: Items) -> None:
    settle(items)
    items.e2e.bc.set_price("MUG-001", 0)  # no price in BC
    items.e2e.bc.move_stock("MUG-001", -5)
    report = items.sync()
    assert report.by_number() == {"MUG-001": "updated"}
    mug = items.product("MUG-001")
    assert (mug["regular_price"], mug["stock_quantity"]) == ("12.50", 20)  # price left, stock pushed
    assert report.price_skipped == [("MUG-001", "the item has no price (0) in Business Central")]
    steps = [j["step"] for j in items.state.journal_for("item:MUG-001")]
    assert "price_skipped" in steps and items.state.record_get("item:MUG-001")["status"] == "done"


def test_block_then_unblock_end_to_end(items: Items) -> None:
    settle(items)
    items.e2e.woo.edit_product("HOODIE-M", backorders="notify")  # the shop takes backorders for it
    items.e2e.bc.add_item("SETUP-1", "Setup service", "80", type="Service")
    items.e2e.woo.add_product("SETUP-1", "Setup service", "80.00")  # stock not managed
    items.sync()
    for number in ("MUG-001", "HOODIE-M", "SETUP-1"):
        items.e2e.bc.block_item(number)
    items.e2e.bc.set_price("MUG-001", "99.00")  # never pushed while blocked
    blocked = items.sync()
    assert blocked.by_number() == {"MUG-001": "updated", "HOODIE-M": "updated", "SETUP-1": "updated"}
    mug, hoodie_m, setup = items.product("MUG-001"), items.product("HOODIE-M"), items.product("SETUP-1")
    assert (mug["stock_quantity"], mug["stock_status"], mug["regular_price"]) == (0, "outofstock", "12.50")
    assert (hoodie_m["stock_quantity"], hoodie_m["stock_status"], hoodie_m["backorders"]) == (
        0, "outofstock", "no")
    assert (setup["manage_stock"], setup["stock_status"]) == (False, "outofstock")
    assert items.product("HOODIE")["stock_status"] == "instock"  # HOODIE-S still sells
    # A reconcile while blocked finds nothing to change (the block is remembered in the links).
    assert items.reconcile().differences == []
    for number in ("MUG-001", "HOODIE-M", "SETUP-1"):
        items.e2e.bc.block_item(number, blocked=False)
    restored = items.sync()
    assert restored.by_number() == {"MUG-001": "updated", "HOODIE-M": "updated", "SETUP-1": "updated"}
    mug, hoodie_m, setup = items.product("MUG-001"), items.product("HOODIE-M"), items.product("SETUP-1")
    assert (mug["stock_quantity"], mug["stock_status"], mug["regular_price"]) == (25, "instock", "99.00")
    assert (hoodie_m["stock_quantity"], hoodie_m["stock_status"], hoodie_m["backorders"]) == (
        5, "instock", "notify")
    assert setup["stock_status"] == "instock"
    assert items.reconcile().differences == []


def test_each_tax_group_has_its_rate(items: Items) -> None:
    items.e2e.bc.add_item("BOOK-1", "Book", "20", 4, taxGroupCode="REDUCED")
    items.e2e.bc.add_item("ODD-1", "Odd", "10", 6, taxGroupCode="ODD")
    items.e2e.woo.add_product("BOOK-1", "Book", "1.00", 4)
    items.e2e.woo.add_product("ODD-1", "Odd", "1.00", 1)
    items.reconfigure('\n[items]\nprices_include_tax = true\n'
                      'tax_rates = { TAXABLE = "7.25", REDUCED = "5" }\n')
    report = items.reconcile()
    assert items.product("BOOK-1")["regular_price"] == "21.00"  # 5 %, not 7.25 %
    assert items.product("MUG-001")["regular_price"] == "13.41"  # 12.50 + 7.25 %
    odd = items.product("ODD-1")
    assert (odd["regular_price"], odd["stock_quantity"]) == ("1.00", 6)  # no rate: price left, stock pushed
    [(number, reason)] = [s for s in report.skipped if s[0] == "ODD-1"]
    assert "tax group ODD" in reason and "[items] tax_rates" in reason and "items.tax_rate" in reason
    # items.tax_rate is the rate of every group not in the table.
    items.reconfigure('\n[items]\nprices_include_tax = true\ntax_rate = "20"\n'
                      'tax_rates = { REDUCED = "5" }\n')
    items.e2e.bc.move_stock("ODD-1", 1)
    assert items.sync().by_number() == {"ODD-1": "updated"}
    assert items.product("ODD-1")["regular_price"] == "12.00"


def test_hostile_items_fail_alone_visible_and_replayable(items: Items) -> None:
    settle(items)
    items.e2e.bc.set_price("CAP-001", "1e309")  # a number no BC field holds
    items.e2e.bc.move_stock("HOODIE-S", "1e20")  # beyond BC's decimal range
    items.e2e.bc.set_price("MUG-001", "13.75")
    report = items.sync()  # the run goes on
    assert report.by_number() == {"CAP-001": "failed", "HOODIE-S": "failed", "MUG-001": "updated"}
    assert items.product("MUG-001")["regular_price"] == "13.75"
    assert items.product("CAP-001")["regular_price"] == "9.99"
    assert items.product("HOODIE-S")["stock_quantity"] == 10  # its stock is never written
    code, out, _ = items.cli("--json", "failures")
    assert code == 0
    failures = {row["id"]: row["last_error"] for row in json.loads(out)}
    assert set(failures) == {"item:CAP-001", "item:HOODIE-S"}
    assert "unitPrice" in failures["item:CAP-001"] and "range" in failures["item:CAP-001"]
    assert "stock not written" in failures["item:HOODIE-S"]
    # Fixed in BC: replayed by name, then done.
    items.e2e.bc.set_price("CAP-001", "10.49")
    items.e2e.bc.move_stock("HOODIE-S", "-1e20")
    code, out, _ = items.cli("--json", "replay", "item:CAP-001")
    assert code == 0, out
    assert items.product("CAP-001")["regular_price"] == "10.49"
    assert items.sync().by_number()["HOODIE-S"] in ("updated", "unchanged")
    assert items.state.records(status="failed") == []
