"""Hostile BC items and notifications fail alone: property tests through the planner and through a whole
sync-items run (fakes, real State), and a failure that is recorded, retried and replayed."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sync.items.fakes import T0, Env, notify
from tests.sync.items.test_plan import CONFIG, NONE_HELD
from wcbc.core.time import odata_literal as bc_time
from wcbc.sync.items.catalog import WooProduct
from wcbc.sync.items.plan import plan_item
from wcbc.sync.items.read import BCItem

HOSTILE_NUMBERS = st.sampled_from([float("nan"), float("inf"), float("-inf"), "1e309", "-1e309", 10**309,
                                   "NaN", "Infinity", "1e16", -(10**18), "12,50", "abc"])
WRONG_TYPES = st.sampled_from([[1], {"a": 1}, (), b"12", object()])
HOSTILE_FIELD = st.sampled_from(["unitPrice", "inventory", "blocked", "priceIncludesTax", "taxGroupCode"])


@st.composite
def hostile_value(draw: st.DrawFn, name: str) -> Any:
    if name in ("blocked", "priceIncludesTax"):
        return draw(st.one_of(HOSTILE_NUMBERS, WRONG_TYPES, st.sampled_from(["yes", "false", 0, 1])))
    if name == "taxGroupCode":
        return draw(st.one_of(WRONG_TYPES, st.sampled_from([5, 1.5, True])))
    return draw(st.one_of(HOSTILE_NUMBERS, WRONG_TYPES, st.just(True)))


@st.composite
def good_item(draw: st.DrawFn, n: int) -> dict[str, Any]:
    cents = draw(st.integers(min_value=1, max_value=10**9))
    return {"number": f"GOOD-{n}", "unitPrice": Decimal(cents) / 100,
            "inventory": Decimal(draw(st.integers(min_value=-50, max_value=10**6))),
            "now_price": f"{draw(st.integers(min_value=1, max_value=10**6)) / 100:.2f}",
            "now_stock": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)))}


@st.composite
def catalogue(draw: st.DrawFn) -> list[tuple[dict[str, Any], str | None]]:
    """Good items and hostile ones (one field replaced by a hostile value), in a random order."""
    rows: list[tuple[dict[str, Any], str | None]] = []
    for n in range(draw(st.integers(min_value=1, max_value=8))):
        row = draw(good_item(n))
        if draw(st.booleans()):
            field = draw(HOSTILE_FIELD)
            row["number"] = f"BAD-{n}"
            row[field] = draw(hostile_value(field))
            rows.append((row, field))
        else:
            rows.append((row, None))
    return draw(st.permutations(rows))


def bc_data(row: dict[str, Any], n: int) -> dict[str, Any]:
    return {"id": f"00000000-0000-0000-0000-{n + 1:012d}", "number": row["number"], "displayName": "x",
            "type": "Inventory", "unitPrice": row["unitPrice"], "inventory": row["inventory"],
            "blocked": row.get("blocked", False), "priceIncludesTax": row.get("priceIncludesTax", False),
            "taxGroupCode": row.get("taxGroupCode", "TAXABLE"), "lastModifiedDateTime": bc_time(T0)}


def expected_body(row: dict[str, Any], product_id: int) -> dict[str, Any]:
    """What a good item's product must get, worked out here without the planner."""
    body: dict[str, Any] = {}
    price = f"{row['unitPrice']:.2f}"
    if Decimal(price) != Decimal(row["now_price"]):
        body["regular_price"] = price
    stock = max(int(row["inventory"]), 0) if row["inventory"] > 0 else 0
    if row["now_stock"] is None or row["now_stock"] != stock:
        body.update(manage_stock=True, stock_quantity=stock)
    return {"id": product_id, **body} if body else {}


