"""sync-fulfilment (shipments) end to end: BC shipments complete WooCommerce orders over HTTPS."""

from __future__ import annotations

import json

from tests.e2e.conftest import E2E

SHIP = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}]


def booked(e2e: E2E) -> tuple[dict, dict]:
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    order = e2e.woo.create_order(customer_id=jane, shipping_lines=SHIP,
                                 line_items=[{"sku": "TSHIRT-001", "quantity": 2},
                                             {"sku": "MUG-001", "quantity": 1}])
    code, _, err = e2e.cli("sync-orders")
    assert code == 0, err
    doc = e2e.bc.documents_by_external_number(f"WC-{order['number']}")[0]
    return order, doc


def customer_notes(e2e: E2E, order_id: int) -> list[str]:
    return [n.note for n in e2e.woo.order_index[order_id].notes if n.customer_note]


def records(e2e: E2E, kind: str) -> dict[str, str]:
    ctx = e2e.context()
    try:
        return {r["id"]: r["status"] for r in ctx.state.records(kind=kind)}
    finally:
        ctx.close()


def fulfil(e2e: E2E, *args: str) -> tuple[int, str, str]:
    return e2e.cli("sync-fulfilment", *args)


def test_partial_then_full_shipment_note_and_status_exactly_once(e2e: E2E) -> None:
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], {"TSHIRT-001": 1})
    code, out, err = fulfil(e2e)
    assert code == 0, err + out
    web = e2e.woo.get_order(order["id"])
    assert web["status"] == "processing"  # partial: a note only (no partial_status configured)
    notes = customer_notes(e2e, order["id"])
    assert len(notes) == 1
    assert notes[0].startswith("Part of your order has shipped: 1 x T-Shirt (TSHIRT-001).")
    assert fulfil(e2e)[0] == 0  # rerun: nothing again
    assert len(customer_notes(e2e, order["id"])) == 1
    e2e.bc.ship_order(doc["id"], None, invoice=True)
    code, out, err = fulfil(e2e)
    assert code == 0, err + out
    assert e2e.woo.get_order(order["id"])["status"] == "completed"
    notes = customer_notes(e2e, order["id"])
    assert len(notes) == 2 and notes[1].startswith(
        "Your order has shipped: 1 x T-Shirt (TSHIRT-001); 1 x Coffee Mug (MUG-001).")
    assert fulfil(e2e)[0] == 0
    assert len(customer_notes(e2e, order["id"])) == 2
    # The order.updated echo books nothing.
    code, out, _ = e2e.cli("--json", "sync-orders")
    assert code == 0 and json.loads(out)["counts"].get("booked", 0) == 0
    assert sorted(records(e2e, "shipment").values()) == ["done", "done"]
    code, out, _ = e2e.cli("--json", "status")
    last = json.loads(out)["last_runs"]
    assert last["sync-shipments"]["outcome"] == "ok" and "sync-payments" not in last  # payments are off


def test_tracking_via_custom_api_page_and_partial_status(e2e: E2E) -> None:
    e2e.bc.publish_tracking_api()
    e2e.write_config('\n[fulfilment]\npartial_status = "on-hold"\n'
                     'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n')
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], {"TSHIRT-001": 2}, package_tracking_no="1Z999AA10123456784",
                      shipping_agent_code="UPS")
    assert fulfil(e2e)[0] == 0
    assert e2e.woo.get_order(order["id"])["status"] == "on-hold"
    assert "Tracking: UPS 1Z999AA10123456784." in customer_notes(e2e, order["id"])[0]


def test_tracking_via_odata_web_service(e2e: E2E) -> None:
    e2e.bc.publish_tracking_web_service("PostedSalesShipments")
    ctx = e2e.context()
    try:
        name = ctx.bc.company()["name"]
    finally:
        ctx.close()
    e2e.write_config(f"\n[fulfilment]\ntracking_url = \"ODataV4/Company('{name}')/PostedSalesShipments\"\n"
                     'tracking_key_field = "No"\ntracking_number_field = "Package_Tracking_No"\n'
                     'tracking_agent_field = "Shipping_Agent_Code"\n')
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], None, package_tracking_no="940010000", shipping_agent_code="USPS")
    assert fulfil(e2e)[0] == 0
    assert e2e.woo.get_order(order["id"])["status"] == "completed"
    assert "Tracking: USPS 940010000." in customer_notes(e2e, order["id"])[0]


def test_dry_run_writes_nothing_and_lost_state_repeats_nothing(e2e: E2E) -> None:
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], None)
    code, out, _ = e2e.cli("--json", "sync-fulfilment", "--dry-run")
    assert code == 0
    would = json.loads(out)["would"]
    assert [w["action"] for w in would] == ["add_note", "update_order"]
    assert would[1]["body"]["status"] == "completed"
    assert customer_notes(e2e, order["id"]) == []
    assert fulfil(e2e)[0] == 0
    e2e.state_path.unlink()  # the state DB is lost: the order's meta key is the proof
    code, out, _ = e2e.cli("--json", "sync-fulfilment", "--since", "2020-01-01")
    assert code == 0
    assert json.loads(out)["counts"] == {"unchanged": 1}
    assert len(customer_notes(e2e, order["id"])) == 1


