"""sync-orders end to end: the real CLI and clients against the sandbox over HTTPS."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E, make_env

SHIP = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}]
GUEST = {
    "first_name": "Sam",
    "last_name": "O'Brien",
    "email": "sam+shop@example.test",
    "phone": "555-0101",
    "address_1": "9 Elm St",
    "city": "Portland",
    "state": "OR",
    "postcode": "97201",
    "country": "US",
}


def jane(e2e: E2E) -> int:
    return next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")


def docs(e2e: E2E, number: str | int) -> list[dict]:
    """BC documents for a WooCommerce order number, each with its lines under "lines"."""
    found = e2e.documents(number)
    for doc in found:
        doc["lines"] = doc.get("salesOrderLines") or doc.get("salesInvoiceLines") or []
    return found


def sync(e2e: E2E, *args: str) -> tuple[int, str, str]:
    return e2e.cli("sync-orders", *args)


def test_registered_customer_with_coupon_shipping_and_variation(e2e: E2E) -> None:
    customers_before = len(e2e.bc.customers())
    order = e2e.woo.create_order(
        customer_id=jane(e2e),
        line_items=[{"sku": "TSHIRT-001", "quantity": 2}, {"sku": "HOODIE-M", "quantity": 1}],
        shipping_lines=SHIP,
        coupon_lines=[{"code": "save10"}],
    )
    code, out, err = sync(e2e)
    assert code == 0, err
    found = docs(e2e, order["number"])
    assert len(found) == 1
    doc = found[0]
    assert doc["customerNumber"] == e2e.bc.customers()[0]["number"]  # jane matched by e-mail, not created
    assert len(e2e.bc.customers()) == customers_before
    lines = doc["lines"]
    items = [ln for ln in lines if ln["lineType"] == "Item"]
    assert [ln["lineObjectNumber"] for ln in items] == ["TSHIRT-001", "HOODIE-M"]  # the variation's own SKU
    assert any(ln["lineType"] == "Account" and ln["lineObjectNumber"] == "6610" for ln in lines)
    assert any(ln["lineType"] == "Comment" and str(order["number"]) in ln["description"] for ln in lines)
    assert abs(Decimal(str(doc["totalAmountIncludingTax"])) - Decimal(order["total"])) <= Decimal("0.01")
    # The BC number is written back onto the order.
    meta = {m["key"]: m["value"] for m in e2e.woo.get_order(order["id"])["meta_data"]}
    assert meta["_wcbc_bc_document"] == doc["number"]
    notes = [n.note for n in e2e.woo.order_index[order["id"]].notes]
    assert notes == [f"Booked in Business Central as {doc['number']} by wcbc."]  # exactly one, even on reruns
    assert sync(e2e)[0] == 0
    assert len(e2e.woo.order_index[order["id"]].notes) == 1


def test_new_customer_created_once_for_two_orders_and_guest(e2e: E2E) -> None:
    new = e2e.woo.add_customer("new.buyer@example.test", "New", "Buyer")
    first = e2e.woo.create_order(customer_id=new["id"], line_items=[{"sku": "MUG-001", "quantity": 1}])
    second = e2e.woo.create_order(customer_id=new["id"], line_items=[{"sku": "CAP-001", "quantity": 3}])
    guest = e2e.woo.create_order(
        billing=GUEST, line_items=[{"sku": "MUG-001", "quantity": 2}], shipping_lines=SHIP
    )
    code, _, err = sync(e2e)
    assert code == 0, err
    by_email = {}
    for c in e2e.bc.customers():
        by_email.setdefault(c["email"], []).append(c)
    assert len(by_email["new.buyer@example.test"]) == 1
    assert len(by_email["sam+shop@example.test"]) == 1  # '+' and O'Brien survive the filter escaping
    assert by_email["sam+shop@example.test"][0]["displayName"] == "Sam O'Brien"
    for order in (first, second, guest):
        assert len(docs(e2e, order["number"])) == 1
    assert docs(e2e, first["number"])[0]["customerNumber"] == docs(e2e, second["number"])[0]["customerNumber"]


def test_fee_line_and_tax_totals(e2e: E2E) -> None:
    order = e2e.woo.create_order(
        customer_id=jane(e2e),
        line_items=[{"sku": "MUG-001", "quantity": 3}],
        fee_lines=[{"name": "Gift wrapping", "total": "5.00", "tax_status": "taxable"}],
        shipping_lines=SHIP,
    )
    assert sync(e2e)[0] == 0
    doc = docs(e2e, order["number"])[0]
    assert any(ln["lineType"] == "Account" and ln["lineObjectNumber"] == "6620" for ln in doc["lines"])
    assert abs(Decimal(str(doc["totalAmountIncludingTax"])) - Decimal(order["total"])) <= Decimal("0.01")


def test_exactly_once_reruns_replayed_webhooks_and_lost_state(e2e: E2E) -> None:
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "TSHIRT-001", "quantity": 1}])
    assert sync(e2e)[0] == 0
    # Rerun, explicit order ids repeated, and the write-back echo: still one document.
    assert sync(e2e)[0] == 0
    assert sync(e2e, "--order", str(order["id"]), "--order", str(order["id"]))[0] == 0
    # The state DB is lost: the lookup by externalDocumentNumber relinks instead of booking again.
    for suffix in ("", "-wal", "-shm"):
        p = e2e.state_path.with_name(e2e.state_path.name + suffix)
        if p.exists():
            p.unlink()
    code, out, _ = sync(e2e, "--since", "2020-01-01T00:00:00")
    assert code == 0
    assert "linked" in out
    assert len(docs(e2e, order["number"])) == 1


def test_unbooked_status_skipped_then_booked_when_processing(e2e: E2E) -> None:
    order = e2e.woo.create_order(
        customer_id=jane(e2e),
        line_items=[{"sku": "CAP-001", "quantity": 1}],
        status="on-hold",
        set_paid=False,
    )
    code, out, _ = sync(e2e)
    assert code == 0 and "skipped" in out
    assert docs(e2e, order["number"]) == []
    e2e.woo.update_order(order["id"], status="processing")
    assert sync(e2e)[0] == 0
    assert len(docs(e2e, order["number"])) == 1


def test_unknown_sku_fails_names_order_and_line_then_replay_books_it(e2e: E2E) -> None:
    e2e.woo.add_product("NEW-ITEM", "Brand new", "3.00")
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "NEW-ITEM", "quantity": 2}])
    good = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    code, out, err = sync(e2e)
    assert code == 1
    assert f"order {order['number']}" in (out + err)
    assert "NEW-ITEM" in (out + err)
    assert len(docs(e2e, good["number"])) == 1  # the run went on with the others
    assert docs(e2e, order["number"]) == []
    code, out, _ = e2e.cli("--json", "failures")
    assert code == 0 and f"order:{order['id']}" in out
    e2e.bc.add_item("NEW-ITEM", "Brand new", "3.00", 10)
    code, out, err = e2e.cli("replay", f"order:{order['id']}")
    assert code == 0, out + err
    assert len(docs(e2e, order["number"])) == 1
    # Replaying a done record is refused without --force; with --force it books nothing twice.
    assert e2e.cli("replay", f"order:{order['id']}")[0] == 2
    assert e2e.cli("replay", "--force", f"order:{order['id']}")[0] == 0
    assert len(docs(e2e, order["number"])) == 1


def test_repeated_failure_puts_order_on_hold(e2e: E2E) -> None:
    e2e.woo.add_product("GHOST-SKU", "Only in the store", "4.00")
    order = e2e.woo.create_order(billing=GUEST, line_items=[{"sku": "GHOST-SKU", "quantity": 1}])
    for _ in range(3):  # plain scheduled runs: the poll's bookmark moves on, the failed order is retried
        assert sync(e2e)[0] == 1
    code, out, _ = e2e.cli("--json", "failures")
    rows = json.loads(out)
    assert [r["status"] for r in rows if r["id"] == f"order:{order['id']}"] == ["on_hold"]
    code, out, _ = sync(e2e, "--since", "2020-01-01T00:00:00")
    assert "held" in out  # scheduled runs skip it until replayed


def test_change_after_booking_is_a_conflict_not_a_second_document(e2e: E2E) -> None:
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    assert sync(e2e)[0] == 0
    e2e.woo.update_order(order["id"], billing={"address_1": "2 New Road"})
    code, out, _ = sync(e2e)
    assert code == 0 and "conflict" in out
    assert len(docs(e2e, order["number"])) == 1
    code, out, _ = e2e.cli("--json", "status")
    assert json.loads(out)["conflicts"]


def test_dry_run_writes_nothing(e2e: E2E) -> None:
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    calls_before = dict(e2e.bc.requests)
    code, out, _ = sync(e2e, "--dry-run")
    assert code == 0
    assert "MUG-001" in out
    assert docs(e2e, order["number"]) == []
    posts = [k for k in e2e.bc.requests if k.startswith("POST") and e2e.bc.requests[k] != calls_before.get(k)]
    assert posts == []
    assert not any(m["key"] == "_wcbc_bc_document" for m in e2e.woo.get_order(order["id"])["meta_data"])
    from wcbc.core.state import State

    with State(e2e.state_path) as state:  # nothing recorded either
        assert state.records() == [] and state.links("order") == [] and state.links("customer") == []
        assert state.cursors() == {} and state.journal_for(f"order:{order['id']}") == []


@pytest.mark.parametrize("target", ["sales_invoice", "posted_invoice"])
def test_invoice_targets(tmp_path, monkeypatch, target: str) -> None:
    for env in make_env(tmp_path, monkeypatch):
        env.write_config(extra="")
        text = env.config_path.read_text().replace("[orders]\n", f'[orders]\ntarget = "{target}"\n')
        env.config_path.write_text(text)
        order = env.woo.create_order(
            customer_id=jane(env), line_items=[{"sku": "MUG-001", "quantity": 2}], shipping_lines=SHIP
        )
        assert env.cli("sync-orders")[0] == 0
        found = docs(env, order["number"])
        assert len(found) == 1
        assert found[0]["@kind"] == "salesInvoice"
        assert (found[0]["status"] == "Draft") == (target == "sales_invoice")
        # A rerun finds the (posted) invoice and books nothing twice.
        assert env.cli("sync-orders", "--order", str(order["id"]))[0] == 0
        assert len(docs(env, order["number"])) == 1


def _with_orders_config(env: E2E, lines: str) -> None:
    text = env.config_path.read_text().replace("[orders]\n", f"[orders]\n{lines}\n")
    env.config_path.write_text(text)


def test_store_prices_including_tax(tmp_path, monkeypatch) -> None:
    """A tax-inclusive store: into a VAT company with gross line prices, and into a US Sales Tax company
    (which refuses pricesIncludeTax) with net prices; both reproduce WooCommerce's total."""
    for env in make_env(tmp_path / "vat", monkeypatch, woo_options={"prices_include_tax": True}):
        env.bc.store.tax_mode = "vat"
        _with_orders_config(env, "prices_include_tax = true")
        order = env.woo.create_order(
            customer_id=jane(env), line_items=[{"sku": "TSHIRT-001", "quantity": 3}], shipping_lines=SHIP
        )
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        assert doc["pricesIncludeTax"] is True
        assert abs(Decimal(str(doc["totalAmountIncludingTax"])) - Decimal(order["total"])) <= Decimal("0.01")
    for env in make_env(tmp_path / "salestax", monkeypatch, woo_options={"prices_include_tax": True}):
        order = env.woo.create_order(
            customer_id=jane(env), line_items=[{"sku": "TSHIRT-001", "quantity": 3}], shipping_lines=SHIP
        )
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        assert doc["pricesIncludeTax"] is False
        assert abs(Decimal(str(doc["totalAmountIncludingTax"])) - Decimal(order["total"])) <= Decimal("0.01")


