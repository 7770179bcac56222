"""wcbc.adapters.woo.client against the real-store recordings (requests-mock, no network)."""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import requests_mock as rm

from tests.contracts import WOO_REST
from wcbc.adapters.http import USER_AGENT
from wcbc.adapters.woo.client import BatchResult, WooClient
from wcbc.adapters.woo.wire import HINT_KEY_IGNORED
from wcbc.core.errors import (
    AmbiguousWriteError,
    AuthError,
    ConfigError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    ValidationError,
)
from wcbc.core.time import bare_utc

REST = WOO_REST
STORE = "https://127.0.0.1:8443"
API = STORE + "/wp-json/wc/v3"
CK = "ck_test_4f1d2a7e0c9b8a6d5e4f3a2b1c0d9e8f7a6b5c4d"
CS = "cs_test_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def woo(sleeps: Sleeps) -> WooClient:
    return WooClient(STORE, CK, CS, sleep=sleeps, max_retries=3)


def recording(name: str) -> tuple[dict, bytes]:
    meta = json.loads((REST / f"{name}.meta.json").read_text())
    return meta, (REST / f"{name}.body.json").read_bytes()


def recorded_headers(meta: dict, *keep: str) -> dict[str, str]:
    return {k: v for k, v in meta["headers"] if not keep or k in keep}


