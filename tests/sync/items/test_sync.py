"""ItemSync logic against the in-memory fakes of :mod:`tests.sync.items.fakes` (the real State on a temp
file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.sync.items.fakes import COMPANY, T0, Env, notify
from wcbc.core.errors import ConfigError, UnreachableError
from wcbc.core.time import odata_literal as bc_time
from wcbc.core.time import parse as parse_time
from wcbc.sync.common.cursors import ITEMS_LEDGER_ENTRY as CURSOR_LEDGER
from wcbc.sync.common.cursors import ITEMS_MODIFIED_AFTER as CURSOR_MODIFIED
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.items.sync import ItemSync


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


def test_blocked_and_zero_price_items_never_get_a_price_written_their_stock_still_is(env: Env) -> None:
    env.bc.add_item("B-1", "5", 1, blocked=True)
    env.bc.add_item("Z-1", "0", 8)
    env.woo.add_product("B-1", "5.00", 0)  # already not purchasable
    env.woo.add_product("Z-1", "3.00", 0)
    env.from_start()
    report = env.sync()
    assert report.counts == {"skipped": 1, "updated": 1}
    z1 = env.woo.by_sku("Z-1")["id"]
    assert env.woo.writes == [("POST /products/batch", [{"id": z1, "manage_stock": True, "stock_quantity": 8,
                                                         "stock_status": "instock"}])]
    assert env.woo.by_sku("Z-1")["regular_price"] == "3.00"  # never written as 0
    assert "blocked" in env.state.record_get("item:B-1")["last_error"]
    assert env.state.record_get("item:B-1")["status"] == "skipped"
    assert env.state.record_get("item:Z-1")["status"] == "done"
    assert report.price_skipped == [("Z-1", "the item has no price (0) in Business Central")]
    skipped = [j["detail"] for j in env.state.journal_for("item:Z-1") if j["step"] == "price_skipped"]
    assert skipped == [{"reason": "the item has no price (0) in Business Central"}]


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