def test_order_in_another_currency_keeps_its_currency(e2e: E2E) -> None:
    order = e2e.woo.create_order(
        customer_id=jane(e2e), line_items=[{"sku": "CAP-001", "quantity": 1}], currency="EUR"
    )
    assert e2e.cli("sync-orders")[0] == 0
    doc = docs(e2e, order["number"])[0]
    assert doc["currencyCode"] == "EUR"
    local = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "CAP-001", "quantity": 1}])
    assert e2e.cli("sync-orders")[0] == 0
    assert docs(e2e, local["number"])[0]["currencyCode"] in ("", "USD")


def test_prefix_changed_and_state_lost_the_order_meta_still_prevents_a_second_document(e2e: E2E) -> None:
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    assert sync(e2e)[0] == 0
    first = docs(e2e, order["number"])[0]["number"]
    key = e2e.external_number(order["number"])  # under the prefix it was booked with
    for suffix in ("", "-wal", "-shm"):
        p = e2e.state_path.with_name(e2e.state_path.name + suffix)
        if p.exists():
            p.unlink()
    _with_orders_config(e2e, 'number_prefix = "WEB-"')
    code, out, err = sync(e2e, "--since", "2020-01-01T00:00:00")
    assert code == 0, out + err
    assert first in out and "not booked again" in out
    assert e2e.bc.documents_by_external_number(f"WEB-{order['number']}") == []
    assert len(e2e.bc.documents_by_external_number(key)) == 1


