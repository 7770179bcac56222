"""REST behaviour of the WooCommerce simulator: documented errors, auth, filters, write rules, admin API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from wcbc.sandbox.core import SandboxServer
from wcbc.sandbox.woo.app import WooStore, seed_sample


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


def _err(response: requests.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["data"]["status"] == status
    if message is not None:
        assert body["message"] == message
    return body


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    "method,path,code,message",
    [
        ("GET", "/orders", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        ("GET", "/orders/{order}", "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
        (
            "POST",
            "/orders",
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        (
            "PUT",
            "/orders/{order}",
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
        (
            "DELETE",
            "/orders/{order}",
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ),
        (
            "POST",
            "/orders/batch",
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
        ("GET", "/products", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        ("GET", "/webhooks", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        (
            "POST",
            "/webhooks",
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
    ],
)
def test_anonymous_gets_the_routes_own_permission_error(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore, method: str, path: str, code: str, message: str
) -> None:
    order = woo_store.create_order(line_items=[{"sku": "CAP-001", "quantity": 1}])
    response = woo_api.call(method, path.format(order=order["id"]), json_body={}, auth=None)
    _err(response, 401, code, message)
    assert woo_store.get_order(order["id"])["status"] == "processing"


def test_unknown_key_is_ignored_and_wrong_secret_is_an_auth_error(
    shop: dict[str, int], woo_api: Any, woo_kit: Any
) -> None:
    _err(
        woo_api.get("/orders", auth=("ck_unknown", woo_kit.CS)),
        401,
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot list resources.",
    )
    response = woo_api.get("/orders", auth=(woo_kit.CK, "cs_wrong"))
    _err(response, 401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
    assert "WWW-Authenticate" not in response.headers
    assert woo_kit.CS not in response.text and "cs_wrong" not in response.text


def test_query_string_credentials_work_over_https(shop: dict[str, int], woo_api: Any, woo_kit: Any) -> None:
    response = woo_api.get(
        "/orders", auth=None, params={"consumer_key": woo_kit.CK, "consumer_secret": woo_kit.CS}
    )
    assert response.status_code == 200


def test_read_only_key_reads_but_cannot_write(shop: dict[str, int], woo_api: Any, woo_kit: Any) -> None:
    ro = (woo_kit.RO_CK, woo_kit.RO_CS)
    assert woo_api.get("/products", auth=ro).status_code == 200
    _err(
        woo_api.post("/products", {"name": "x", "regular_price": "1"}, auth=ro),
        401,
        "woocommerce_rest_authentication_error",
        "The API key provided does not have write permissions.",
    )


def test_plain_http_ignores_basic_and_query_credentials(woo_kit: Any) -> None:
    store = WooStore(consumer_keys={woo_kit.CK: (woo_kit.CS, "read_write")})
    with SandboxServer(store, tls=None) as server:
        url = f"{server.url}/wp-json/wc/v3/orders"
        for kwargs in (
            {"auth": (woo_kit.CK, woo_kit.CS)},
            {"params": {"consumer_key": woo_kit.CK, "consumer_secret": woo_kit.CS, "per_page": 1}},
            {"auth": (woo_kit.CK, "cs_wrong")},
            {},
        ):
            _err(
                requests.get(url, timeout=10, **kwargs),
                401,
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
            )
    store.close()


def test_unknown_route_and_unknown_ids(shop: dict[str, int], woo_api: Any) -> None:
    _err(
        woo_api.get("/nothing-here"),
        404,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
    _err(woo_api.get("/orders/999999"), 404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    _err(
        woo_api.put("/orders/999999", {"status": "completed"}), 400, "woocommerce_rest_shop_order_invalid_id"
    )
    _err(woo_api.get("/products/999999"), 404, "woocommerce_rest_product_invalid_id")
    _err(woo_api.put("/products/999999", {"name": "x"}), 400, "woocommerce_rest_product_invalid_id")
    _err(woo_api.get("/webhooks/999"), 404, "woocommerce_rest_shop_webhook_invalid_id")
    _err(woo_api.get("/customers/999"), 404, "wc_user_invalid_id")
    _err(
        woo_api.get(f"/products/{shop['hoodie']}/variations/{shop['tshirt']}"),
        404,
        "woocommerce_rest_product_variation_invalid_id",
    )


def test_invalid_json_body(shop: dict[str, int], woo_api: Any) -> None:
    response = woo_api.call(
        "PUT", f"/products/{shop['tshirt']}", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    _err(response, 400, "rest_invalid_json")


# ------------------------------------------------------------------ parameters


def test_per_page_above_100_is_rest_invalid_param(shop: dict[str, int], woo_api: Any) -> None:
    body = _err(
        woo_api.get("/orders", params={"per_page": 101}),
        400,
        "rest_invalid_param",
        "Invalid parameter(s): per_page",
    )
    assert body["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"
    }
    assert body["data"]["details"]["per_page"]["code"] == "rest_out_of_bounds"
    assert woo_api.get("/orders", params={"per_page": 100}).status_code == 200


def test_invalid_params_are_checked_before_permissions(shop: dict[str, int], woo_api: Any) -> None:
    _err(woo_api.get("/orders", params={"per_page": 0}, auth=None), 400, "rest_invalid_param")
    _err(woo_api.get("/orders", params={"orderby": "price"}), 400, "rest_invalid_param")
    _err(woo_api.get("/orders", params={"modified_after": "2026-11-26"}), 400, "rest_invalid_param")


def test_regular_price_number_refused_on_single_put_accepted_in_batch(
    shop: dict[str, int], woo_api: Any
) -> None:
    body = _err(
        woo_api.put(f"/products/{shop['tshirt']}", {"regular_price": 21.5}),
        400,
        "rest_invalid_param",
        "Invalid parameter(s): regular_price",
    )
    assert body["data"]["details"]["regular_price"]["code"] == "rest_invalid_type"
    assert body["data"]["params"]["regular_price"] == "regular_price is not of type string."
    result = woo_api.post(
        "/products/batch", {"update": [{"id": shop["tshirt"], "regular_price": 21.5}]}
    ).json()
    assert result["update"][0]["regular_price"] == "21.5"
    assert woo_api.get(f"/products/{shop['tshirt']}").json()["price"] == "21.5"


def test_email_filter_needs_plus_encoded(shop: dict[str, int], woo_api: Any, woo_store: WooStore) -> None:
    woo_store.add_customer("john+shop@example.test", "John", "Plus")
    base = woo_api.base + "/customers"
    raw = woo_api.session.get(base + "?email=john+shop@example.test", verify=woo_api.verify, timeout=10)
    body = _err(raw, 400, "rest_invalid_param", "Invalid parameter(s): email")
    assert body["data"]["details"]["email"]["code"] == "rest_invalid_email"
    ok = woo_api.session.get(
        base + "?email=" + quote("john+shop@example.test", safe="@"), verify=woo_api.verify, timeout=10
    )
    assert [c["email"] for c in ok.json()] == ["john+shop@example.test"]
    assert woo_api.get("/customers", params={"email": "nobody@example.test"}).json() == []


# ------------------------------------------------------------------ orders list


def _orders(woo_store: WooStore, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        out.append(woo_store.create_order(line_items=[{"sku": "CAP-001", "quantity": 1}]))
        woo_store.clock.advance(60)
    woo_store.flush_webhooks(5)
    return out


def test_modified_after_with_suffix_is_silently_ignored_on_a_non_utc_store(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore
) -> None:
    assert woo_store.time_zone == "America/Los_Angeles"
    orders = _orders(woo_store, 3)
    middle = orders[1]["date_modified_gmt"]
    ids = [o["id"] for o in orders]

    def listed(**params: Any) -> list[int]:
        response = woo_api.get("/orders", params={"orderby": "modified", "order": "asc", **params})
        assert response.status_code == 200
        return [o["id"] for o in response.json()]

    assert listed(modified_after=middle, dates_are_gmt="true") == ids[2:]
    assert listed(modified_before=middle, dates_are_gmt="true") == ids[:1]
    assert listed(modified_after=middle + "Z", dates_are_gmt="true") == ids  # the trap: filter ignored
    assert listed(modified_after=middle + "+00:00", dates_are_gmt="true") == ids
    assert listed(modified_before=middle + "Z", dates_are_gmt="true") == []
    local = orders[1]["date_modified"]  # without dates_are_gmt a bare timestamp is site-local time
    assert local != middle
    assert listed(modified_after=local) == ids[2:]


def test_suffix_works_on_a_utc_store(woo_tls: Any, woo_kit: Any) -> None:
    store = WooStore(consumer_keys={woo_kit.CK: (woo_kit.CS, "read_write")}, time_zone="UTC")
    seed_sample(store)
    with SandboxServer(store, tls=woo_tls) as server:
        orders = _orders(store, 3)
        api = woo_kit.Api(server.url, str(woo_tls.ca_path), (woo_kit.CK, woo_kit.CS))
        found = api.get(
            "/orders",
            params={"modified_after": orders[1]["date_modified_gmt"] + "Z", "dates_are_gmt": "true"},
        ).json()
        assert [o["id"] for o in found] == [orders[2]["id"]]
    store.close()


def test_status_include_customer_search_and_order(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore
) -> None:
    a = woo_store.create_order(customer_id=shop["customer"], line_items=[{"sku": "CAP-001", "quantity": 1}])
    b = woo_store.create_order(
        line_items=[{"sku": "CAP-001", "quantity": 1}],
        status="on-hold",
        set_paid=False,
        billing={"first_name": "Zed", "email": "zed@example.test"},
    )
    c = woo_store.create_order(
        line_items=[{"sku": "CAP-001", "quantity": 1}], status="pending", set_paid=False
    )
    ids = lambda r: [o["id"] for o in r.json()]  # noqa: E731
    assert ids(woo_api.get("/orders", params={"status": "processing,on-hold", "order": "asc"})) == [
        a["id"],
        b["id"],
    ]
    assert ids(woo_api.get("/orders", params={"status": "pending"})) == [c["id"]]
    assert ids(
        woo_api.get(
            "/orders", params={"include": f"{c['id']},{a['id']}", "orderby": "include", "order": "asc"}
        )
    ) == [c["id"], a["id"]]
    assert ids(woo_api.get("/orders", params={"customer": shop["customer"]})) == [a["id"]]
    assert ids(woo_api.get("/orders", params={"search": "zed@"})) == [b["id"]]
    assert ids(woo_api.get("/orders", params={"orderby": "id", "order": "asc"})) == [
        a["id"],
        b["id"],
        c["id"],
    ]


def test_pagination_links_and_page_past_the_end(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore
) -> None:
    _orders(woo_store, 5)
    middle = woo_api.get("/orders", params={"per_page": 2, "page": 2})
    assert middle.headers["X-WP-Total"] == "5" and middle.headers["X-WP-TotalPages"] == "3"
    api = woo_store.api_url
    assert middle.headers["Link"] == (
        f'<{api}/orders?per_page=2&page=1&status%5B0%5D=any&dp=2&context=view>; rel="prev", '
        f'<{api}/orders?per_page=2&page=3&status%5B0%5D=any&dp=2&context=view>; rel="next"'
    )
    beyond = woo_api.get("/orders", params={"per_page": 2, "page": 9})
    assert beyond.status_code == 200 and beyond.json() == []
    assert (beyond.headers["X-WP-Total"], beyond.headers["X-WP-TotalPages"]) == ("0", "0")
    assert beyond.headers["Link"] == f'<{api}/orders?per_page=2&page=0&status%5B0%5D=any>; rel="prev"'


def test_orders_batch_updates_fire_and_bad_ids_fail_per_item(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore, woo_receiver: Any
) -> None:
    orders = _orders(woo_store, 2)
    woo_api.post(
        "/webhooks", {"topic": "order.updated", "delivery_url": woo_receiver.url("/u"), "secret": "s"}
    )
    response = woo_api.post(
        "/orders/batch",
        {
            "update": [
                {"id": orders[0]["id"], "meta_data": [{"key": "_wcbc_doc", "value": "SO-1"}]},
                {"id": 999999, "status": "completed"},
                {"id": orders[1]["id"], "status": "completed"},
            ]
        },
    )
    assert response.status_code == 200
    result = response.json()
    assert list(result) == ["update"]
    assert result["update"][0]["meta_data"][0]["value"] == "SO-1"
    assert result["update"][1] == {
        "id": 999999,
        "error": {
            "code": "woocommerce_rest_shop_order_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert result["update"][2]["status"] == "completed" and result["update"][2]["date_completed"]
    woo_store.flush_webhooks(5)
    assert sorted(json.loads(r["body"])["id"] for r in woo_receiver.of(path="/u", kind="json")) == [
        orders[0]["id"],
        orders[1]["id"],
    ]


def test_batch_limit_is_100_items(shop: dict[str, int], woo_api: Any) -> None:
    items = [{"id": shop["tshirt"], "name": f"n{i}"} for i in range(101)]
    for path in ("/orders/batch", "/products/batch", f"/products/{shop['hoodie']}/variations/batch"):
        _err(
            woo_api.post(path, {"update": items[:60], "delete": [0] * 41}),
            413,
            "woocommerce_rest_request_entity_too_large",
            "Unable to accept more than 100 items for this request.",
        )
    assert woo_api.post("/products/batch", {"update": items[:100]}).status_code == 200


# ------------------------------------------------------------------ products


def test_sku_lookup_is_exact_case_insensitive_and_finds_variations(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore
) -> None:
    [variation] = woo_api.get("/products", params={"sku": "hoodie-m"}).json()
    assert (variation["id"], variation["type"], variation["parent_id"]) == (
        shop["hoodie_m"],
        "variation",
        shop["hoodie"],
    )
    assert variation["name"] == "Hoodie - M" and len(variation) == 71
    assert woo_api.get("/products", params={"sku": "HOODIE-"}).json() == []
    found = woo_api.get("/products", params={"sku": "TSHIRT-001,MUG-001,NOPE"}).json()
    assert sorted(p["sku"] for p in found) == ["MUG-001", "TSHIRT-001"]
    woo_store.add_product("A B/C", "Odd sku", "1.00")
    assert [p["sku"] for p in woo_api.get("/products", params={"sku": "a b/c"}).json()] == ["A B/C"]
    plain = woo_api.get("/products", params={"per_page": 100}).json()
    assert "variation" not in {p["type"] for p in plain}


def test_price_on_variable_parent_is_ignored_and_stock_needs_manage_stock(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore, woo_receiver: Any
) -> None:
    woo_api.post(
        "/webhooks", {"topic": "product.updated", "delivery_url": woo_receiver.url("/p"), "secret": "s"}
    )
    response = woo_api.put(f"/products/{shop['hoodie']}", {"regular_price": "99.00"})
    assert response.status_code == 200
    assert response.json()["regular_price"] == "" and response.json()["price"] == "42.00"
    response = woo_api.put(f"/products/{shop['tshirt']}", {"stock_quantity": 7})
    assert response.status_code == 200 and response.json()["stock_quantity"] is None
    response = woo_api.put(f"/products/{shop['tshirt']}", {"manage_stock": True, "stock_quantity": 7})
    assert response.json()["stock_quantity"] == 7 and response.json()["manage_stock"] is True
    woo_store.flush_webhooks(5)
    # Each product fired product.updated even though the write was ignored. The two t-shirt updates are
    # coalesced only while the first is still queued, so count products, not deliveries.
    fired = {json.loads(d["body"])["id"] for d in woo_receiver.of(path="/p", kind="json")}
    assert fired == {shop["hoodie"], shop["tshirt"]}


def test_variation_routes_and_rules(shop: dict[str, int], woo_api: Any) -> None:
    listed = woo_api.get(f"/products/{shop['hoodie']}/variations").json()
    assert [v["id"] for v in listed] == [shop["hoodie_m"], shop["hoodie_s"]] and len(listed[0]) == 45
    _err(
        woo_api.put(f"/products/{shop['hoodie_m']}", {"regular_price": "1.00"}),
        404,
        "woocommerce_rest_invalid_product_id",
    )
    updated = woo_api.put(
        f"/products/{shop['hoodie']}/variations/{shop['hoodie_m']}", {"sale_price": ""}
    ).json()
    assert updated["price"] == "47.00" and updated["tax_class"] == "parent"
    assert woo_api.get(f"/products/{shop['hoodie']}/variations/{shop['hoodie_m']}").json()["tax_class"] == ""
    _err(
        woo_api.put(f"/products/{shop['tshirt']}/variations/{shop['hoodie_m']}", {"sale_price": ""}),
        403,
        "woocommerce_rest_cannot_edit",
        "Parent product does not match current variation.",
    )
    _err(
        woo_api.put(f"/products/{shop['hoodie']}/variations/{shop['hoodie_m']}", {"regular_price": 5}),
        400,
        "rest_invalid_param",
    )


def test_duplicate_sku_errors(shop: dict[str, int], woo_api: Any) -> None:
    body = _err(
        woo_api.put(f"/products/{shop['cap']}", {"sku": "tshirt-001"}),
        400,
        "product_invalid_sku",
        "Invalid or duplicated SKU.",
    )
    assert body["data"] == {"status": 400, "resource_id": shop["tshirt"], "unique_sku": "tshirt-001-1"}
    result = woo_api.post(
        "/products/batch",
        {"create": [{"name": "Dup", "sku": "MUG-001"}], "update": [{"id": 424242, "name": "x"}]},
    ).json()
    assert result["create"][0]["id"] == 0 and result["create"][0]["error"]["code"] == "product_invalid_sku"
    assert result["update"][0] == {
        "id": 424242,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }


# ------------------------------------------------------------------ customers and webhooks


def test_customers_create_get_and_duplicate_email(shop: dict[str, int], woo_api: Any) -> None:
    created = woo_api.post(
        "/customers", {"email": "ann@example.test", "first_name": "Ann", "last_name": "Lee"}
    )
    assert created.status_code == 201 and created.headers["Location"].endswith(
        f"/customers/{created.json()['id']}"
    )
    assert woo_api.get(f"/customers/{created.json()['id']}").json()["email"] == "ann@example.test"
    _err(woo_api.post("/customers", {"email": "ANN@example.test"}), 400, "registration-error-email-exists")


def test_webhook_rest_rules(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _err(
        woo_api.post("/webhooks", {"topic": "order.bogus", "delivery_url": woo_receiver.url("/x")}),
        400,
        "woocommerce_rest_shop_webhook_invalid_topic",
        "Webhook topic is required and must be valid.",
    )
    _err(
        woo_api.post("/webhooks", {"topic": "customer.restored", "delivery_url": woo_receiver.url("/x")}),
        400,
        "woocommerce_rest_shop_webhook_invalid_topic",
    )
    _err(
        woo_api.post("/webhooks", {"topic": "order.created", "delivery_url": "ftp://x/y"}),
        400,
        "woocommerce_rest_shop_webhook_invalid_delivery_url",
    )
    created = woo_api.post(
        "/webhooks",
        {
            "topic": "order.updated",
            "delivery_url": woo_receiver.url("/x"),
            "secret": "top-secret-value",
            "status": "paused",
        },
    )
    hook = created.json()
    assert hook["status"] == "active" and "secret" not in hook and "top-secret-value" not in created.text
    assert hook["hooks"] == ["woocommerce_update_order", "woocommerce_order_refunded"]
    _err(
        woo_api.put(f"/webhooks/{hook['id']}", {"status": "sleeping"}),
        400,
        "woocommerce_rest_shop_webhook_invalid_status",
    )
    _err(woo_api.delete(f"/webhooks/{hook['id']}"), 501, "woocommerce_rest_trash_not_supported")
    assert woo_api.delete(f"/webhooks/{hook['id']}", params={"force": "true"}).status_code == 200
    _err(woo_api.get(f"/webhooks/{hook['id']}"), 404, "woocommerce_rest_shop_webhook_invalid_id")
    action = woo_api.post(
        "/webhooks",
        {"topic": "action.woocommerce_order_status_changed", "delivery_url": woo_receiver.url("/a")},
    )
    assert action.status_code == 201


# ------------------------------------------------------------------ admin HTTP API and faults


def test_admin_http_api(
    shop: dict[str, int], woo_server: SandboxServer, woo_tls: Any, woo_store: WooStore, woo_receiver: Any
) -> None:
    base = woo_server.url + "/__admin"
    verify = str(woo_tls.ca_path)
    woo_store.add_webhook("product.updated", woo_receiver.url("/p"), "s")
    order = requests.post(
        base + "/orders",
        json={"customer_id": shop["customer"], "line_items": [{"sku": "MUG-001", "quantity": 2}]},
        verify=verify,
        timeout=10,
    )
    assert order.status_code == 201 and order.json()["line_items"][0]["sku"] == "MUG-001"
    made = requests.post(
        base + "/products",
        json={"sku": "NEW-1", "name": "New", "price": "5.00", "stock": 4},
        verify=verify,
        timeout=10,
    ).json()
    assert made["stock_quantity"] == 4
    patched = requests.patch(
        base + "/products/NEW-1", json={"regular_price": "6.00"}, verify=verify, timeout=10
    )
    assert patched.json()["price"] == "6.00"
    woo_store.flush_webhooks(5)
    log = requests.get(base + "/deliveries", params={"kind": "delivery"}, verify=verify, timeout=10).json()
    assert {json.loads(e["body"])["sku"] for e in log} == {"MUG-001", "NEW-1"}
    state = requests.get(base + "/state", verify=verify, timeout=10).json()
    assert state["orders"] == 1 and state["webhooks"][0]["failure_count"] == 0
    faults = requests.post(base + "/faults", json={"share_500": 1.0}, verify=verify, timeout=10).json()
    assert faults["share_500"] == 1.0
    failing = requests.get(
        woo_store.api_url + "/orders",
        auth=(woo_store.consumer_key, woo_store.consumer_secret),
        verify=verify,
        timeout=10,
    )
    assert failing.status_code == 500 and failing.json()["data"]["status"] == 500
    woo_store.faults.reset()  # the core server injects faults on /__admin/ too, so reset from Python
    assert (
        requests.get(
            woo_store.api_url + "/orders",
            auth=(woo_store.consumer_key, woo_store.consumer_secret),
            verify=verify,
            timeout=10,
        ).status_code
        == 200
    )
    assert requests.get(base + "/nothing", verify=verify, timeout=10).status_code == 404


def test_throttle_fault_carries_retry_after(shop: dict[str, int], woo_api: Any, woo_store: WooStore) -> None:
    woo_store.faults.share_429 = 1.0
    woo_store.faults.retry_after = 3
    response = woo_api.get("/orders")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    woo_store.faults.reset()
