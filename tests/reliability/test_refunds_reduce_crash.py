"""A refund that reduces an open BC sales order (target sales_order), killed between its line changes and
its marker, and between its marker and its record, then a lost state DB: reduced exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E
from tests.e2e.test_refunds_e2e import PREFIX, _env, booked_doc, lose_state, memos, opened, order_of, sync
from wcbc.adapters.bc.client import BCClient
from wcbc.sync.common.apply import Ledger
from wcbc.sync.orders.sync import OrderSync

pytestmark = pytest.mark.reliability


@pytest.fixture
def env(tmp_path, monkeypatch) -> Iterator[E2E]:
    yield from _env(tmp_path, monkeypatch, "sales_order")


def run_killed(env: E2E) -> None:
    with pytest.raises(KeyboardInterrupt), opened(env) as ctx:
        OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()


def state_of(env: E2E, order: dict) -> tuple[dict[str, Decimal], list[str], Decimal]:
    doc = booked_doc(env, order)
    lines = doc["salesOrderLines"]
    items = [ln for ln in lines if ln["lineType"] != "Comment"]
    quantities = {ln["lineObjectNumber"]: Decimal(str(ln["quantity"])) for ln in items}
    marks = [ln["description"] for ln in lines if ln["description"].startswith("WooCommerce refund")]
    return quantities, marks, Decimal(str(doc["totalAmountIncludingTax"]))


def test_killed_before_the_marker_then_before_the_record_then_a_lost_state(env: E2E, monkeypatch) -> None:
    order = order_of(env)
    sync(env)
    r1 = env.woo.refund_order(order["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}], restock=True)
    real_post = BCClient.post

    def killed_before_marker(self, path, body, **kw):  # noqa: ANN001, ANN202 - dies before the marker
        text = str(body.get("description"))
        if body.get("lineType") == "Comment" and text.startswith("WooCommerce refund"):
            raise KeyboardInterrupt("killed between the line changes and the marker")
        return real_post(self, path, body, **kw)

    monkeypatch.setattr(BCClient, "post", killed_before_marker)
    run_killed(env)
    quantities, marks, _ = state_of(env, order)
    assert quantities["TSHIRT-001"] == 1 and marks == []  # reduced, not marked
    monkeypatch.setattr(BCClient, "post", real_post)
    sync(env)  # the targets are met already: nothing reduced twice, the marker added
    want = Decimal(order["total"]) - Decimal(r1["amount"])
    assert state_of(env, order) == ({"TSHIRT-001": 1, "MUG-001": 1, "6610": 1},
                                    [f"WooCommerce refund {PREFIX}{order['number']}-R{r1['id']}"], want)

    r2 = env.woo.refund_order(order["id"], line_items=[{"sku": "MUG-001", "quantity": 1}], restock=False)
    real_done = Ledger.done

    def killed_before_record(self, record, *args, **kw):  # noqa: ANN001, ANN202
        if record == f"refund:{order['id']}-{r2['id']}":
            raise KeyboardInterrupt("killed between the marker and the record")
        return real_done(self, record, *args, **kw)

    monkeypatch.setattr(Ledger, "done", killed_before_record)
    run_killed(env)
    monkeypatch.setattr(Ledger, "done", real_done)
    sync(env)  # the marker: linked, nothing changed
    want -= Decimal(r2["amount"])
    quantities, marks, total = state_of(env, order)
    assert quantities == {"TSHIRT-001": 1, "6610": 1} and len(marks) == 2 and total == want
    lose_state(env)
    sync(env)
    sync(env)
    assert state_of(env, order) == (quantities, marks, want)
    assert memos(env, order) == []
    with opened(env) as ctx:
        prefix = f"refund:{order['id']}-"
        records = [r for r in ctx.state.records(kind="refund") if r["id"].startswith(prefix)]
        assert sorted(r["status"] for r in records) == ["done", "done"]
        assert all(r["data"]["reduced"] for r in records)
