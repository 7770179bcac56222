"""Refunds over the sandbox's HTTPS REST API (woocommerce.md §8.1): shapes, restock, refusals, webhooks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from wcbc.sandbox.core import SandboxServer
from wcbc.sandbox.woo.app import WooStore, seed_sample

SECRET = "whsec_refunds"


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


def _order(woo_api: Any, shop: dict[str, int], payment_method: str = "stripe") -> dict[str, Any]:
    response = woo_api.post(
        "/orders",
        {
            "customer_id": shop["customer"],
            "set_paid": True,
            "payment_method": payment_method,
            "line_items": [
                {"sku": "MUG-001", "quantity": 3},
                {"product_id": shop["hoodie"], "variation_id": shop["hoodie_m"], "quantity": 2},
            ],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _hook(woo_api: Any, receiver: Any, topic: str, path: str) -> None:
    body = {"topic": topic, "delivery_url": receiver.url(path), "secret": SECRET}
    assert woo_api.post("/webhooks", body).status_code == 201


def _stock(woo_api: Any, product_id: int) -> int:
    return int(woo_api.get(f"/products/{product_id}").json()["stock_quantity"])


def test_partial_refund_with_restock_has_the_real_shape(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop)
    mug_line = order["line_items"][0]
    assert _stock(woo_api, shop["mug"]) == 22
    response = woo_api.post(
        f"/orders/{order['id']}/refunds",
        {
            "reason": "Broken in transit",
            "api_refund": True,
            "api_restock": True,
            "line_items": [
                {
                    "id": mug_line["id"],
                    "quantity": 1,
                    "refund_total": "12.50",
                    "refund_tax": [{"id": 1, "refund_total": "0.91"}],
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    refund = response.json()
    assert list(refund) == [
        "id",
        "date_created",
        "date_created_gmt",
        "amount",
        "reason",
        "refunded_by",
        "refunded_payment",
        "meta_data",
        "line_items",
        "shipping_lines",
        "tax_lines",
        "fee_lines",
        "_links",
    ]
    assert (refund["amount"], refund["reason"], refund["refunded_payment"]) == (
        "13.41",
        "Broken in transit",
        True,
    )
    assert refund["refunded_by"] == 1
    line = refund["line_items"][0]
    assert line["id"] != mug_line["id"] and line["sku"] == "MUG-001"
    assert (line["quantity"], line["subtotal"], line["total"], line["total_tax"]) == (
        -1,
        "-12.50",
        "-12.50",
        "-0.91",
    )
    assert line["taxes"] == [{"id": 1, "total": "-0.91", "subtotal": "-0.91"}]
    assert line["price"] == 12.5
    assert [(m["key"], m["value"]) for m in line["meta_data"]] == [("_refunded_item_id", str(mug_line["id"]))]
    assert [(t["rate_id"], t["tax_total"], t["shipping_tax_total"]) for t in refund["tax_lines"]] == [
        (1, "-0.91", "0.00")
    ]
    location = dict(response.headers)["Location"]
    assert location.endswith(f"/wp-json/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/{refund['id']}")
    assert refund["_links"]["self"][0]["targetHints"]["allow"] == ["GET", "DELETE"]
    assert refund["_links"]["up"][0]["href"].endswith(f"/orders/{order['id']}")
    # the order: total and status unchanged, refunds[] negative, restocked line marked, stock back up
    after = woo_api.get(f"/orders/{order['id']}").json()
    assert (after["total"], after["status"]) == (order["total"], "processing")
    assert after["refunds"] == [{"id": refund["id"], "reason": "Broken in transit", "total": "-13.41"}]
    meta = {m["key"]: m["value"] for m in after["line_items"][0]["meta_data"]}
    assert meta == {"_reduced_stock": "2", "_restock_refunded_items": "1"}
    assert _stock(woo_api, shop["mug"]) == 23
    # a refund id is not an order
    assert woo_api.get(f"/orders/{refund['id']}").status_code == 404


def test_amount_defaults_to_the_lines_and_restock_items_is_ignored(
    shop: dict[str, int], woo_api: Any
) -> None:
    order = _order(woo_api, shop)
    hoodie = order["line_items"][1]
    response = woo_api.post(
        f"/orders/{order['id']}/refunds",
        {
            "api_refund": False,
            "api_restock": False,
            "restock_items": True,  # not a REST parameter: ignored
            "line_items": [{"id": hoodie["id"], "quantity": 1, "refund_total": 42, "refund_tax": []}],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "42.00" and response.json()["refunded_payment"] is False
    assert _stock(woo_api, shop["hoodie_m"]) == 3  # 5 - 2, nothing put back


def test_api_restock_defaults_to_true_and_amount_wins_over_the_lines(
    shop: dict[str, int], woo_api: Any
) -> None:
    order = _order(woo_api, shop)
    hoodie = order["line_items"][1]
    response = woo_api.post(
        f"/orders/{order['id']}/refunds",
        {"amount": "5.00", "line_items": [{"id": hoodie["id"], "quantity": 2, "refund_total": "84.00"}]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "5.00"
    assert response.json()["line_items"][0]["total"] == "-84.00"
    assert _stock(woo_api, shop["hoodie_m"]) == 5


def test_shipping_line_refund_comes_back_in_shipping_lines(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop)
    ship = order["shipping_lines"][0]
    refund = woo_api.post(
        f"/orders/{order['id']}/refunds",
        {
            "api_refund": False,
            "line_items": [
                {"id": ship["id"], "refund_total": "10.00", "refund_tax": [{"id": 1, "refund_total": "0.73"}]}
            ],
        },
    ).json()
    assert refund["amount"] == "10.73" and refund["line_items"] == []
    line = refund["shipping_lines"][0]
    assert (line["total"], line["total_tax"], line["method_id"]) == ("-10.00", "-0.73", "flat_rate")
    assert [(m["key"], m["value"]) for m in line["meta_data"]] == [("_refunded_item_id", str(ship["id"]))]
    assert [(t["tax_total"], t["shipping_tax_total"]) for t in refund["tax_lines"]] == [("0.00", "-0.73")]


def test_offline_gateway_refuses_api_refund_with_500(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop, payment_method="bacs")
    response = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "1.00"})
    assert response.status_code == 500
    assert response.json() == {
        "code": "woocommerce_rest_cannot_create_order_refund",
        "message": "The payment gateway for this order does not support automatic refunds.",
        "data": {"status": 500},
    }
    assert woo_api.get(f"/orders/{order['id']}").json()["refunds"] == []
    assert woo_api.get(f"/orders/{order['id']}/refunds").json() == []
    ok = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "1.00", "api_refund": False})
    assert ok.status_code == 201 and ok.json()["refunded_payment"] is False


def test_unknown_gateway_and_failing_gateway(shop: dict[str, int], woo_api: Any, woo_store: WooStore) -> None:
    order = _order(woo_api, shop, payment_method="")
    response = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "1.00"})
    assert (response.status_code, response.json()["message"]) == (
        500,
        "The payment gateway for this order does not exist.",
    )
    paid = _order(woo_api, shop)
    woo_store.refund_gateway_error = "Card issuer declined the refund."
    response = woo_api.post(f"/orders/{paid['id']}/refunds", {"amount": "1.00"})
    assert (response.status_code, response.json()["message"]) == (500, "Card issuer declined the refund.")
    assert _stock(woo_api, shop["mug"]) == 19  # 25 - 3 - 3: the failed refund put nothing back


def test_refund_amount_refusals(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop)
    path = f"/orders/{order['id']}/refunds"
    negative = woo_api.post(path, {"amount": "-1.00", "api_refund": False})
    assert (negative.status_code, negative.json()["code"], negative.json()["message"]) == (
        400,
        "woocommerce_rest_invalid_order_refund",
        "Refund amount must be greater than zero.",
    )
    too_much = woo_api.post(
        path, {"amount": str(Decimal(order["total"]) + Decimal("0.01")), "api_refund": False}
    )
    assert too_much.status_code == 500
    assert too_much.json() == {
        "code": "woocommerce_rest_cannot_create_order_refund",
        "message": "Invalid refund amount.",
        "data": {"status": 500},
    }
    number = woo_api.post(path, {"amount": 5, "api_refund": False})
    assert (number.status_code, number.json()["code"]) == (400, "rest_invalid_param")
    assert number.json()["data"]["params"] == {"amount": "amount is not of type string."}
    not_bool = woo_api.post(path, {"amount": "1.00", "api_refund": "maybe"})
    assert (not_bool.status_code, not_bool.json()["code"]) == (400, "rest_invalid_param")
    missing = woo_api.post("/orders/999999/refunds", {"amount": "1.00", "api_refund": False})
    assert (missing.status_code, missing.json()["code"], missing.json()["message"]) == (
        404,
        "woocommerce_rest_invalid_order_id",
        "Invalid order ID.",
    )
    anonymous = woo_api.post(path, {"amount": "1.00"}, auth=None)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "woocommerce_rest_cannot_create")


def test_what_remains_bounds_later_refunds_and_full_refund_sets_refunded(
    shop: dict[str, int], woo_api: Any
) -> None:
    order = _order(woo_api, shop)
    path = f"/orders/{order['id']}/refunds"
    first = woo_api.post(path, {"amount": "10.00", "reason": "one", "api_refund": False}).json()
    left = Decimal(order["total"]) - Decimal("10.00")
    over = woo_api.post(path, {"amount": str(left + Decimal("0.01")), "api_refund": False})
    assert (over.status_code, over.json()["message"]) == (500, "Invalid refund amount.")
    second = woo_api.post(path, {"amount": str(left), "reason": "two", "api_refund": False})
    assert second.status_code == 201
    after = woo_api.get(f"/orders/{order['id']}").json()
    assert after["status"] == "refunded" and after["total"] == order["total"]
    assert [r["reason"] for r in after["refunds"]] == ["two", "one"]  # newest first
    assert [r["id"] for r in woo_api.get(path).json()] == [second.json()["id"], first["id"]]
    nothing_left = woo_api.post(path, {"amount": "0.01", "api_refund": False})
    assert nothing_left.status_code == 500


def test_get_and_delete_a_refund(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop)
    other = _order(woo_api, shop)
    refund = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "3.00", "api_refund": False}).json()
    got = woo_api.get(f"/orders/{order['id']}/refunds/{refund['id']}")
    assert got.status_code == 200 and got.json() == refund
    assert dict(got.headers)["Allow"] == "GET, DELETE"
    wrong_order = woo_api.get(f"/orders/{other['id']}/refunds/{refund['id']}")
    assert (wrong_order.status_code, wrong_order.json()["code"]) == (
        404,
        "woocommerce_rest_invalid_order_refund_id",
    )
    unknown = woo_api.get(f"/orders/{order['id']}/refunds/999999")
    assert (unknown.status_code, unknown.json()["code"]) == (
        404,
        "woocommerce_rest_shop_order_refund_invalid_id",
    )
    trash = woo_api.delete(f"/orders/{order['id']}/refunds/{refund['id']}", params={"force": "false"})
    assert (trash.status_code, trash.json()["code"]) == (501, "woocommerce_rest_trash_not_supported")
    modified = woo_api.get(f"/orders/{order['id']}").json()["date_modified"]
    gone = woo_api.delete(f"/orders/{order['id']}/refunds/{refund['id']}")
    assert gone.status_code == 200 and gone.json()["id"] == refund["id"]
    after = woo_api.get(f"/orders/{order['id']}").json()
    assert after["refunds"] == [] and after["date_modified"] == modified
    assert woo_api.get(f"/orders/{order['id']}/refunds/{refund['id']}").status_code == 404


def test_store_wide_refunds_list_has_parent_id(shop: dict[str, int], woo_api: Any) -> None:
    a, b = _order(woo_api, shop), _order(woo_api, shop)
    ra = woo_api.post(f"/orders/{a['id']}/refunds", {"amount": "1.00", "api_refund": False}).json()
    rb = woo_api.post(f"/orders/{b['id']}/refunds", {"amount": "2.00", "api_refund": False}).json()
    listed = woo_api.get("/refunds")
    assert listed.status_code == 200 and dict(listed.headers)["X-WP-Total"] == "2"
    assert [(r["id"], r["parent_id"]) for r in listed.json()] == [(rb["id"], b["id"]), (ra["id"], a["id"])]
    assert list(listed.json()[0])[:3] == ["id", "parent_id", "date_created"]
    only_a = woo_api.get("/refunds", params={"parent": a["id"]}).json()
    assert [r["id"] for r in only_a] == [ra["id"]]
    assert woo_api.get("/orders/999999/refunds").json() == []  # an unknown order lists nothing
    assert woo_api.delete(f"/orders/{b['id']}", params={"force": "true"}).status_code == 200
    assert [r["id"] for r in woo_api.get("/refunds").json()] == [ra["id"]]  # deleted with its order


def test_refund_meta_data_is_kept(shop: dict[str, int], woo_api: Any) -> None:
    order = _order(woo_api, shop)
    body = {"amount": "1.00", "api_refund": False, "meta_data": [{"key": "_wcbc_cm", "value": "CM-1"}]}
    refund = woo_api.post(f"/orders/{order['id']}/refunds", body).json()
    assert [(m["key"], m["value"]) for m in refund["meta_data"]] == [("_wcbc_cm", "CM-1")]


def test_refund_fires_one_order_updated_and_product_updated_per_restock(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _order(woo_api, shop)
    woo_store.flush_webhooks(5)
    for topic, path in (("order.updated", "/u"), ("order.created", "/c"), ("product.updated", "/p")):
        _hook(woo_api, woo_receiver, topic, path)
    lines = [
        {"id": order["line_items"][0]["id"], "quantity": 1, "refund_total": "12.50"},
        {"id": order["line_items"][1]["id"], "quantity": 1, "refund_total": "42.00"},
    ]
    refund = woo_api.post(f"/orders/{order['id']}/refunds", {"line_items": lines}).json()
    assert woo_store.flush_webhooks(5)
    updated = woo_receiver.of(path="/u", kind="json")
    assert len(updated) == 1
    body = json.loads(updated[0]["body"])
    assert body["id"] == order["id"] and body["refunds"][0]["id"] == refund["id"]
    assert woo_receiver.of(path="/c", kind="json") == []
    restocked = sorted(json.loads(r["body"])["id"] for r in woo_receiver.of(path="/p", kind="json"))
    assert restocked == sorted([shop["mug"], shop["hoodie_m"]])


def test_full_refund_webhook_shows_status_refunded(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _order(woo_api, shop)
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    woo_api.post(f"/orders/{order['id']}/refunds", {"amount": order["total"], "api_refund": False})
    assert woo_store.flush_webhooks(5)
    bodies = [json.loads(r["body"]) for r in woo_receiver.of(path="/u", kind="json")]
    assert [(b["status"], b["refunds"][0]["total"]) for b in bodies] == [("refunded", "-" + order["total"])]