def qs(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


# ---------------------------------------------------------------- construction
def test_refuses_plain_http() -> None:
    with pytest.raises(ConfigError) as info:
        WooClient("http://shop.example", CK, CS)
    assert "http" in str(info.value)
    with pytest.raises(ConfigError):
        WooClient("http://shop.example", CK, CS, allow_http=True)  # only loopback may use http
    assert WooClient("http://127.0.0.1:8081", CK, CS, allow_http=True).api_url == (
        "http://127.0.0.1:8081/wp-json/wc/v3"
    )
    with pytest.raises(ConfigError):
        WooClient("https://user:pw@shop.example", CK, CS)
    with pytest.raises(ConfigError):
        WooClient(STORE, "", CS)


def test_url_normalisation() -> None:
    assert WooClient("https://shop.example/", CK, CS).api_url == "https://shop.example/wp-json/wc/v3"
    assert WooClient("https://shop.example/sub/wp-json/wc/v3/", CK, CS).api_url == (
        "https://shop.example/sub/wp-json/wc/v3"
    )


# ---------------------------------------------------------------- basics
def test_get_order_basic_auth_user_agent_money_strings(requests_mock: rm.Mocker, woo: WooClient) -> None:
    meta, body = recording("order-retrieve-customer")
    requests_mock.get(API + "/orders/16", content=body, headers=recorded_headers(meta))
    order = woo.get_order(16)
    assert order["id"] == 16
    assert order["total"] == "89.88" and isinstance(order["total"], str)
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{CK}:{CS}".encode()).decode()
    assert sent.headers["User-Agent"] == USER_AGENT
    assert "consumer" not in sent.url
    assert woo.calls["GET /orders/{id}"] == 1
    assert woo.calls.total() == 1


def test_pagination_by_total_pages(requests_mock: rm.Mocker, woo: WooClient) -> None:
    pages = {1: recording("orders-list-page1-per_page2"), 2: recording("orders-list-page2-per_page2")}

    def answer(request, context):
        page = int(qs(request)["page"][0])
        meta, body = pages[page]
        context.headers.update(recorded_headers(meta, "X-WP-Total", "X-WP-TotalPages", "Link"))
        return body

    requests_mock.get(API + "/orders", content=answer)
    ids = [o["id"] for o in woo.iter_orders(per_page=2)]
    assert ids == [18, 17, 16]
    assert requests_mock.call_count == 2
    assert all(qs(r)["per_page"] == ["2"] for r in requests_mock.request_history)


def test_pagination_by_link_header_when_total_pages_missing(requests_mock: rm.Mocker, woo: WooClient) -> None:
    page1, page2 = recording("orders-list-page1-per_page2"), recording("orders-list-page2-per_page2")
    link = recorded_headers(page1[0])["Link"]  # rel="next" with page=2 (and defaulted params)

    def answer(request, context):
        if qs(request)["page"] == ["1"]:
            context.headers["Link"] = link
            return page1[1]
        return page2[1]

    requests_mock.get(API + "/orders", content=answer)
    assert [o["id"] for o in woo.iter_orders()] == [18, 17, 16]
    assert [qs(r)["page"] for r in requests_mock.request_history] == [["1"], ["2"]]
    # the link's own host/query (status[0]=any, dp=2) is not followed: our URL is reused
    assert all(
        urlsplit(r.url).netloc == "127.0.0.1:8443" and "dp" not in qs(r)
        for r in requests_mock.request_history
    )


def test_page_past_the_end_stops(requests_mock: rm.Mocker, woo: WooClient) -> None:
    meta, body = recording("orders-list-page3-beyond")
    requests_mock.get(
        API + "/orders", content=body, headers=recorded_headers(meta, "X-WP-Total", "X-WP-TotalPages", "Link")
    )
    assert list(woo.iter_orders()) == []
    assert requests_mock.call_count == 1


def test_iter_orders_sends_bare_utc_timestamps(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.get(API + "/orders", json=[], headers={"X-WP-TotalPages": "0"})
    after = datetime(2026, 11, 26, 22, 15, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    before = datetime(2026, 11, 27, 8, 0, 0, 500000, tzinfo=UTC)
    list(woo.iter_orders(modified_after=after, modified_before=before, status="processing,completed"))
    query = qs(requests_mock.last_request)
    assert query["modified_after"] == ["2026-11-26T20:15:00"]
    assert query["modified_before"] == ["2026-11-27T08:00:01"]
    assert query["dates_are_gmt"] == ["true"]
    assert query["orderby"] == ["modified"] and query["order"] == ["asc"]
    assert query["per_page"] == ["100"] and query["page"] == ["1"]
    assert query["status"] == ["processing,completed"]
    raw = urlsplit(requests_mock.last_request.url).query
    assert "Z" not in raw and "%2B00" not in raw and "+00" not in raw


def test_bare_utc_format() -> None:
    assert bare_utc(datetime(2026, 11, 26, 20, 15, tzinfo=UTC)) == "2026-11-26T20:15:00"
    assert (
        bare_utc(datetime(2026, 11, 26, 12, 15, tzinfo=timezone(timedelta(hours=-8))))
        == "2026-11-26T20:15:00"
    )
    assert bare_utc(datetime(2026, 11, 26, 20, 15, 0, 1)) == "2026-11-26T20:15:00"  # naive = UTC


# ---------------------------------------------------------------- batch
def test_batch_per_item_errors_from_recording(requests_mock: rm.Mocker, woo: WooClient) -> None:
    _, body = recording("products-batch-with-invalid")
    recorded = json.loads(body)
    requests_mock.post(API + "/products/batch", json={"update": recorded["create"] + recorded["update"]})
    results = woo.batch_products(
        [{"id": 19, "regular_price": "9.99"}, {"id": 0, "sku": "TSHIRT-001"}, {"id": 10, "description": "x"}]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].item and results[0].item["sku"] == "CAP-001"
    bad = results[1]
    assert bad == BatchResult(
        id=0,
        ok=False,
        item=None,
        error={
            "code": "product_invalid_sku",
            "message": "Invalid or duplicated SKU.",
            "data": {"status": 400, "resource_id": 10, "unique_sku": "TSHIRT-001-1"},
        },
    )
    assert requests_mock.last_request.json() == {
        "update": [
            {"id": 19, "regular_price": "9.99"},
            {"id": 0, "sku": "TSHIRT-001"},
            {"id": 10, "description": "x"},
        ]
    }


def test_batch_chunks_at_100(requests_mock: rm.Mocker, woo: WooClient) -> None:
    def answer(request, context):
        items = request.json()["update"]
        assert len(items) <= 100
        return {
            "update": [
                {
                    "id": i["id"],
                    "error": {
                        "code": "woocommerce_rest_shop_order_invalid_id",
                        "message": "Invalid ID.",
                        "data": {"status": 400},
                    },
                }
                if i["id"] == 150
                else {"id": i["id"]}
                for i in items
            ]
        }

    requests_mock.post(API + "/orders/batch", json=answer)
    results = woo.batch_orders([{"id": n, "meta_data": []} for n in range(1, 251)])
    assert [len(r.json()["update"]) for r in requests_mock.request_history] == [100, 100, 50]
    assert len(results) == 250
    assert [r.id for r in results if not r.ok] == [150]
    assert results[149].error and results[149].error["data"] == {"status": 400}
    assert woo.calls["POST /orders/batch"] == 3


def test_batch_variations_route_and_missing_items(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.post(API + "/products/12/variations/batch", json={"update": [{"id": 13}]})
    results = woo.batch_variations(
        12, [{"id": 13, "regular_price": "40.00"}, {"id": 14, "stock_quantity": 3}]
    )
    assert results[0].ok and not results[1].ok
    assert results[1].id == 14 and results[1].error and results[1].error["code"] == "wcbc_batch_item_missing"


def test_batch_retried_after_lost_answer_because_updates_are_idempotent(
    requests_mock: rm.Mocker, woo: WooClient
) -> None:
    requests_mock.post(
        API + "/products/batch",
        [{"exc": requests.exceptions.ReadTimeout}, {"json": {"update": [{"id": 10}]}}],
    )
    assert woo.batch_products([{"id": 10}])[0].ok


# ---------------------------------------------------------------- SKUs
def test_find_products_by_sku_comma_list_encoding_and_chunks(
    requests_mock: rm.Mocker, woo: WooClient
) -> None:
    _, body = recording("products-list")
    products = json.loads(body)

    def answer(request, context):
        asked = qs(request)["sku"][0]
        context.headers["X-WP-TotalPages"] = "1"
        if asked == "with,comma":
            return [{"id": 999, "sku": "with,comma"}]
        wanted = {s.lower() for s in asked.split(",")}
        return [p for p in products if p["sku"].lower() in wanted]

    requests_mock.get(API + "/products", json=answer)
    skus = ["TSHIRT-001", "mug-001", "a b/c", "with,comma", "TSHIRT-001", ""] + [f"X-{n}" for n in range(150)]
    found = woo.find_products_by_sku(skus)
    assert sorted(p["sku"] for p in found) == ["MUG-001", "TSHIRT-001", "with,comma"]
    asked = [qs(r)["sku"][0] for r in requests_mock.request_history]
    assert asked[-1] == "with,comma"
    assert all(len(a.split(",")) <= 100 for a in asked[:-1])
    assert sum(len(a.split(",")) for a in asked[:-1]) == 153
    raw = urlsplit(requests_mock.request_history[0].url).query
    assert "a+b%2Fc" in raw or "a%20b%2Fc" in raw
    assert all(len(r.url) < 2000 for r in requests_mock.request_history)


def test_iter_variations(requests_mock: rm.Mocker, woo: WooClient) -> None:
    meta, body = recording("product-variations-list")
    requests_mock.get(
        API + "/products/12/variations",
        content=body,
        headers=recorded_headers(meta, "X-WP-Total", "X-WP-TotalPages"),
    )
    assert sorted(v["sku"] for v in woo.iter_variations(12)) == ["HOODIE-M", "HOODIE-S"]
    assert woo.calls["GET /products/{id}/variations"] == 1


# ---------------------------------------------------------------- errors (every recorded error body)
EXPECTED = {
    "error-bad-consumer-key": (AuthError, "woocommerce_rest_cannot_view", HINT_KEY_IGNORED),
    "error-no-auth": (AuthError, "woocommerce_rest_cannot_view", HINT_KEY_IGNORED),
    "error-basic-auth-over-plain-http": (AuthError, "woocommerce_rest_cannot_view", HINT_KEY_IGNORED),
    "error-querystring-auth-over-plain-http": (AuthError, "woocommerce_rest_cannot_view", HINT_KEY_IGNORED),
    "error-bad-consumer-secret": (AuthError, "woocommerce_rest_authentication_error", "secret"),
    "error-readonly-key-write": (AuthError, "woocommerce_rest_authentication_error", "read_write"),
    "error-order-not-found": (NotFoundError, "woocommerce_rest_shop_order_invalid_id", None),
    "error-webhook-bad-topic": (ValidationError, "woocommerce_rest_shop_webhook_invalid_topic", None),
}


def test_every_recorded_error_is_covered() -> None:
    assert {p.name.removesuffix(".body.json") for p in REST.glob("error-*.body.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_error_mapping(
    requests_mock: rm.Mocker, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    meta, body = recording(name)
    cls, code, hint = EXPECTED[name]
    request = meta["request"]
    scheme = urlsplit(request["url"]).scheme
    store = "http://127.0.0.1:8081" if scheme == "http" else STORE
    woo = WooClient(store, CK, CS, allow_http=scheme == "http", sleep=Sleeps())
    path = urlsplit(request["url"]).path
    requests_mock.register_uri(
        request["method"],
        store + path,
        content=body,
        status_code=meta["status"],
        headers=recorded_headers(meta),
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(cls) as info:
        woo.http.request(request["method"], store + path, json_body=request["json_body"])
    err = info.value
    recorded = json.loads(body)
    assert type(err) is cls
    assert err.system == "woocommerce"
    assert err.status == meta["status"] == recorded["data"]["status"]
    assert err.code == code
    assert recorded["message"] in str(err)
    assert err.call == f"{request['method']} {path}"
    if hint:
        assert hint in (err.hint or "")
    assert requests_mock.call_count == 1  # never retried
    for text in (str(err), err.hint or "", caplog.text):
        assert CS not in text and CK not in text


def test_get_order_404_via_client_method(requests_mock: rm.Mocker, woo: WooClient) -> None:
    meta, body = recording("error-order-not-found")
    requests_mock.get(API + "/orders/999999", content=body, status_code=404)
    with pytest.raises(NotFoundError) as info:
        woo.get_order(999999)
    assert info.value.call == "GET /wp-json/wc/v3/orders/999999"


def test_rest_invalid_param_details_in_message(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.put(
        API + "/products/10",
        status_code=400,
        json={
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): regular_price",
            "data": {"status": 400, "params": {"regular_price": "regular_price is not of type string."}},
        },
    )
    with pytest.raises(ValidationError) as info:
        woo.http.request("PUT", API + "/products/10", json_body={"regular_price": 1})
    assert "regular_price is not of type string." in str(info.value)


# ---------------------------------------------------------------- retries through the client
def test_throttled_and_unreachable_after_caps(
    requests_mock: rm.Mocker, woo: WooClient, sleeps: Sleeps
) -> None:
    requests_mock.get(API + "/orders/1", status_code=429)
    with pytest.raises(ThrottledError):
        woo.get_order(1)
    assert len(sleeps) == 3
    requests_mock.get(API + "/orders/2", status_code=503)
    with pytest.raises(RemoteError) as info:
        woo.get_order(2)
    assert info.value.exit_code == 3
    assert woo.retries["GET /orders/{id}"] == 6


def test_create_webhook_is_not_repeated_after_lost_answer(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.post(API + "/webhooks", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(AmbiguousWriteError):
        woo.create_webhook(
            {"topic": "order.updated", "delivery_url": "https://x.example/hook", "secret": "s"}
        )
    assert requests_mock.call_count == 1


def test_webhook_and_note_calls(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.get(API + "/webhooks", json=[{"id": 1}], headers={"X-WP-TotalPages": "1"})
    requests_mock.put(API + "/webhooks/1", json={"id": 1, "status": "active"})
    requests_mock.delete(API + "/webhooks/1", json={"id": 1})
    requests_mock.post(API + "/orders/16/notes", status_code=201, json={"id": 5, "note": "BC SO-1"})
    requests_mock.put(API + "/orders/16", json={"id": 16})
    assert woo.list_webhooks() == [{"id": 1}]
    assert woo.update_webhook(1, {"status": "active"})["status"] == "active"
    woo.delete_webhook(1)
    assert qs(requests_mock.last_request)["force"] == ["true"]
    assert woo.add_order_note(16, "BC SO-1")["id"] == 5
    assert requests_mock.last_request.json() == {"note": "BC SO-1", "customer_note": False}
    assert woo.update_order(16, {"meta_data": [{"key": "_wcbc_bc_number", "value": "SO-1"}]})["id"] == 16
    assert set(woo.calls) == {
        "GET /webhooks",
        "PUT /webhooks/{id}",
        "DELETE /webhooks/{id}",
        "POST /orders/{id}/notes",
        "PUT /orders/{id}",
    }


def test_ping(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.get(API + "/orders", json=[{"id": 18}], headers={"X-WP-Total": "3", "X-WP-TotalPages": "3"})
    assert woo.ping() == {"ok": True, "url": STORE, "orders_total": 3}
    assert qs(requests_mock.last_request)["per_page"] == ["1"]


def test_no_secret_in_retry_logs(
    requests_mock: rm.Mocker, woo: WooClient, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(
        API + "/orders/16",
        [
            {"status_code": 503},
            {"exc": requests.exceptions.ConnectTimeout},
            {
                "status_code": 401,
                "json": {
                    "code": "woocommerce_rest_authentication_error",
                    "message": f"Consumer secret {CS} is invalid.",
                    "data": {"status": 401},
                },
            },
        ],
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        woo.get_order(16)
    assert caplog.records
    for text in [caplog.text, str(info.value), info.value.hint or "", repr(info.value.args)]:
        assert CS not in text and CK not in text


def test_store_now_follows_the_last_answers_date_header(requests_mock: rm.Mocker, woo: WooClient) -> None:
    assert woo.store_now() is None  # nothing answered yet
    requests_mock.get(re.compile(r".*/orders/7$"), json={"id": 7},
                      headers={"Date": "Mon, 07 Dec 2026 16:00:00 GMT"})
    woo.get_order(7)
    now = woo.store_now()
    assert now is not None
    assert datetime(2026, 12, 7, 16, 0, tzinfo=UTC) <= now < datetime(2026, 12, 7, 16, 0, 5, tzinfo=UTC)


def test_store_now_ignores_a_missing_or_unreadable_date(requests_mock: rm.Mocker, woo: WooClient) -> None:
    requests_mock.get(re.compile(r".*/orders/7$"), json={"id": 7}, headers={"Date": "not a date"})
    woo.get_order(7)
    assert woo.store_now() is None
    requests_mock.get(re.compile(r".*/orders/8$"), json={"id": 8})
    woo.get_order(8)
    assert woo.store_now() is None
