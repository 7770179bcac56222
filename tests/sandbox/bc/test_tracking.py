"""BC simulator: the custom tracking endpoints (NOT standard API v2.0, business-central.md §10.4): an
OData V4 web service of page 142 and a custom API page, both off until an admin publishes them."""

from __future__ import annotations

from urllib.parse import quote

import requests

from tests.sandbox.bc.helpers import admin, assert_error, get, jane
from wcbc.sandbox.bc.testing import BCSandbox


def shipped_order(s: requests.Session, sbx: BCSandbox, ext: str = "wc-16") -> tuple[dict, dict]:
    order = s.post(
        f"{sbx.company_url}/salesOrders",
        json={
            "customerNumber": jane(sbx)["number"],
            "externalDocumentNumber": ext,
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "CAP-001", "quantity": 3, "unitPrice": 9}
            ],
        },
    ).json()
    result = sbx.bc.ship_order(
        order["id"], {"CAP-001": 2}, package_tracking_no="1Z999AA10123456784", shipping_agent_code="ups"
    )
    return order, result["shipment"]


def env_url(sbx: BCSandbox) -> str:
    return f"{sbx.api_url}/v2.0/{sbx.tenant_id}/{sbx.environment}"


def test_web_service_of_posted_sales_shipments(sbx: BCSandbox, s: requests.Session) -> None:
    order, ship = shipped_order(s, sbx)
    company = quote(sbx.bc.comp().name)
    url = f"{env_url(sbx)}/ODataV4/Company('{company}')/PostedSalesShipments"
    assert_error(s.get(url), 404, "BadRequest_ResourceNotFound")  # not published yet
    r = admin(sbx, "POST", "tracking/webService", {"serviceName": "PostedSalesShipments"})
    assert r.status_code == 201
    assert requests.get(url, verify=sbx.ca_path, timeout=10).status_code == 401  # same bearer auth
    body = get(s, url)
    assert body["@odata.context"].endswith(
        "/ODataV4/$metadata#Company('CRONUS USA, Inc.')/PostedSalesShipments"
    )
    (row,) = body["value"]
    assert row["No"] == ship["number"] and row["Order_No"] == order["number"]
    assert row["External_Document_No"] == "WC-16" and row["Sell_to_Customer_No"] == jane(sbx)["number"]
    assert (row["Package_Tracking_No"], row["Shipping_Agent_Code"], row["Shipping_Agent_Service_Code"]) == (
        "1Z999AA10123456784",
        "UPS",
        "",
    )
    r = s.get(url, params={"$filter": "External_Document_No eq 'WC-16'", "$select": "No,Package_Tracking_No"})
    assert set(r.json()["value"][0]) == {"@odata.etag", "No", "Package_Tracking_No"}
    one = get(s, f"{url}('{ship['number']}')")
    assert one["Package_Tracking_No"] == "1Z999AA10123456784"
    assert_error(s.get(f"{url}('NOPE')"), 404, "Internal_RecordNotFound")
    assert_error(s.post(url, json={}), 405, "BadRequest_MethodNotAllowed")
    # Without the tenant in the URL too.
    alt = f"{sbx.api_url}/v2.0/{sbx.environment}/ODataV4/Company('{company}')/PostedSalesShipments"
    assert len(get(s, alt)["value"]) == 1


def test_custom_api_page_and_tracking_updates(sbx: BCSandbox, s: requests.Session) -> None:
    order, ship = shipped_order(s, sbx)
    path = f"{env_url(sbx)}/api/contoso/shipping/v1.0/companies({sbx.company_id})/shipmentTrackings"
    assert_error(s.get(path), 404, "BadRequest_ResourceNotFound")
    r = admin(sbx, "POST", "tracking/api", {"publisher": "contoso", "group": "shipping", "version": "v1.0"})
    assert r.json()["path"] == "api/contoso/shipping/v1.0/companies({id})/shipmentTrackings"
    rows = get(s, path, **{"$filter": f"orderNumber eq '{order['number']}'"})["value"]
    assert [(x["id"], x["number"], x["packageTrackingNumber"], x["shippingAgentCode"]) for x in rows] == [
        (ship["id"], ship["number"], "1Z999AA10123456784", "UPS")
    ]
    before = get(s, f"{path}({ship['id']})")
    # Page 1350 "Posted Sales Shipment - Update": the tracking number typed in after posting.
    r = admin(
        sbx,
        "PATCH",
        f"salesShipments/{ship['number']}/tracking",
        {
            "packageTrackingNo": "9400111899223197428490",
            "shippingAgentCode": "usps",
            "shippingAgentServiceCode": "priority",
        },
    )
    assert r.status_code == 200
    after = get(s, f"{path}({ship['id']})")
    assert (
        after["packageTrackingNumber"],
        after["shippingAgentCode"],
        after["shippingAgentServiceCode"],
    ) == (
        "9400111899223197428490",
        "USPS",
        "PRIORITY",
    )
    assert (
        after["lastModifiedDateTime"] >= before["lastModifiedDateTime"]
        and after["@odata.etag"] != before["@odata.etag"]
    )
    # Field lengths of the Sales Shipment Header: Text[50], Code[10].
    r = admin(sbx, "PATCH", f"salesShipments/{ship['number']}/tracking", {"packageTrackingNo": "x" * 51})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Application_StringExceededLength"
    # The standard salesShipments page still shows no tracking field.
    std = get(s, f"{sbx.company_url}/salesShipments({ship['id']})")
    assert not {k for k in std if "racking" in k or "Agent" in k}
    assert admin(sbx, "DELETE", "tracking").status_code == 200
    assert_error(s.get(path), 404, "BadRequest_ResourceNotFound")
