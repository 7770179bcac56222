"""Refunds and cancellations end to end: the real CLI and clients against the sandbox over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E, make_env

SHIP = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}]
ACCOUNTS = 'refund_account = "6620"\nrefund_amount_account = "6630"'
TARGETS = ["sales_order", "sales_invoice", "posted_invoice"]


def _env(tmp_path, monkeypatch, target: str, extra: str = "") -> Iterator[E2E]:
    for env in make_env(tmp_path, monkeypatch):
        text = env.config_path.read_text().replace(
            "[orders]\n", f'[orders]\ntarget = "{target}"\n{ACCOUNTS}\n{extra}\n'
        )
        env.config_path.write_text(text)
        yield env


@pytest.fixture(params=TARGETS)
def env(request, tmp_path, monkeypatch) -> Iterator[E2E]:
    yield from _env(tmp_path, monkeypatch, request.param)


def jane(e2e: E2E) -> int:
    return next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")


def memos(e2e: E2E, order: dict) -> list[dict]:
    return [
        m
        for m in e2e.bc.sales_credit_memos()
        if str(m.get("externalDocumentNumber", "")).startswith(f"{order['number']}-R")
    ]


def sync(e2e: E2E, *args: str) -> None:
    code, out, err = e2e.cli("sync-orders", *args)
    assert code == 0, out + err


def order_of(e2e: E2E, **kw) -> dict:
    for sku in ("TSHIRT-001", "MUG-001"):  # managed stock, so a refund can put it back
        if not e2e.woo.get_product(sku)["manage_stock"]:
            e2e.woo.edit_product(sku, manage_stock=True, stock_quantity=50)
    return e2e.woo.create_order(
        customer_id=jane(e2e),
        line_items=[{"sku": "TSHIRT-001", "quantity": 2}, {"sku": "MUG-001", "quantity": 1}],
        shipping_lines=SHIP,
        **kw,
    )


def target(e2e: E2E) -> str:
    return e2e.context().config.orders.target


def check_memo(e2e: E2E, memo: dict, refund: dict) -> None:
    assert Decimal(str(memo["totalAmountIncludingTax"])) == Decimal(refund["amount"])
    posted = target(e2e) == "posted_invoice"
    assert (memo["status"] != "Draft") == posted


def test_partial_refunds_with_and_without_restock_and_shipping(env: E2E) -> None:
    order = order_of(env)
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=True)
    sync(env)
    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}], restock=False)
    sync(env)
    ship_id = env.woo.get_order(order["id"])["shipping_lines"][0]["id"]
    r3 = env.woo.refund_order(order["id"], line_items=[{"id": ship_id, "quantity": 1}])
    sync(env)
    sync(env)  # a rerun books nothing twice
    found = {m["externalDocumentNumber"]: m for m in memos(env, order)}
    assert sorted(found) == sorted(f"{order['number']}-R{r['id']}" for r in (r1, r2, r3))
    lines = {
        r["id"]: [
            ln
            for ln in found[f"{order['number']}-R{r['id']}"]["salesCreditMemoLines"]
            if ln["lineType"] != "Comment"
        ]
        for r in (r1, r2, r3)
    }
    assert [(ln["lineType"], ln["lineObjectNumber"]) for ln in lines[r1["id"]]] == [("Item", "TSHIRT-001")]
    assert [(ln["lineType"], ln["lineObjectNumber"]) for ln in lines[r2["id"]]] == [("Account", "6620")]
    assert [(ln["lineType"], ln["lineObjectNumber"]) for ln in lines[r3["id"]]] == [("Account", "6610")]
    for r in (r1, r2, r3):
        check_memo(env, found[f"{order['number']}-R{r['id']}"], r)
