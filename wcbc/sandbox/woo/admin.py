"""/__admin/ HTTP API of the WooCommerce simulator (no auth, loopback clients only, JSON in and out).

GET   /__admin/state                     counts, webhooks (with failure_count), queue
POST  /__admin/orders                    body = WooStore.create_order kwargs -> the order
PATCH /__admin/orders/{id}               body = WooStore.update_order kwargs -> the order
POST  /__admin/products                  {sku, name, price, stock?, manage_stock?} or
                                         {sku, name, variations:[{sku, attribute, price, stock?}]}
PATCH /__admin/products/{sku or id}      body = WooStore.edit_product kwargs -> the product
POST  /__admin/customers                 body = WooStore.add_customer kwargs
POST  /__admin/coupons                   {code, discount_type, amount}
POST  /__admin/orders/{id}/refunds       {amount?, reason?, line_items?: [{id or sku, quantity, refund_total?,
                                          refund_tax?}], restock?: true, refund_payment?: false} -> the refund
GET   /__admin/orders/{id}/refunds       the order's refunds (v3 shape)
POST  /__admin/orders/{id}/cancel        {} -> the order (status cancelled, stock back)
POST  /__admin/orders/{id}/status        {status} -> the order (any transition, with its hooks)
POST  /__admin/orders/{id}/paid          {transaction_id?, payment_method?, payment_method_title?, date_paid?}
POST  /__admin/extensions                {shipment_tracking: bool} -> which EXTENSION routes answer
GET   /__admin/emails                    e-mails the store sent (the "Customer note" e-mail)
GET   /__admin/deliveries                ?webhook_id=&kind=  (bodies as text, headers as pairs)
POST  /__admin/faults                    {latency, share_429, retry_after, share_500, share_503,
                                          share_drop, webhook_delay, duplicate, refund_error, reset}
POST  /__admin/flush                     {timeout} -> {"flushed": bool}
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.core import Request, Response, json_response
from wcbc.sandbox.woo.model import RestError

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def handle_admin(store: WooStore, request: Request) -> Response:
    if not _loopback(request.client):
        return json_response(403, {"error": "the admin API answers loopback clients only"})
    try:
        body: Any = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
    except ValueError:
        return json_response(400, {"error": "invalid JSON"})
    if not isinstance(body, dict):
        return json_response(400, {"error": "expected a JSON object"})
    path, method = request.path.rstrip("/"), request.method
    try:
        if method == "GET" and path == "/__admin/state":
            return json_response(200, store.state())
        if method == "POST" and path == "/__admin/orders":
            return json_response(201, store.create_order(**body))
        m = re.fullmatch(r"/__admin/orders/(\d+)", path)
        if m and method in ("PATCH", "PUT", "POST"):
            return json_response(200, store.update_order(int(m.group(1)), **body))
        m = re.fullmatch(r"/__admin/orders/(\d+)/(refunds|cancel|status|paid)", path)
        if m:
            return _order_action(store, method, int(m.group(1)), m.group(2), body)
        if method == "POST" and path == "/__admin/extensions":
            return json_response(200, store.set_extensions(**body))
        if method == "GET" and path == "/__admin/emails":
            return json_response(200, store.sent_emails())
        if method == "POST" and path == "/__admin/products":
            if "variations" in body:
                return json_response(201, store.add_variable_product(**body))
            return json_response(201, store.add_product(**body))
        m = re.fullmatch(r"/__admin/products/([^/]+)", path)
        if m and method in ("PATCH", "PUT"):
            from urllib.parse import unquote  # noqa: PLC0415

            key = unquote(m.group(1))
            target: int | str = int(key) if key.isdigit() and store.product_by_sku(key) is None else key
            return json_response(200, store.edit_product(target, **body))
        if method == "POST" and path == "/__admin/customers":
            return json_response(201, store.add_customer(**body))
        if method == "POST" and path == "/__admin/coupons":
            return json_response(201, store.add_coupon(**body))
        if method == "GET" and path == "/__admin/deliveries":
            wid = request.arg("webhook_id")
            entries = store.deliveries(webhook_id=int(wid) if wid else None, kind=request.arg("kind"))
            for entry in entries:
                entry["body"] = entry["body"].decode("utf-8", "replace")
            return json_response(200, entries)
        if method == "POST" and path == "/__admin/faults":
            return json_response(200, _set_faults(store, body))
        if method == "POST" and path == "/__admin/flush":
            return json_response(200, {"flushed": store.flush_webhooks(float(body.get("timeout", 10)))})
    except (KeyError, TypeError, ValueError) as exc:
        return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
    except RestError as err:
        return json_response(err.status, err.body())
    return json_response(404, {"error": f"no admin route {method} {path}"})


def _order_action(store: WooStore, method: str, order_id: int, action: str, body: dict[str, Any]) -> Response:
    if action == "refunds" and method == "GET":
        return json_response(200, store.refunds(order_id))
    if method != "POST":
        return json_response(404, {"error": f"no admin route {method} {action}"})
    if action == "refunds":
        return json_response(201, store.refund_order(order_id, **body))
    if action == "cancel":
        return json_response(200, store.cancel_order(order_id))
    if action == "status":
        return json_response(200, store.set_order_status(order_id, str(body["status"])))
    return json_response(200, store.mark_paid(order_id, **body))


def _set_faults(store: WooStore, body: dict[str, Any]) -> dict[str, Any]:
    faults = store.faults
    if body.get("reset"):
        faults.reset()
    for key in ("latency", "share_429", "share_500", "share_503", "share_drop"):
        if key in body:
            setattr(faults, key, float(body[key]))
    if "retry_after" in body:
        faults.retry_after = None if body["retry_after"] is None else int(body["retry_after"])
    if "webhook_delay" in body:
        store.webhook_delay = float(body["webhook_delay"])
    if "duplicate" in body:
        store.deliver_duplicate(int(body["duplicate"]))
    if "refund_error" in body:
        store.refund_gateway_error = None if body["refund_error"] is None else str(body["refund_error"])
    return {
        "latency": faults.latency,
        "share_429": faults.share_429,
        "retry_after": faults.retry_after,
        "share_500": faults.share_500,
        "share_503": faults.share_503,
        "share_drop": faults.share_drop,
        "webhook_delay": store.webhook_delay,
        "refund_error": store.refund_gateway_error,
        "injected": dict(faults.injected),
    }
