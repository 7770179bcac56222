"""A refund of an open BC sales order (target ``sales_order``) that covers a line not shipped and a line
shipped and invoiced is split: the order is reduced for the first, one credit memo ``<key>-S`` credits the
second, each part's total to the cent; a rerun and a lost state DB double nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.test_refunds_e2e import PREFIX, _env, lose_state, memos, order_of, sync


@pytest.fixture
def env(tmp_path, monkeypatch) -> Iterator[E2E]:
    yield from _env(tmp_path, monkeypatch, "sales_order")


def sales_order(e2e: E2E, order: dict) -> dict:
    [doc] = [
        d
        for d in e2e.bc.documents_by_external_number(f"{PREFIX}{order['number']}")
        if d["@kind"] == "salesOrder"
    ]
    return doc


def items(doc: dict) -> dict[str, Decimal]:
    return {
        f"{ln['lineType']} {ln['lineObjectNumber']}": Decimal(str(ln["quantity"]))
        for ln in doc["salesOrderLines"]
        if ln["lineType"] != "Comment"
    }


def markers(doc: dict) -> list[str]:
    return [
        ln["description"]
        for ln in doc["salesOrderLines"]
        if ln["lineType"] == "Comment" and ln["description"].startswith("WooCommerce refund")
    ]


def gross(line: dict) -> Decimal:
    return abs(Decimal(str(line["total"]))) + abs(Decimal(str(line["total_tax"])))


def split_refund(env: E2E, *, invoice: bool) -> tuple[dict, dict, dict, dict | None]:
    """Order: 2 T-shirts, 1 mug, shipping; the mug shipped (and invoiced); a refund of a T-shirt and the
    mug: the order is reduced by the T-shirt, the mug is one credit memo ``<key>-S``."""
    order = order_of(env)
    sync(env)
    shipped = env.bc.ship_order(sales_order(env, order)["id"], {"MUG-001": 1}, invoice=invoice)
    assert not shipped["orderDeleted"]
    refund = env.woo.refund_order(
        order["id"],
        line_items=[{"sku": "TSHIRT-001", "quantity": 1}, {"sku": "MUG-001", "quantity": 1}],
    )
    key = f"{PREFIX}{order['number']}-R{refund['id']}"
    code, out, err = env.cli("sync-orders", "--dry-run")
    assert code == 0, out + err
    assert '"action": "patch"' in out and f"{key}-S" in out  # both parts shown, nothing written
    assert markers(sales_order(env, order)) == [] and memos(env, order) == []
    sync(env)
    doc = sales_order(env, order)
    assert items(doc)["Item TSHIRT-001"] == 1 and items(doc)["Item MUG-001"] == 1  # the mug stays
    refunded = {int(ln["product_id"]): ln for ln in refund["line_items"]}
    tshirt = next(ln for ln in order["line_items"] if ln["sku"] == "TSHIRT-001")
    reduced = gross(refunded[int(tshirt["product_id"])])
    assert markers(doc) == [f"WooCommerce refund {key} part {reduced}: {tshirt['id']}x1"]
    assert Decimal(str(doc["totalAmountIncludingTax"])) == Decimal(order["total"]) - reduced
    [memo] = memos(env, order)
    assert memo["externalDocumentNumber"] == f"{key}-S"
    assert Decimal(str(memo["totalAmountIncludingTax"])) == Decimal(refund["amount"]) - reduced
    return order, doc, memo, shipped["invoice"]


def same(env: E2E, order: dict, doc: dict) -> None:
    assert len(memos(env, order)) == 1
    after = sales_order(env, order)
    assert markers(after) == markers(doc) and items(after) == items(doc)
    assert after["totalAmountIncludingTax"] == doc["totalAmountIncludingTax"]


def test_a_refund_of_an_unshipped_and_an_invoiced_line_reduces_the_order_and_credits_the_rest(
    env: E2E,
) -> None:
    order, doc, memo, invoice = split_refund(env, invoice=True)
    assert invoice is not None and memo["invoiceNumber"] == invoice["number"]  # it credits the mug's invoice
    sync(env)  # a rerun doubles nothing
    same(env, order, doc)
    lose_state(env)  # the partly invoiced order is proved and linked again; the credit memo found by key
    sync(env)
    same(env, order, doc)


def test_a_refund_reaching_shipped_not_invoiced_quantity_is_split_once_even_after_a_lost_state_db(
    env: E2E,
) -> None:
    order, doc, memo, invoice = split_refund(env, invoice=False)
    assert invoice is None and not memo.get("invoiceNumber")  # BC invoices the mug when the order is posted
    sync(env)
    same(env, order, doc)
    code, out, err = env.cli("--json", "reconcile", "--orders", "--dry-run")
    assert code == 0, out + err
    assert json.loads(out)["orders"]["issues"] == []  # the order compared less the reduced part only
    lose_state(env)
    sync(env)
    same(env, order, doc)
