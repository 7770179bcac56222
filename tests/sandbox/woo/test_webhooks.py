"""Webhook deliveries of the WooCommerce simulator to a local listener, checked against the recordings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

import pytest

from wcbc.sandbox.core import Clock, SandboxServer
from wcbc.sandbox.woo.app import WooStore, seed_sample

SECRET = "whsec_test_secret_1"


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


def _hook(woo_api: Any, receiver: Any, topic: str, path: str, secret: str = SECRET) -> dict[str, Any]:
    response = woo_api.post(
        "/webhooks",
        {
            "name": path,
            "topic": topic,
            "delivery_url": receiver.url(path),
            "secret": secret,
            "status": "active",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _order_body(shop: dict[str, int]) -> dict[str, Any]:
    return {
        "customer_id": shop["customer"],
        "set_paid": True,
        "payment_method": "bacs",
        "billing": {"first_name": "Jane", "email": "jane.doe@example.test"},
        "line_items": [
            {"product_id": shop["tshirt"], "quantity": 2},
            {"product_id": shop["hoodie"], "variation_id": shop["hoodie_m"], "quantity": 1},
        ],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}],
        "coupon_lines": [{"code": "save10"}],
    }


def _names(headers: list[tuple[str, str]]) -> list[str]:
    return [k for k, _ in headers]


def test_delivery_headers_are_in_the_recorded_wire_order(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore, woo_kit: Any
) -> None:
    hook = _hook(woo_api, woo_receiver, "order.created", "/hook/created")
    order = woo_api.post("/orders", _order_body(shop)).json()
    assert woo_store.flush_webhooks(5)
    [delivery] = woo_receiver.wait_for(1, path="/hook/created", kind="json")
    recorded = json.loads((woo_kit.REAL_STORE / "webhooks" / "0002.json").read_text())
    assert _names(delivery["headers"]) == _names(recorded["headers"])
    headers = dict(delivery["headers"])
    assert headers["User-Agent"] == "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)"
    assert headers["X-WC-Webhook-Source"] == woo_store.base_url + "/"
    assert headers["X-WC-Webhook-Topic"] == "order.created"
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "created"
    assert headers["X-WC-Webhook-ID"] == str(hook["id"])
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-WC-Webhook-Delivery-ID"])
    assert delivery["version"] == "HTTP/1.1"
    assert json.loads(delivery["body"])["id"] == order["id"]


def test_signature_verifies_independently_over_raw_bytes_with_php_escaping(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "order.created", "/hook/sig")
    order = woo_api.post("/orders", _order_body(shop)).json()
    woo_store.flush_webhooks(5)
    [delivery] = woo_receiver.wait_for(1, path="/hook/sig", kind="json")
    raw = delivery["body"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
    assert dict(delivery["headers"])["X-WC-Webhook-Signature"] == expected
    assert b"https:\\/\\/127.0.0.1" in raw and raw.isascii()
    assert raw == woo_api.get(f"/orders/{order['id']}").content  # the body is the v3 GET, _links included


def test_recorded_signatures_verify_with_the_sandbox_signer(woo_kit: Any) -> None:
    from wcbc.sandbox.woo.hooks import sign

    index = json.loads((woo_kit.REAL_STORE / "webhooks" / "index.json").read_text())
    checked = 0
    for entry in index["deliveries"]:
        if entry["kind"] != "delivery":
            continue
        body = (woo_kit.REAL_STORE / "webhooks" / entry["files"][1]).read_bytes()
        assert sign(index["webhook_secrets"][str(entry["webhook_id"])], body) == entry["signature_header"]
        checked += 1
    assert checked == 18


def test_php_json_reproduces_recorded_body_bytes(woo_kit: Any) -> None:
    from wcbc.sandbox.woo.money import php_json

    for name in ("0002.body", "0003.body", "0004.body", "0006.body"):
        raw = (woo_kit.REAL_STORE / "webhooks" / name).read_bytes()
        assert php_json(json.loads(raw)) == raw


def test_ping_is_an_unsigned_form_post(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_kit: Any
) -> None:
    hook = _hook(woo_api, woo_receiver, "order.created", "/hook/ping")
    [ping] = woo_receiver.of(path="/hook/ping")  # sent synchronously, before the 201
    assert ping["kind"] == "ping"
    assert ping["body"] == f"webhook_id={hook['id']}".encode()
    recorded = json.loads((woo_kit.REAL_STORE / "webhooks" / "0001.json").read_text())
    assert _names(ping["headers"]) == _names(recorded["headers"])
    assert not [k for k, _ in ping["headers"] if k.lower().startswith("x-wc")]
    assert dict(ping["headers"])["Content-Type"] == "application/x-www-form-urlencoded"


def test_rest_create_fires_created_and_updated_with_identical_bodies(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "order.created", "/c")
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    woo_api.post("/orders", _order_body(shop))
    woo_store.flush_webhooks(5)
    [created] = woo_receiver.wait_for(1, path="/c", kind="json")
    [updated] = woo_receiver.wait_for(1, path="/u", kind="json")
    assert created["body"] == updated["body"]
    assert dict(updated["headers"])["X-WC-Webhook-Topic"] == "order.updated"


def test_admin_create_order_fires_like_rest(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "order.created", "/c")
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    order = woo_store.create_order(
        customer_id=shop["customer"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}]
    )
    woo_store.flush_webhooks(5)
    assert [json.loads(r["body"])["id"] for r in woo_receiver.of(kind="json")] == [order["id"], order["id"]]


def test_updates_before_delivery_coalesce_and_body_is_built_at_delivery_time(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = woo_store.create_order(
        customer_id=shop["customer"], line_items=[{"sku": "TSHIRT-001", "quantity": 1}]
    )
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    woo_store.webhook_delay = 30.0
    for value in ("first", "second", "third"):
        assert woo_api.put(f"/orders/{order['id']}", {"meta_data": [{"key": "_bc", "value": value}]}).ok
    assert woo_receiver.of(kind="json") == []  # nothing inside the requests themselves
    woo_store.flush_webhooks(5)
    [delivery] = woo_receiver.of(kind="json")
    meta = json.loads(delivery["body"])["meta_data"]
    assert [(m["key"], m["value"]) for m in meta] == [("_bc", "third")]


def test_meta_only_put_fires_even_unchanged_and_moves_date_modified(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = woo_store.create_order(
        customer_id=shop["customer"], line_items=[{"sku": "MUG-001", "quantity": 1}]
    )
    woo_api.put(f"/orders/{order['id']}", {"meta_data": [{"key": "_wcbc_doc", "value": "SO-1"}]})
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    before = woo_api.get(f"/orders/{order['id']}").json()
    woo_store.clock.advance(7)
    after = woo_api.put(
        f"/orders/{order['id']}", {"meta_data": [{"key": "_wcbc_doc", "value": "SO-1"}]}
    ).json()
    woo_store.flush_webhooks(5)
    assert len(woo_receiver.of(path="/u", kind="json")) == 1
    assert after["date_modified_gmt"] > before["date_modified_gmt"]
    assert [m["value"] for m in after["meta_data"] if m["key"] == "_wcbc_doc"] == ["SO-1"]


def test_order_note_fires_nothing_and_keeps_date_modified(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = woo_store.create_order(
        customer_id=shop["customer"], line_items=[{"sku": "MUG-001", "quantity": 1}]
    )
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    woo_store.clock.advance(7)
    note = woo_api.post(f"/orders/{order['id']}/notes", {"note": "Synced to BC as SO-1"})
    assert note.status_code == 201 and note.json()["note"] == "Synced to BC as SO-1"
    woo_store.flush_webhooks(5)
    assert woo_receiver.of(kind="json") == []
    assert woo_api.get(f"/orders/{order['id']}").json()["date_modified"] == order["date_modified"]
    assert [n["note"] for n in woo_api.get(f"/orders/{order['id']}/notes").json()] == ["Synced to BC as SO-1"]


def test_paid_order_fires_product_updated_for_managed_stock_and_reduces_it(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "product.updated", "/p")
    body = _order_body(shop)
    body["line_items"].append({"product_id": shop["mug"], "quantity": 3})
    order = woo_api.post("/orders", body).json()
    woo_store.flush_webhooks(5)
    bodies = {
        json.loads(r["body"])["id"]: json.loads(r["body"]) for r in woo_receiver.of(path="/p", kind="json")
    }
    assert set(bodies) == {shop["mug"], shop["hoodie_m"]}  # TSHIRT-001 does not manage stock
    assert bodies[shop["mug"]]["stock_quantity"] == 22
    assert bodies[shop["hoodie_m"]]["stock_quantity"] == 4
    assert bodies[shop["hoodie_m"]]["type"] == "variation" and len(bodies[shop["hoodie_m"]]) == 71
    reduced = [m for li in order["line_items"] for m in li["meta_data"] if m["key"] == "_reduced_stock"]
    assert [m["value"] for m in reduced] == ["1", "3"]


def test_variation_batch_fires_product_updated_per_variation_in_products_shape(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "product.updated", "/p")
    result = woo_api.post(
        f"/products/{shop['hoodie']}/variations/batch",
        {
            "update": [
                {"id": shop["hoodie_s"], "regular_price": "46.00"},
                {"id": shop["hoodie_m"], "manage_stock": True, "stock_quantity": 9},
            ]
        },
    ).json()
    assert [v["id"] for v in result["update"]] == [shop["hoodie_s"], shop["hoodie_m"]]
    woo_store.flush_webhooks(5)
    bodies = [json.loads(r["body"]) for r in woo_receiver.of(path="/p", kind="json")]
    assert sorted(b["id"] for b in bodies) == [shop["hoodie_s"], shop["hoodie_m"]]
    for body in bodies:
        assert body["type"] == "variation" and body["parent_id"] == shop["hoodie"]
        assert len(body) == 71 and body["name"].startswith("Hoodie - ")
        assert isinstance(body["total_sales"], str)


def _coupon_trigger(woo_api: Any, coupon_id: int, n: int) -> None:
    assert woo_api.put(f"/coupons/{coupon_id}", {"amount": f"{n}.00"}).ok


@pytest.mark.parametrize(
    "recording,ping_status",
    [("webhook-autodisable-test.json", 500), ("webhook-autodisable-test-ping-ok.json", 200)],
)
def test_auto_disable_sequence_matches_recording(
    shop: dict[str, int],
    woo_api: Any,
    woo_receiver: Any,
    woo_store: WooStore,
    woo_kit: Any,
    recording: str,
    ping_status: int,
) -> None:
    log = json.loads((woo_kit.REAL_STORE / recording).read_text())
    woo_receiver.rules["/hook/fail"] = {"ping": ping_status, "json": 500}
    coupon = woo_api.post(
        "/coupons", {"code": "failtest", "discount_type": "fixed_cart", "amount": "2"}
    ).json()
    hook = _hook(woo_api, woo_receiver, "coupon.updated", "/hook/fail")
    state = woo_store.webhook_state(hook["id"])
    expected = log["after_create_and_failed_ping"]
    assert (state["status"], state["failure_count"], int(state["pending_delivery"])) == (
        expected["status"],
        expected["failure_count"],
        expected["pending_delivery"],
    )
    for step in log["steps"]:
        seen = len(woo_receiver.of(path="/hook/fail"))
        _coupon_trigger(woo_api, coupon["id"], step["trigger"])
        assert woo_store.flush_webhooks(5)
        assert len(woo_receiver.of(path="/hook/fail")) - seen == step["listener_requests_received"]
        state = woo_store.webhook_state(hook["id"])
        after = step["webhook_after"]
        assert (state["status"], state["failure_count"], int(state["pending_delivery"])) == (
            after["status"],
            after["failure_count"],
            after["pending_delivery"],
        )
    assert woo_api.get(f"/webhooks/{hook['id']}").json()["status"] == log["rest_status_after"]


def test_reactivation_keeps_failure_count_so_next_failure_disables(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    woo_receiver.rules["/f"] = {"json": 500}
    coupon = woo_api.post("/coupons", {"code": "x1", "discount_type": "percent", "amount": "5"}).json()
    hook = _hook(woo_api, woo_receiver, "coupon.updated", "/f")
    for n in range(7):
        _coupon_trigger(woo_api, coupon["id"], n)
        woo_store.flush_webhooks(5)
    assert woo_store.webhook_state(hook["id"])["status"] == "disabled"
    assert woo_api.put(f"/webhooks/{hook['id']}", {"status": "active"}).json()["status"] == "active"
    assert woo_store.webhook_state(hook["id"])["failure_count"] == 6
    _coupon_trigger(woo_api, coupon["id"], 99)
    woo_store.flush_webhooks(5)
    assert woo_store.webhook_state(hook["id"])["status"] == "disabled"


@pytest.mark.parametrize("status,ok", [(200, True), (204, True), (302, True), (303, False), (404, False)])
def test_success_is_2xx_to_302_and_resets_the_count(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore, status: int, ok: bool
) -> None:
    coupon = woo_api.post("/coupons", {"code": "x2", "discount_type": "percent", "amount": "5"}).json()
    hook = _hook(woo_api, woo_receiver, "coupon.updated", "/s")
    woo_receiver.rules["/s"] = {"json": 500}
    _coupon_trigger(woo_api, coupon["id"], 1)
    woo_store.flush_webhooks(5)
    assert woo_store.webhook_state(hook["id"])["failure_count"] == 1
    woo_receiver.rules["/s"] = {"json": status}
    _coupon_trigger(woo_api, coupon["id"], 2)
    woo_store.flush_webhooks(5)
    assert woo_store.webhook_state(hook["id"])["failure_count"] == (0 if ok else 2)
    assert woo_store.deliveries(hook["id"], kind="delivery")[-1]["status"] == status


def test_no_retry_after_a_failure(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    woo_receiver.rules["/f"] = {"json": 500}
    _hook(woo_api, woo_receiver, "product.updated", "/f")
    woo_store.edit_product("CAP-001", regular_price="10.99")
    assert woo_store.flush_webhooks(5)
    assert woo_store.flush_webhooks(5)  # nothing was queued again after the failure
    assert len(woo_receiver.of(path="/f", kind="json")) == 1


def test_pending_ping_is_resent_after_deliveries_until_it_gets_200(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    woo_receiver.rules["/p"] = {"ping": 201}  # 201 does not count: only exactly 200
    hook = _hook(woo_api, woo_receiver, "product.updated", "/p")
    assert woo_store.webhook_state(hook["id"])["pending_delivery"] is True
    woo_store.edit_product("CAP-001", name="Cap v2")
    woo_store.flush_webhooks(5)
    assert [r["kind"] for r in woo_receiver.of(path="/p")] == ["ping", "json", "ping"]
    woo_receiver.rules["/p"] = {"ping": 200}
    woo_store.edit_product("CAP-001", name="Cap v3")
    woo_store.flush_webhooks(5)
    woo_store.edit_product("CAP-001", name="Cap v4")
    woo_store.flush_webhooks(5)
    assert [r["kind"] for r in woo_receiver.of(path="/p")] == ["ping", "json", "ping", "json", "ping", "json"]
    assert woo_store.webhook_state(hook["id"])["pending_delivery"] is False


def test_paused_webhook_gets_nothing_and_disabled_gets_nothing(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    hook = _hook(woo_api, woo_receiver, "product.updated", "/p")
    assert woo_api.put(f"/webhooks/{hook['id']}", {"status": "paused"}).json()["status"] == "paused"
    woo_store.edit_product("CAP-001", name="Cap v2")
    woo_store.flush_webhooks(5)
    assert woo_receiver.of(path="/p", kind="json") == []


class FrozenClock(Clock):
    def time(self) -> float:
        return 1_795_724_579.0


def test_delivery_id_repeats_within_a_second_and_duplicates_carry_the_same_one(
    woo_tls: Any, woo_receiver: Any, woo_kit: Any
) -> None:
    store = WooStore(
        consumer_keys={woo_kit.CK: (woo_kit.CS, "read_write")}, clock=FrozenClock(), webhook_delay=0.01
    )
    seed_sample(store)
    with SandboxServer(store, tls=woo_tls) as server:
        store.base_url = server.url
        hook = store.add_webhook("product.updated", woo_receiver.url("/p"), SECRET)
        store.deliver_duplicate(1)
        store.edit_product("CAP-001", name="a")
        store.flush_webhooks(5)
        store.edit_product("TSHIRT-001", name="b")
        store.flush_webhooks(5)
        store.close()
    deliveries = woo_receiver.of(path="/p", kind="json")
    assert len(deliveries) == 3
    ids = {dict(d["headers"])["X-WC-Webhook-Delivery-ID"] for d in deliveries}
    assert len(ids) == 1
    assert deliveries[0]["body"] == deliveries[1]["body"] != deliveries[2]["body"]
    assert hook["id"] == 1


def test_safe_ports_enforced_when_asked(woo_tls: Any, woo_receiver: Any, woo_kit: Any) -> None:
    store = WooStore(
        consumer_keys={woo_kit.CK: (woo_kit.CS, "read_write")}, enforce_safe_ports=True, webhook_delay=0.01
    )
    seed_sample(store)
    with SandboxServer(store, tls=woo_tls) as server:
        store.base_url = server.url
        hook = store.add_webhook("product.updated", woo_receiver.url("/p"), SECRET)
        store.edit_product("CAP-001", name="a")
        store.flush_webhooks(5)
        store.close()
    assert woo_receiver.of() == []
    [delivery] = store.deliveries(hook["id"], kind="delivery")
    assert delivery["status"] is None and delivery["error"]
    assert store.webhook_state(hook["id"])["failure_count"] == 1


def test_trashed_order_delivers_id_only_body(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = woo_store.create_order(line_items=[{"sku": "CAP-001", "quantity": 1}])
    _hook(woo_api, woo_receiver, "order.deleted", "/d")
    assert woo_api.delete(f"/orders/{order['id']}").json()["status"] == "trash"
    woo_store.flush_webhooks(5)
    [delivery] = woo_receiver.of(path="/d", kind="json")
    assert delivery["body"] == f'{{"id":{order["id"]}}}'.encode()


def test_customer_and_product_created_topics(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    _hook(woo_api, woo_receiver, "customer.created", "/cc")
    _hook(woo_api, woo_receiver, "product.created", "/pc")
    woo_api.post("/customers", {"email": "new@example.test", "first_name": "Ann"})
    woo_api.post("/products", {"name": "Sock", "sku": "SOCK-1", "regular_price": "3.00"})
    woo_store.flush_webhooks(5)
    assert json.loads(woo_receiver.of(path="/cc", kind="json")[0]["body"])["email"] == "new@example.test"
    assert json.loads(woo_receiver.of(path="/pc", kind="json")[0]["body"])["sku"] == "SOCK-1"


def test_deliveries_log_records_body_headers_and_status(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    hook = _hook(woo_api, woo_receiver, "product.updated", "/p")
    woo_store.edit_product("MUG-001", stock_quantity=3)
    woo_store.flush_webhooks(5)
    [entry] = woo_store.deliveries(hook["id"], kind="delivery")
    assert entry["status"] == 200 and entry["topic"] == "product.updated"
    assert json.loads(entry["body"])["stock_quantity"] == 3
    assert dict(entry["headers"])["X-WC-Webhook-ID"] == str(hook["id"])
    assert entry["body"] == woo_receiver.of(path="/p", kind="json")[0]["body"]