@settings(max_examples=300, deadline=None)
@given(catalogue())
def test_every_good_item_is_planned_right_whatever_hostile_items_are_mixed_in(rows: list) -> None:
    for n, (row, hostile) in enumerate(rows):
        item = BCItem.from_api(bc_data(row, n))
        current = WooProduct.from_api({"id": 100 + n, "sku": row["number"], "type": "simple",
                                       "regular_price": row["now_price"],
                                       "manage_stock": row["now_stock"] is not None,
                                       "stock_quantity": row["now_stock"], "stock_status": "instock"})
        plan = plan_item(item, [current], NONE_HELD, CONFIG)
        bodies = [w.body for w in plan.writes]
        if hostile is None:
            assert plan.failure is None
            wanted = expected_body(row, 100 + n)
            assert bodies == ([wanted] if wanted else [])
        else:
            assert plan.failure is not None, (hostile, row[hostile])
            sent = {k for body in bodies for k in body}
            if hostile in ("unitPrice", "priceIncludesTax", "taxGroupCode"):
                assert "regular_price" not in sent
            if hostile in ("inventory", "blocked"):
                assert "stock_quantity" not in sent


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogue())
def test_a_whole_run_writes_every_good_item_and_records_each_hostile_one(rows: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(Path(tmp))
        ids: dict[str, int] = {}
        for n, (row, _) in enumerate(rows):
            env.bc.items.append(bc_data(row, n))
            ids[row["number"]] = env.woo.add_product(row["number"], row["now_price"], row["now_stock"])["id"]
        env.from_start()
        try:
            report = env.sync()  # never raises for an item
            for row, hostile in rows:
                record = env.state.record_get(f"item:{row['number']}")
                product = env.woo.products[ids[row["number"]]]
                if hostile is None:
                    wanted = expected_body(row, ids[row["number"]])
                    for key, value in wanted.items():
                        assert product[key] == value, (row, key)
                    assert (record or {}).get("status", "done") == "done"
                else:
                    assert record is not None and record["status"] == "failed", (hostile, record)
                    assert record["last_error"]
            failed = {o.number for o in report.outcomes if o.result == "failed"}
            assert failed == {row["number"] for row, hostile in rows if hostile}
        finally:
            env.state.close()


def test_a_hostile_item_is_in_failures_retried_and_done_once_fixed(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.bc.add_item("GOOD-1", "5", 3)
    bad = env.bc.add_item("BAD-1", "5", 3)
    bad["unitPrice"] = float("nan")
    bad["inventory"] = "1e309"
    env.woo.add_product("GOOD-1", "4.00", 3)
    env.woo.add_product("BAD-1", "5.00", 3)
    env.from_start()
    report = env.sync()
    assert report.by_number() == {"GOOD-1": "updated", "BAD-1": "failed"}
    record = env.state.record_get("item:BAD-1")
    assert record["status"] == "failed" and "unitPrice" in record["last_error"]
    assert "1e309" in record["last_error"]
    assert [r["id"] for r in env.state.records(status="failed")] == ["item:BAD-1"]  # `wcbc failures`
    again = env.sync()  # failed records are read again by the next run
    assert again.by_number() == {"BAD-1": "failed"}
    assert env.state.record_get("item:BAD-1")["attempts"] == 2
    env.bc.change("BAD-1", unitPrice=Decimal("6"), inventory=Decimal(2))
    fixed = env.sync()
    assert fixed.by_number() == {"BAD-1": "updated"}
    assert env.state.record_get("item:BAD-1")["status"] == "done"
    product = env.woo.by_sku("BAD-1")
    assert (product["regular_price"], product["stock_quantity"]) == ("6.00", 2)


def test_a_hostile_item_on_hold_is_replayed(tmp_path: Path) -> None:
    from wcbc.sync.items.sync import ItemSync

    env = Env(tmp_path, max_attempts=1)
    bad = env.bc.add_item("BAD-1", "5", 3)
    bad["blocked"] = "yes"
    env.woo.add_product("BAD-1", "5.00", 3)
    env.from_start()
    assert env.sync().by_number() == {"BAD-1": "on_hold"}
    assert env.state.record_get("item:BAD-1")["status"] == "on_hold"
    env.bc.change("BAD-1", blocked=True)
    replayed = ItemSync(env.woo, env.bc, env.state, env.config).replay(["BAD-1"])
    assert replayed == {"BAD-1": "updated"}
    assert env.woo.by_sku("BAD-1")["stock_status"] == "outofstock"


def test_a_hostile_notification_fails_alone_and_the_others_are_read(tmp_path: Path) -> None:
    env = Env(tmp_path)
    item = env.bc.add_item("N-1", "7", 1)
    env.woo.add_product("N-1", "5.00", 1)
    env.ready()
    base = "/api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)"
    hostile = notify(env.state, change="collection",
                     resource=f"{base}/items?$filter=lastModifiedDateTime%20gt%200001-01-01T00:00:00Z")
    notify(env.state, item)
    report = env.sync()
    assert report.by_number() == {f"inbox:{hostile}": "failed", "N-1": "updated"}
    record = env.state.record_get(f"inbox:{hostile}")
    assert record["status"] == "failed" and "0001-01-01" in record["last_error"]
    assert env.state.inbox_get(hostile)["status"] == "failed"
    assert env.state.inbox_backlog("business_central") == 0
    # The poll was not widened to the year 1.
    assert all("gt 0001-" not in q.get("$filter", "") for p, q in env.bc.queries if p == "items")


def test_a_hostile_web_order_quantity_fails_only_the_stock_of_its_item(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.bc.add_item("MUG-1", "6", 10)
    env.bc.add_item("CUP-1", "3", 10)
    env.woo.add_product("MUG-1", "5.00", 10)
    env.woo.add_product("CUP-1", "3.00", 10)
    env.woo.add_order("processing", [("MUG-1", "1e309"), ("CUP-1", 2)])  # type: ignore[list-item]
    env.from_start()
    report = env.sync()
    assert report.by_number() == {"MUG-1": "failed", "CUP-1": "updated"}
    assert env.woo.by_sku("CUP-1")["stock_quantity"] == 8
    mug = env.woo.by_sku("MUG-1")
    assert (mug["regular_price"], mug["stock_quantity"]) == ("6.00", 10)  # its price still pushed
    assert "web order" in env.state.record_get("item:MUG-1")["last_error"]
