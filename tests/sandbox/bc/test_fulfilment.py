"""BC simulator: salesOrders DELETE and what blocks it, partial shipment through shipQuantity/invoiceQuantity
and the admin ship knob, salesShipments + salesShipmentLines (read-only), the order vanishing once fully
invoiced (business-central.md §10.3, §10.4), over HTTPS."""

from __future__ import annotations

import requests

from tests.sandbox.bc.helpers import admin, assert_error, get, item, jane
from wcbc.sandbox.bc.testing import BCSandbox


def new_order(s: requests.Session, sbx: BCSandbox, ext: str = "wc-16", **extra: object) -> dict:
    body = {
        "customerNumber": jane(sbx)["number"],
        "externalDocumentNumber": ext,
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "unitPrice": 18},
            {"lineType": "Account", "lineObjectNumber": "6610", "quantity": 1, "unitPrice": 10},
            {"description": "gift wrap"},
        ],
        **extra,
    }
    r = s.post(f"{sbx.company_url}/salesOrders", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def lines_of(s: requests.Session, sbx: BCSandbox, order: dict) -> list[dict]:
    return list(get(s, f"{sbx.company_url}/salesOrders({order['id']})/salesOrderLines")["value"])


def patch_line(
    s: requests.Session, sbx: BCSandbox, order: dict, line: dict, **values: object
) -> requests.Response:
    url = f"{sbx.company_url}/salesOrders({order['id']})/salesOrderLines({line['id']})"
    return s.patch(url, json=values, headers={"If-Match": "*"})


def test_delete_an_open_order_needs_if_match(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    url = f"{sbx.company_url}/salesOrders({order['id']})"
    assert_error(s.delete(url), 400, "BadRequest_InvalidToken")
    assert_error(s.delete(url, headers={"If-Match": 'W/"stale"'}), 409, "Request_EntityChanged")
    assert s.delete(url, headers={"If-Match": order["@odata.etag"]}).status_code == 204
    assert s.get(url).status_code == 404
    assert sbx.bc.documents_by_external_number("WC-16") == []


def test_partial_shipment_then_the_rest(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    stock = item(s, sbx, "TSHIRT-001")["inventory"]
    tshirt, shipping, _ = lines_of(s, sbx, order)
    assert (tshirt["shipQuantity"], tshirt["invoiceQuantity"], tshirt["shippedQuantity"]) == (2, 2, 0)
    assert_error(
        patch_line(s, sbx, order, tshirt, shipQuantity=3),
        400,
        "Application_DialogException",
        "You cannot ship more than 2 units.",
    )
    assert_error(
        patch_line(s, sbx, order, tshirt, invoiceQuantity=5),
        400,
        "Application_DialogException",
        "You cannot invoice more than 2 units.",
    )
    # Ship one T-shirt only, invoice nothing: a shipment only.
    assert patch_line(s, sbx, order, tshirt, shipQuantity=1, invoiceQuantity=0).status_code == 200
    assert patch_line(s, sbx, order, shipping, shipQuantity=0, invoiceQuantity=0).status_code == 200
    r = s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    # Result code Updated (shipment only): status UNDOCUMENTED, sandbox choice 200 with the order.
    assert r.status_code == 200, r.text
    assert r.json()["id"] == order["id"] and r.json()["fullyShipped"] is False
    tshirt, shipping, _ = lines_of(s, sbx, order)
    assert (tshirt["shippedQuantity"], tshirt["invoicedQuantity"]) == (1, 0)
    assert (tshirt["shipQuantity"], tshirt["invoiceQuantity"]) == (1, 2)  # re-initialised to outstanding
    assert item(s, sbx, "TSHIRT-001")["inventory"] == stock - 1
    ships = get(s, f"{sbx.company_url}/salesShipments", **{"$filter": f"orderNumber eq '{order['number']}'"})
    (ship,) = ships["value"]
    assert ship["externalDocumentNumber"] == "WC-16" and ship["number"].startswith("S-SHPT")
    assert "packageTrackingNo" not in ship and "shippingAgentCode" not in ship  # no tracking in v2.0
    lines = get(s, f"{sbx.company_url}/salesShipments({ship['id']})/salesShipmentLines")["value"]
    assert [(ln["lineType"], ln["lineObjectNumber"], ln["quantity"]) for ln in lines] == [
        ("Item", "TSHIRT-001", 1)
    ]
    assert lines[0]["documentId"] == ship["id"] and lines[0]["documentNo"] == ship["number"]
    assert s.get(f"{sbx.company_url}/salesInvoices").json()["value"] == []
    # Shipped but not invoiced: the order cannot be deleted.
    assert_error(
        s.delete(f"{sbx.company_url}/salesOrders({order['id']})", headers={"If-Match": "*"}),
        400,
        "Application_FieldValidationException",
        "Qty. Shipped Not Invoiced must be equal to '0'  in Sales Line: Document Type=Order, "
        f"Document No.={order['number']}, Line No.=10000. Current value is '1'.",
    )
    # Ship and invoice the rest: 204, two shipments, one invoice with everything, the order is gone.
    patch_line(s, sbx, order, shipping, shipQuantity=1, invoiceQuantity=1)
    r = s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert r.status_code == 204 and r.content == b""
    assert s.get(f"{sbx.company_url}/salesOrders({order['id']})").status_code == 404
    (inv,) = get(s, f"{sbx.company_url}/salesInvoices", **{"$filter": "externalDocumentNumber eq 'WC-16'"})[
        "value"
    ]
    assert (
        inv["orderNumber"] == order["number"]
        and inv["totalAmountIncludingTax"] == order["totalAmountIncludingTax"]
    )
    assert len(get(s, f"{sbx.company_url}/salesShipments")["value"]) == 2
    assert item(s, sbx, "TSHIRT-001")["inventory"] == stock - 2
    # salesShipmentLines is a real table: no document scope needed.
    assert len(get(s, f"{sbx.company_url}/salesShipmentLines")["value"]) == 3


def test_partly_shipped_and_invoiced_order_can_be_deleted(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    tshirt, shipping, _ = lines_of(s, sbx, order)
    patch_line(s, sbx, order, tshirt, shipQuantity=1, invoiceQuantity=1)
    patch_line(s, sbx, order, shipping, shipQuantity=0, invoiceQuantity=0)
    r = s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert r.status_code == 204  # a posted invoice with this Order No. exists: result Deleted
    (inv,) = get(s, f"{sbx.company_url}/salesInvoices")["value"]
    assert inv["totalAmountExcludingTax"] == 18 and inv["orderId"] == order["id"]
    current = get(s, f"{sbx.company_url}/salesOrders({order['id']})")
    assert (
        s.delete(
            f"{sbx.company_url}/salesOrders({order['id']})", headers={"If-Match": current["@odata.etag"]}
        ).status_code
        == 204
    )


def test_shipping_advice_complete_refuses_a_partial_shipment(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx, partialShipping=False)
    tshirt = lines_of(s, sbx, order)[0]
    patch_line(s, sbx, order, tshirt, shipQuantity=1, invoiceQuantity=1)
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"),
        400,
        "Application_DialogException",
        "This document cannot be shipped completely. Change the value in the Shipping Advice field to "
        "Partial.",
    )
    assert get(s, f"{sbx.company_url}/salesShipments")["value"] == []


def test_nothing_to_post_and_blocked_ship(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    for line in lines_of(s, sbx, order)[:2]:
        patch_line(s, sbx, order, line, shipQuantity=0, invoiceQuantity=0)
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"),
        400,
        "Application_DialogException",
        "There is nothing to post because the document does not contain a quantity or amount.",
    )
    order2 = new_order(s, sbx, "wc-17")
    sbx.bc.comp().customers.rows[jane(sbx)["id"]]["blocked"] = "Ship"
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders({order2['id']})/Microsoft.NAV.shipAndInvoice"),
        400,
        "Application_FieldValidationException",
        f"You cannot post this type of document when Customer {jane(sbx)['number']} is blocked with "
        "type Ship",
    )
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders", json={"customerNumber": jane(sbx)["number"]}),
        400,
        "Application_FieldValidationException",
        f"You cannot create this type of document when Customer {jane(sbx)['number']} is blocked with "
        "type Ship",
    )


def test_admin_ship_knob_partly_then_ship_and_invoice(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    r = admin(
        sbx,
        "POST",
        f"salesOrders/{order['id']}/ship",
        {
            "quantities": {"TSHIRT-001": 1},
            "packageTrackingNo": "1Z999AA10123456784",
            "shippingAgentCode": "ups",
        },
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["invoice"] is None and result["orderDeleted"] is False
    assert result["shipment"]["orderNumber"] == order["number"]
    (ship,) = admin(sbx, "GET", "salesShipments").json()
    assert ship["@tracking"] == {
        "packageTrackingNo": "1Z999AA10123456784",
        "shippingAgentCode": "UPS",
        "shippingAgentServiceCode": "",
    }
    assert_error(
        admin(sbx, "POST", f"salesOrders/{order['id']}/ship", {"quantities": {"10000": 5}}),
        400,
        "Application_DialogException",
        "You cannot ship more than 1 units.",
    )
    # Ship and invoice everything outstanding: the order disappears once fully invoiced.
    r = admin(sbx, "POST", f"salesOrders/{order['id']}/ship", {"invoice": True})
    assert r.status_code == 200 and r.json()["orderDeleted"] is True
    inv = r.json()["invoice"]
    assert (
        inv["orderNumber"] == order["number"]
        and inv["totalAmountIncludingTax"] == order["totalAmountIncludingTax"]
    )
    assert s.get(f"{sbx.company_url}/salesOrders({order['id']})").status_code == 404
    assert [d["@kind"] for d in sbx.bc.documents_by_external_number("wc-16")] == ["salesInvoice"]
    state = admin(sbx, "GET", "state").json()
    assert (state["salesShipments"], state["salesInvoices"], state["salesOrders"]) == (2, 1, 0)
    r = admin(sbx, "POST", "salesOrders/11111111-2222-3333-4444-555555555555/ship", {})
    assert r.status_code == 400 and "KeyError" in r.json()["error"]


def test_shipments_are_read_only(sbx: BCSandbox, s: requests.Session) -> None:
    order = new_order(s, sbx)
    ship = sbx.bc.ship_order(order["id"])["shipment"]
    url = f"{sbx.company_url}/salesShipments"
    assert_error(s.post(url, json={}), 405, "BadRequest_MethodNotAllowed")
    assert_error(
        s.patch(f"{url}({ship['id']})", json={}, headers={"If-Match": "*"}),
        405,
        "BadRequest_MethodNotAllowed",
    )
    assert_error(
        s.delete(f"{url}({ship['id']})", headers={"If-Match": "*"}), 405, "BadRequest_MethodNotAllowed"
    )
    r = s.get(url, params={"$filter": "externalDocumentNumber eq 'WC-16'", "$expand": "salesShipmentLines"})
    (found,) = r.json()["value"]
    assert [ln["lineType"] for ln in found["salesShipmentLines"]] == ["Item", "G_x002F_L_x0020_Account"]
    # Shipped in full but not invoiced: the order stays, fullyShipped, and cannot be deleted.
    assert get(s, f"{sbx.company_url}/salesOrders({order['id']})")["fullyShipped"] is True
