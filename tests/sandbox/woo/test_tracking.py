"""The Shipment Tracking EXTENSION routes (woocommerce.md §8.5): off by default (rest_no_route), on by knob"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from wcbc.sandbox.core import SandboxServer, TLSFiles
from wcbc.sandbox.woo.app import WooStore, seed_sample

NS = "/wp-json/wc-shipment-tracking/v3"


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


class Tracking:
    def __init__(self, server: SandboxServer, tls: TLSFiles, auth: tuple[str, str]) -> None:
        self.base, self.verify, self.auth = server.url + NS, str(tls.ca_path), auth

    def call(self, method: str, path: str, body: Any = None, auth: Any = "default") -> requests.Response:
        use = self.auth if auth == "default" else auth
        return requests.request(method, self.base + path, json=body, auth=use, verify=self.verify, timeout=30)


@pytest.fixture
def tracking(woo_server: SandboxServer, woo_tls: TLSFiles, woo_kit: Any) -> Tracking:
    return Tracking(woo_server, woo_tls, (woo_kit.CK, woo_kit.CS))


def _order(woo_api: Any) -> dict[str, Any]:
    body = {
        "set_paid": True,
        "shipping": {"postcode": "94 105", "country": "US"},
        "line_items": [{"sku": "TSHIRT-001", "quantity": 1}],
    }
    return woo_api.post("/orders", body).json()


def test_off_by_default_every_route_is_rest_no_route(
    shop: dict[str, int], woo_api: Any, tracking: Tracking
) -> None:
    order = _order(woo_api)
    for method, path in (
        ("GET", f"/orders/{order['id']}/shipment-trackings"),
        ("POST", f"/orders/{order['id']}/shipment-trackings"),
        ("GET", f"/orders/{order['id']}/shipment-trackings/abc123"),
        ("DELETE", f"/orders/{order['id']}/shipment-trackings/abc123"),
        ("GET", "/shipment-trackings/providers"),
    ):
        response = tracking.call(method, path, {"tracking_number": "1"})
        assert response.status_code == 404, (method, path)
        assert response.json() == {
            "code": "rest_no_route",
            "message": "No route was found matching the URL and request method.",
            "data": {"status": 404},
        }


def test_create_list_get_delete_a_tracking_item(
    shop: dict[str, int], woo_api: Any, tracking: Tracking, woo_store: WooStore
) -> None:
    woo_store.set_extensions(shipment_tracking=True)
    order = _order(woo_api)
    path = f"/orders/{order['id']}/shipment-trackings"
    created = tracking.call(
        "POST", path, {"tracking_provider": "ups", "tracking_number": "1Z999", "date_shipped": "2026-07-10"}
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert list(item) == [
        "tracking_id",
        "tracking_provider",
        "tracking_link",
        "tracking_number",
        "date_shipped",
        "_links",
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", item["tracking_id"])
    assert (item["tracking_provider"], item["tracking_number"], item["date_shipped"]) == (
        "UPS",
        "1Z999",
        "2026-07-10",
    )
    assert item["tracking_link"] == "https://www.ups.com/track?loc=en_US&tracknum=1Z999&zip=94105"
    assert created.headers["Location"].endswith(f"{NS}{path}/{item['tracking_id']}")
    custom = tracking.call(
        "POST",
        path,
        {
            "custom_tracking_provider": "Acme Couriers",
            "custom_tracking_link": "https://acme.test/t/%1$s?c=%3$s",
            "tracking_number": "AC-7",
        },
    ).json()
    assert (custom["tracking_provider"], custom["tracking_link"]) == (
        "Acme Couriers",
        "https://acme.test/t/AC-7?c=US",
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", custom["date_shipped"])  # today by default
    listed = tracking.call("GET", path).json()
    assert [i["tracking_id"] for i in listed] == [item["tracking_id"], custom["tracking_id"]]
    assert tracking.call("GET", f"{path}/{item['tracking_id']}").json() == item
    stored = [
        m
        for m in woo_api.get(f"/orders/{order['id']}").json()["meta_data"]
        if m["key"] == "_wc_shipment_tracking_items"
    ]
    assert [i["tracking_number"] for i in stored[0]["value"]] == ["1Z999", "AC-7"]
    gone = tracking.call("DELETE", f"{path}/{item['tracking_id']}")
    assert gone.status_code == 200 and gone.json()["tracking_id"] == item["tracking_id"]
    assert [i["tracking_id"] for i in tracking.call("GET", path).json()] == [custom["tracking_id"]]
    missing = tracking.call("GET", f"{path}/{item['tracking_id']}")
    assert (missing.status_code, missing.json()["code"]) == (
        404,
        "woocommerce_rest_shipment_tracking_invalid_id",
    )


def test_tracking_refusals(
    shop: dict[str, int], woo_api: Any, tracking: Tracking, woo_store: WooStore
) -> None:
    woo_store.set_extensions(shipment_tracking=True)
    order = _order(woo_api)
    path = f"/orders/{order['id']}/shipment-trackings"
    no_number = tracking.call("POST", path, {"tracking_provider": "USPS"})
    assert (no_number.status_code, no_number.json()["code"]) == (400, "rest_missing_callback_param")
    assert no_number.json()["data"] == {"status": 400, "params": ["tracking_number"]}
    bad_date = tracking.call("POST", path, {"tracking_number": "1", "date_shipped": "10/07/2026"})
    assert (bad_date.status_code, bad_date.json()["code"]) == (400, "rest_invalid_param")
    unknown = tracking.call("POST", "/orders/999999/shipment-trackings", {"tracking_number": "1"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "woocommerce_rest_order_invalid_id")
    anonymous = tracking.call("GET", path, auth=None)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    providers = tracking.call("GET", "/shipment-trackings/providers", auth=None)  # public
    assert providers.status_code == 200
    assert providers.json()["United States"]["USPS"] == "https://tools.usps.com/tracking/%1$s"


def test_adding_tracking_fires_order_updated(
    shop: dict[str, int], woo_api: Any, tracking: Tracking, woo_store: WooStore, woo_receiver: Any
) -> None:
    woo_store.set_extensions(shipment_tracking=True)
    order = _order(woo_api)
    woo_store.flush_webhooks(5)
    hook = {"topic": "order.updated", "delivery_url": woo_receiver.url("/u"), "secret": "s"}
    assert woo_api.post("/webhooks", hook).status_code == 201
    tracking.call(
        "POST",
        f"/orders/{order['id']}/shipment-trackings",
        {"tracking_provider": "USPS", "tracking_number": "94001"},
    )
    assert woo_store.flush_webhooks(5)
    bodies = [json.loads(r["body"]) for r in woo_receiver.of(path="/u", kind="json")]
    assert len(bodies) == 1
    assert any(m["key"] == "_wc_shipment_tracking_items" for m in bodies[0]["meta_data"])


def test_knob_at_construction(woo_tls: TLSFiles, woo_kit: Any) -> None:
    store = WooStore(consumer_keys={woo_kit.CK: (woo_kit.CS, "read_write")}, shipment_tracking=True)
    server = SandboxServer(store, tls=woo_tls).start()
    try:
        store.base_url = server.url
        response = Tracking(server, woo_tls, (woo_kit.CK, woo_kit.CS)).call(
            "GET", "/shipment-trackings/providers"
        )
        assert response.status_code == 200 and "Global" in response.json()
    finally:
        server.stop()
        store.close()