def test_items_mapping_file_maps_store_skus_to_other_bc_numbers(e2e: E2E) -> None:
    e2e.woo.add_product("WEB-MUG-XL", "Big mug", "15.00")
    e2e.bc.add_item("1000-MUGXL", "Big mug", "15.00", 10)
    mapping_file = e2e.tmp / "items.csv"
    mapping_file.write_text("bc_item_number,woo_sku\n1000-MUGXL,WEB-MUG-XL\n")
    text = e2e.config_path.read_text()
    e2e.config_path.write_text(
        text.replace("[orders]\n", f'[items]\nmapping_file = "{mapping_file}"\n\n[orders]\n')
    )
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "WEB-MUG-XL", "quantity": 2}])
    code, out, err = sync(e2e)
    assert code == 0, out + err
    lines = docs(e2e, order["number"])[0]["lines"]
    assert [ln["lineObjectNumber"] for ln in lines if ln["lineType"] == "Item"] == ["1000-MUGXL"]


def test_non_order_deliveries_in_the_inbox_are_cleared_not_left_claimed(e2e: E2E) -> None:
    from wcbc.core.state import State

    with State(e2e.state_path) as state:
        state.inbox_add("woocommerce", "product.updated", "12", b'{"id":12}')
        state.inbox_add("woocommerce", "order.updated", "999999", b'{"id":999999}')
    assert sync(e2e)[0] == 0
    with State(e2e.state_path) as state:
        assert state.inbox_backlog("woocommerce") == 0
        assert {r["status"] for r in state.inbox_list(source="woocommerce")} == {"done"}


def test_the_run_reports_the_store_clock_it_saw(e2e: E2E) -> None:
    """The skew between this host and the store (their Date header, their order dates) reaches --json and
    the run row; the sandbox's clock is this host's, so the skew is near 0 and nothing warns."""
    import json

    e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "CAP-001", "quantity": 1}])
    code, out, err = e2e.cli("--json", "sync-orders")
    assert code == 0, err
    shown = json.loads(out)
    assert abs(shown["clock_skew_s"]) < 5 and "warnings" not in shown
    code, out, _ = e2e.cli("--json", "status")
    assert code == 0 and "clock_skew_s" in out
