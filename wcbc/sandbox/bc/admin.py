"""HTTP admin API of the BC simulator under /__admin/ (loopback only, no auth): the Python admin API of
BCApp over JSON, for the demo and for tests in another process.

Routes (JSON bodies):
  GET  /__admin/state                          counts, company id, tokens issued, requests
  GET  /__admin/items
  POST /__admin/items                          {number, displayName, unitPrice, inventory?, blocked?,
                                                priceIncludesTax?}
  PATCH /__admin/items/{number}                {field: value, ...}  (API field names; notifies)
  POST /__admin/items/{number}/stock           {quantity, entryType?}  (ledger entry; no notification)
  POST /__admin/items/{number}/block           {blocked?: true}
  GET  /__admin/customers | POST /__admin/customers   {displayName, email, ...}
  GET  /__admin/documents?externalDocumentNumber=X
  GET  /__admin/salesOrders | GET /__admin/salesInvoices | GET /__admin/ledger?item=X
  POST /__admin/salesOrders/{id}/shipAndInvoice | POST /__admin/salesInvoices/{id}/post
  GET  /__admin/subscriptions | GET /__admin/deliveries | POST /__admin/flush {timeout?}
  POST /__admin/faults {latency, share_429, share_500, share_503, share_drop, retry_after}
  POST /__admin/limits {rate, window, max_concurrent, reject_over_concurrency, send_retry_after, enabled}
  POST /__admin/webhooks {delay, collection_threshold, retry_scale}
  POST /__admin/tokens/expire | POST /__admin/apps/{client_id} {enabled}
  POST /__admin/clock/advance {seconds}
  GET  /__admin/requests
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.core import Request, Response, json_response

if TYPE_CHECKING:
    from wcbc.sandbox.bc.app import BCApp


def _default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _json(status: int, obj: Any) -> Response:
    body = json.dumps(obj, default=_default).encode()
    return Response(status, body, [("Content-Type", "application/json")])


class Admin:
    def __init__(self, app: BCApp) -> None:
        self.app = app

    def handle(self, request: Request) -> Response:
        try:
            if not ipaddress.ip_address(request.client).is_loopback:
                return _json(403, {"error": "admin API is loopback only"})
        except ValueError:
            return _json(403, {"error": "admin API is loopback only"})
        try:
            body = json.loads(request.body) if request.body else {}
            return self._route(request, [p for p in request.path.split("/")[2:] if p], body)
        except BCError as err:
            return json_response(err.status, err.body())
        except (KeyError, ValueError, TypeError) as exc:
            return _json(400, {"error": f"{type(exc).__name__}: {exc}"})

    def _route(self, request: Request, parts: list[str], body: dict[str, Any]) -> Response:
        app, m = self.app, request.method
        head = parts[0] if parts else ""
        if head == "state" and m == "GET":
            comp = app.comp()
            return _json(
                200,
                {
                    "companyId": app.company_id,
                    "tenantId": app.tenant_id,
                    "environment": app.environment,
                    "items": len(comp.items.rows),
                    "customers": len(comp.customers.rows),
                    "salesOrders": len(comp.salesOrders.rows),
                    "salesInvoices": len(comp.salesInvoices.rows),
                    "ledgerEntries": len(comp.ledger.rows),
                    "subscriptions": len(app.webhooks.list()),
                    "tokensIssued": app.tokens.issued,
                    "requests": app.request_count(),
                    "pendingNotifications": app.webhooks.pending_count(),
                },
            )
        if head == "items":
            if len(parts) == 1 and m == "GET":
                return _json(200, app.items())
            if len(parts) == 1 and m == "POST":
                return _json(
                    201,
                    app.add_item(
                        body["number"],
                        body["displayName"],
                        body["unitPrice"],
                        body.get("inventory", 0),
                        body.get("blocked", False),
                        body.get("priceIncludesTax", False),
                    ),
                )
            if len(parts) == 2 and m == "PATCH":
                return _json(200, app.update_item(parts[1], **body))
            if len(parts) == 3 and parts[2] == "stock" and m == "POST":
                return _json(
                    201, app.move_stock(parts[1], body["quantity"], body.get("entryType", "Positive Adjmt."))
                )
            if len(parts) == 3 and parts[2] == "block" and m == "POST":
                return _json(200, app.block_item(parts[1], body.get("blocked", True)))
        if head == "customers":
            if m == "GET":
                return _json(200, app.customers())
            if m == "POST":
                fields = {k: v for k, v in body.items() if k not in ("displayName", "email")}
                return _json(201, app.add_customer(body["displayName"], body.get("email", ""), **fields))
        if head == "documents" and m == "GET":
            return _json(200, app.documents_by_external_number(request.arg("externalDocumentNumber") or ""))
        if head == "salesOrders":
            if len(parts) == 1 and m == "GET":
                return _json(200, app.sales_orders())
            if len(parts) == 3 and parts[2] == "shipAndInvoice" and m == "POST":
                return _json(200, app.ship_and_invoice(parts[1]))
        if head == "salesInvoices":
            if len(parts) == 1 and m == "GET":
                return _json(200, app.sales_invoices())
            if len(parts) == 3 and parts[2] == "post" and m == "POST":
                return _json(200, app.post_invoice(parts[1]))
        if head == "ledger" and m == "GET":
            return _json(200, app.ledger_entries(request.arg("item")))
        if head == "subscriptions" and m == "GET":
            return _json(200, app.subscriptions())
        if head == "deliveries" and m == "GET":
            return _json(200, app.deliveries())
        if head == "flush" and m == "POST":
            return _json(200, {"flushed": app.flush_notifications(float(body.get("timeout", 5.0)))})
        if head == "faults" and m == "POST":
            for key, value in body.items():
                if key not in ("latency", "share_429", "share_500", "share_503", "share_drop", "retry_after"):
                    raise KeyError(key)
                setattr(app.faults, key, value)
            return _json(200, {"ok": True})
        if head == "limits" and m == "POST":
            for key, value in body.items():
                if key not in (
                    "rate",
                    "window",
                    "max_concurrent",
                    "reject_over_concurrency",
                    "send_retry_after",
                    "enabled",
                    "max_queue",
                    "queue_timeout",
                ):
                    raise KeyError(key)
                setattr(app.limiter, key, value)
            return _json(200, {"ok": True})
        if head == "webhooks" and m == "POST":
            for key, value in body.items():
                if key not in ("delay", "collection_threshold", "retry_scale", "verify"):
                    raise KeyError(key)
                setattr(app.webhooks, key, value)
            return _json(200, {"ok": True})
        if head == "tokens" and parts[1:] == ["expire"] and m == "POST":
            return _json(200, {"expired": app.expire_tokens()})
        if head == "apps" and len(parts) == 2 and m == "POST":
            app.register_app(parts[1], bool(body.get("enabled", True)))
            return _json(200, {"ok": True})
        if head == "clock" and parts[1:] == ["advance"] and m == "POST":
            app.clock.advance(float(body["seconds"]))
            return _json(200, {"now": app.clock.now().isoformat()})
        if head == "requests" and m == "GET":
            return _json(200, dict(app.requests))
        return _json(404, {"error": f"no admin route {m} {request.path}"})