def test_tracking_through_the_shipment_tracking_extension_before_completed(e2e: E2E) -> None:
    e2e.woo.set_extensions(shipment_tracking=True)
    e2e.bc.publish_tracking_api()
    e2e.write_config('\n[fulfilment]\ntracking_extension = true\n'
                     'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n')
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], None, package_tracking_no="1Z12345E0205271688", shipping_agent_code="UPS")
    code, out, err = fulfil(e2e)
    assert code == 0, err + out
    ctx = e2e.context()
    try:
        items = ctx.woo.shipment_trackings(order["id"])
    finally:
        ctx.close()
    assert [i["tracking_number"] for i in items] == ["1Z12345E0205271688"]
    assert e2e.woo.get_order(order["id"])["status"] == "completed"
    assert fulfil(e2e)[0] == 0  # rerun: no second tracking item
    ctx = e2e.context()
    try:
        assert len(ctx.woo.shipment_trackings(order["id"])) == 1
    finally:
        ctx.close()


def test_extension_missing_fails_the_shipment_alone(e2e: E2E) -> None:
    e2e.bc.publish_tracking_api()
    e2e.write_config('\n[fulfilment]\ntracking_extension = true\n'
                     'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n')
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], None, package_tracking_no="1Z1", shipping_agent_code="UPS")
    code, out, _ = e2e.cli("--json", "sync-fulfilment")
    assert code == 1
    outcome = json.loads(out)["outcomes"][0]
    assert outcome["result"] == "failed"
    assert e2e.woo.get_order(order["id"])["status"] == "processing"
    e2e.woo.set_extensions(shipment_tracking=True)
    assert fulfil(e2e)[0] == 0  # retried by number although the bookmark moved on
    assert e2e.woo.get_order(order["id"])["status"] == "completed"
    assert records(e2e, "shipment") == {f"shipment:{doc_shipment(e2e)}": "done"}


def doc_shipment(e2e: E2E) -> str:
    return e2e.bc.sales_shipments()[0]["number"]


def test_doctor_checks_the_tracking_endpoint_and_the_payment_journals(e2e: E2E) -> None:
    url = 'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n'
    e2e.write_config('\n[fulfilment]\n' + url + '\n[payments]\njournals = {stripe = "WEB-STRIPE"}\n')
    code, out, _ = e2e.cli("--json", "doctor")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 2
    tracking, journals = checks["tracking endpoint"], checks["payment journals"]
    assert not tracking["ok"] and "does not answer" in tracking["detail"]
    assert not journals["ok"] and "WEB-STRIPE" in journals["detail"]
    e2e.bc.publish_tracking_api()
    e2e.bc.add_payment_journal("WEB-STRIPE", "Stripe", "10100")
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], None)
    code, out, _ = e2e.cli("--json", "doctor")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0, checks
    fields = "number, packageTrackingNumber, shippingAgentCode"
    assert checks["tracking endpoint"]["detail"] == f"answers with {fields}"
    assert checks["payment journals"]["detail"] == "stripe -> WEB-STRIPE (10100)"
    e2e.write_config('\n[fulfilment]\n' + url + 'tracking_number_field = "Package_Tracking_No"\n')
    code, out, _ = e2e.cli("--json", "doctor")
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 2 and "no field Package_Tracking_No" in checks["tracking endpoint"]["detail"]


def not_invoiced_issues(e2e: E2E) -> list[dict]:
    code, out, err = e2e.cli("--json", "reconcile", "--orders", "--since", "2020-01-01")
    assert code in (0, 1), err
    return [i for i in json.loads(out)["orders"]["issues"] if i["kind"] == "shipped_not_invoiced"]


def test_reconcile_reports_an_order_shipped_in_full_but_not_invoiced(e2e: E2E) -> None:
    order, doc = booked(e2e)
    e2e.bc.ship_order(doc["id"], {"TSHIRT-001": 1})
    assert not_invoiced_issues(e2e) == []  # partly shipped: not yet this issue
    e2e.bc.ship_order(doc["id"], None)  # Post > Ship of the rest, no invoice
    issues = not_invoiced_issues(e2e)
    assert [(i["external_number"], i["order_id"]) for i in issues] == [(f"WC-{order['number']}", order["id"])]
    assert f"salesOrders {doc['number']}" in issues[0]["documents"]
    assert len([d for d in issues[0]["documents"] if d.startswith("salesShipments ")]) == 2
    assert fulfil(e2e)[0] == 0  # the web order is completed; BC still has no invoice
    assert e2e.woo.get_order(order["id"])["status"] == "completed"
    assert len(not_invoiced_issues(e2e)) == 1
    result = e2e.bc.ship_order(doc["id"], None, invoice=True)  # Post > Invoice
    assert result["invoice"]
    assert not_invoiced_issues(e2e) == []
