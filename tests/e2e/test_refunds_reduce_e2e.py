"""Refunds of orders booked as open BC sales orders (target ``sales_order``): the order is reduced, no
credit memo, exactly once under a rerun and a lost state DB; the store's stock follows after sync-items."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.test_refunds_e2e import (
    PREFIX,
    _env,
    bc_inventory,
    booked_doc,
    jane,
    lose_state,
    memos,
    opened,
    order_of,
    sync,
)


@pytest.fixture
def env(tmp_path, monkeypatch) -> Iterator[E2E]:
    yield from _env(tmp_path, monkeypatch, "sales_order")


def lines(e2e: E2E, order: dict) -> list[tuple[str, str, Decimal, str]]:
    doc = booked_doc(e2e, order)
    return [
        (ln["lineType"], ln["lineObjectNumber"], Decimal(str(ln["quantity"])), ln["description"])
        for ln in doc["salesOrderLines"]
    ]


def markers(e2e: E2E, order: dict) -> list[str]:
    found = lines(e2e, order)
    return [d for kind, _, _, d in found if kind == "Comment" and d.startswith("WooCommerce refund")]


def items(e2e: E2E, order: dict) -> dict[str, Decimal]:
    return {f"{kind} {number}": qty for kind, number, qty, _ in lines(e2e, order) if kind != "Comment"}


def key(order: dict, refund: dict) -> str:
    return f"{PREFIX}{order['number']}-R{refund['id']}"


def check_total(e2e: E2E, order: dict, *, reduced: list[dict]) -> None:
    """The BC order totals the store's order total less the refunds it was reduced by, to the cent."""
    doc = booked_doc(e2e, order)
    want = Decimal(order["total"]) - sum((Decimal(r["amount"]) for r in reduced), Decimal(0))
    assert Decimal(str(doc["totalAmountIncludingTax"])) == want


def records(e2e: E2E, order: dict) -> dict[str, dict]:
    with opened(e2e) as ctx:
        prefix = f"refund:{order['id']}-"
        return {r["id"]: r for r in ctx.state.records(kind="refund") if r["id"].startswith(prefix)}


def test_partial_refunds_with_and_without_restock_and_shipping_reduce_the_open_order_once(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=True)
    sync(env)
    assert items(env, order) == {"Item TSHIRT-001": 1, "Item MUG-001": 1, "Account 6610": 1}
    check_total(env, order, reduced=[r1])
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}], restock=False)
    sync(env)
    assert items(env, order) == {"Item TSHIRT-001": 1, "Account 6610": 1}  # the mug line deleted
    ship_id = env.woo.get_order(order["id"])["shipping_lines"][0]["id"]
    r3 = env.woo.refund_order(order["id"], line_items=[{"id": ship_id, "quantity": 1}])  # shipping only
    sync(env)
    sync(env)  # a rerun changes nothing
    assert items(env, order) == {"Item TSHIRT-001": 1}
    check_total(env, order, reduced=[r1, r2, r3])
    assert markers(env, order) == [f"WooCommerce refund {key(order, r)}" for r in (r1, r2, r3)]
    assert memos(env, order) == []  # no credit memo: nothing was invoiced
    recs = records(env, order)
    assert all(r["status"] == "done" and r["data"]["reduced"] for r in recs.values())
    assert recs[f"refund:{order['id']}-{r2['id']}"]["data"]["changes"][0]["action"] == "delete"
    code, out, err = env.cli("--json", "reconcile", "--orders", "--dry-run")
    assert code == 0, out + err
    assert json.loads(out)["orders"]["issues"] == []  # a reduced refund needs no credit memo
    lose_state(env)
    sync(env)  # the markers in BC: nothing reduced twice, no credit memo
    sync(env)
    assert items(env, order) == {"Item TSHIRT-001": 1}
    assert len(markers(env, order)) == 3 and memos(env, order) == []
    check_total(env, order, reduced=[r1, r2, r3])
    assert {r["status"] for r in records(env, order).values()} == {"done"}


def test_full_refund_of_an_open_order_leaves_it_empty_once(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    env.woo.set_order_status(order["id"], "refunded")  # WooCommerce's line-less refund of the whole order
    [refund] = env.woo.refunds(order["id"])
    sync(env)
    sync(env)
    assert items(env, order) == {} and memos(env, order) == []
    check_total(env, order, reduced=[refund])
    lose_state(env)
    sync(env)
    assert markers(env, order) == [f"WooCommerce refund {key(order, refund)}"] and memos(env, order) == []


def test_two_refunds_in_one_run_and_the_dry_run(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}])
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=False)
    code, out, err = env.cli("sync-orders", "--dry-run")
    assert code == 0, out + err
    assert "salesOrderLines" in out and key(order, r1) in out and '"action": "patch"' in out
    assert '"action": "delete"' in out  # r2 plans the line's deletion on top of r1
    assert markers(env, order) == [] and items(env, order)["Item TSHIRT-001"] == 2  # nothing written
    sync(env)
    sync(env)
    assert items(env, order) == {"Item MUG-001": 1, "Account 6610": 1}
    check_total(env, order, reduced=[r1, r2])
    assert markers(env, order) == [f"WooCommerce refund {key(order, r)}" for r in (r1, r2)]
    lose_state(env)
    sync(env)
    assert len(markers(env, order)) == 2 and memos(env, order) == []


def test_an_amount_only_refund_is_a_negative_line_on_the_refund_amount_account(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    refund = env.woo.refund_order(order["id"], amount="5.00")
    sync(env)
    sync(env)
    negative = [ln for ln in booked_doc(env, order)["salesOrderLines"] if ln["lineObjectNumber"] == "6630"]
    assert [Decimal(str(ln["unitPrice"])) for ln in negative] == [Decimal("-5")]
    check_total(env, order, reduced=[refund])
    lose_state(env)
    sync(env)
    again = [ln for ln in booked_doc(env, order)["salesOrderLines"] if ln["lineObjectNumber"] == "6630"]
    assert len(again) == 1
    assert memos(env, order) == []


def test_a_partly_shipped_order_is_reduced_down_to_what_was_shipped_then_credited(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    env.bc.ship_order(booked_doc(env, order)["id"], {"TSHIRT-001": 1})  # 1 of 2 shipped, not invoiced
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}])
    sync(env)
    assert items(env, order)["Item TSHIRT-001"] == 1 and memos(env, order) == []  # the unshipped one
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}])
    sync(env)  # the shipped one cannot go: BC will invoice it, the refund is a credit memo
    sync(env)
    assert items(env, order)["Item TSHIRT-001"] == 1
    [memo] = memos(env, order)
    assert memo["externalDocumentNumber"] == key(order, r2)
    assert Decimal(str(memo["totalAmountIncludingTax"])) == Decimal(r2["amount"])
    check_total(env, order, reduced=[r1])
    lose_state(env)
    sync(env)
    assert len(memos(env, order)) == 1 and len(markers(env, order)) == 1


def test_stock_after_sync_items_follows_the_reduced_order(env: E2E) -> None:
    env.woo.edit_product("TSHIRT-001", manage_stock=True, stock_quantity=50)
    assert env.cli("sync-items")[0] == 0
    start = bc_inventory(env, "TSHIRT-001")
    order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "TSHIRT-001", "quantity": 3}])
    sync(env)
    assert env.cli("sync-items")[0] == 0
    assert env.woo.get_product("TSHIRT-001")["stock_quantity"] == int(start - 3)  # the open order holds 3
    env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=True)
    sync(env)
    assert env.cli("sync-items")[0] == 0
    assert env.woo.get_product("TSHIRT-001")["stock_quantity"] == int(start - 2)  # released by the reduction
    env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=False)
    sync(env)
    assert env.cli("sync-items")[0] == 0
    assert env.woo.get_product("TSHIRT-001")["stock_quantity"] == int(start - 1)
    assert bc_inventory(env, "TSHIRT-001") == start  # nothing posted: BC's inventory never moved


def test_a_total_off_by_a_cent_fails_that_refund_alone_with_what_differs(env: E2E) -> None:
    """3 mugs carry 2.72 tax in the store, 1 mug 0.91 in BC: after two refunds of one mug BC totals 13.41,
    the store's order less its refunds 13.40. No plug: the refund fails, the other order is reduced."""
    order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "MUG-001", "quantity": 3}])
    other = order_of(env)
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    sync(env)
    check_total(env, order, reduced=[r1])
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    o2 = env.woo.refund_order(other["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    code, out, err = env.cli("sync-orders")
    assert code != 0
    assert "totals 13.41 after the reduction" in out + err and "is 13.40 (nothing plugged" in out + err
    recs = records(env, order)
    assert recs[f"refund:{order['id']}-{r2['id']}"]["status"] == "failed"
    assert markers(env, order) == [f"WooCommerce refund {key(order, r1)}"]
    assert markers(env, other) == [f"WooCommerce refund {key(other, o2)}"]  # not held up by the other
    check_total(env, other, reduced=[o2])
    assert memos(env, order) == []


def test_a_reduction_off_by_a_cent_is_undone_in_bc_and_the_refund_fails_replayable(env: E2E) -> None:
    """The one-cent case (3 mugs, the second refund of one mug: BC 13.41, the store 13.40): the reduced lines
    go back to what they were before this refund, the total is BC's previous one, the record fails with the
    table of what differs and says BC was restored; a rerun does the same once more (nothing left behind);
    once BC ships the mugs, the replay books the refund as a credit memo, exactly once."""
    order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "MUG-001", "quantity": 3}])
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    sync(env)
    before = booked_doc(env, order)
    before_lines = lines(env, order)
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    record = f"refund:{order['id']}-{r2['id']}"
    for attempt in (1, 2):
        code, out, err = env.cli("sync-orders")
        assert code != 0
        assert "totals 13.41 after the reduction" in out + err and "BC restored" in out + err
        after = booked_doc(env, order)
        assert lines(env, order) == before_lines  # mug x2 again, the marker of r1 only
        assert after["totalAmountIncludingTax"] == before["totalAmountIncludingTax"]
        check_total(env, order, reduced=[r1])
        rec = records(env, order)[record]
        assert rec["status"] == "failed" and rec["attempts"] == attempt
        assert "BC restored" in rec["last_error"] and "13.40" in rec["last_error"]
        assert "hint: BC rounds tax per line" in rec["last_error"]
    with opened(env) as ctx:
        steps = [r["step"] for r in ctx.state.journal_for(record)]
    assert steps.count("restored") == 2  # each attempt undid its own reduction
    assert memos(env, order) == []
    env.bc.ship_order(before["id"], {"MUG-001": 2})  # shipped: the order line cannot go below 2
    code, out, err = env.cli("replay", record)
    assert code == 0, out + err
    [memo] = memos(env, order)
    assert memo["externalDocumentNumber"] == key(order, r2)
    assert Decimal(str(memo["totalAmountIncludingTax"])) == Decimal(r2["amount"])
    assert records(env, order)[record]["status"] == "done"
    lose_state(env)
    sync(env)
    assert len(memos(env, order)) == 1 and markers(env, order) == [f"WooCommerce refund {key(order, r1)}"]
