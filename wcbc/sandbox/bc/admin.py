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
Order-to-cash (control.py; see README "The sandbox"):
  POST /__admin/salesOrders/{id}/ship          {quantities?: {sequence|itemNo: qty}, invoice?: false,
                                                packageTrackingNo?, shippingAgentCode?,
                                                shippingAgentServiceCode?}
  GET  /__admin/salesCreditMemos | POST /__admin/salesCreditMemos/{id}/post
  GET  /__admin/salesShipments | PATCH /__admin/salesShipments/{number}/tracking
                                               {packageTrackingNo?, shippingAgentCode?,
                                                shippingAgentServiceCode?}
  GET  /__admin/paymentJournals | POST /__admin/paymentJournals {code, displayName?, balancingAccount?}
  GET  /__admin/payments                       posted customer payments (no v2.0 resource shows them)
  POST /__admin/accounts {number, name, taxGroup?, category?}
  POST /__admin/currencies {code, name, symbol?, exchangeRate?: true} | POST /__admin/currencies/local {code}
  POST /__admin/tax {mode: "sales_tax"|"vat"} | POST /__admin/taxGroups {code, percent, name?}
  POST /__admin/customers/{number}/pricesIncludingVat {value?: true}
  POST /__admin/postFailures {setName?, documentId?, externalDocumentNumber?, action?, message?, code?,
                              status?, times?} | DELETE /__admin/postFailures
  POST /__admin/tracking/webService {serviceName?} | POST /__admin/tracking/api {publisher?, group?,
                              version?, entitySet?} | DELETE /__admin/tracking      (NOT standard API)
  GET  /__admin/outbox                         e-mails "sent" by cancelAndSend
  POST /__admin/jobQueue {postWithJobQueue?: true} | POST /__admin/jobQueue/run   journal posting later
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
                    "salesCreditMemos": len(comp.salesCreditMemos.rows),
                    "salesShipments": len(comp.salesShipments.rows),
                    "customerPaymentJournals": len(comp.customerPaymentJournals.rows),
                    "paymentEntries": len(comp.payment_entries),
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
        found = self._o2c(request, parts, body)
        if found is not None:
            return found
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

    def _o2c(self, request: Request, parts: list[str], body: dict[str, Any]) -> Response | None:
        """The order-to-cash admin routes (control.O2CControl over JSON); None when none matches."""
        app, m = self.app, request.method
        route = (m, *parts[:1], *(["{x}"] if len(parts) > 2 else []), *parts[2:3])
        if len(parts) == 2:
            route = (m, parts[0], parts[1])
        if route == ("POST", "salesOrders", "{x}", "ship"):
            result = app.ship_order(
                parts[1],
                body.get("quantities"),
                invoice=bool(body.get("invoice", False)),
                package_tracking_no=body.get("packageTrackingNo", ""),
                shipping_agent_code=body.get("shippingAgentCode", ""),
                shipping_agent_service_code=body.get("shippingAgentServiceCode", ""),
            )
            return _json(200, result)
        if route == ("GET", "salesCreditMemos"):
            return _json(200, app.sales_credit_memos())
        if route == ("POST", "salesCreditMemos", "{x}", "post"):
            return _json(200, app.post_credit_memo(parts[1]))
        if route == ("GET", "salesShipments"):
            return _json(200, app.sales_shipments())
        if route == ("PATCH", "salesShipments", "{x}", "tracking"):
            return _json(
                200,
                app.set_shipment_tracking(
                    parts[1],
                    body.get("packageTrackingNo"),
                    body.get("shippingAgentCode"),
                    body.get("shippingAgentServiceCode"),
                ),
            )
        if route == ("GET", "paymentJournals"):
            return _json(200, app.payment_journals())
        if route == ("POST", "paymentJournals"):
            return _json(
                201,
                app.add_payment_journal(
                    body["code"], body.get("displayName", ""), body.get("balancingAccount", "")
                ),
            )
        if route == ("GET", "payments"):
            return _json(200, app.payment_entries())
        if route == ("POST", "accounts"):
            rec = app.store.add_account(
                app.comp(),
                body["number"],
                body["name"],
                body.get("taxGroup", "NONTAXABLE"),
                category=body.get("category", "Income"),
            )
            return _json(201, app._render("accounts", rec, app.comp()))
        if route == ("POST", "currencies"):
            return _json(
                201,
                app.add_currency(
                    body["code"],
                    body["name"],
                    body.get("symbol", ""),
                    exchange_rate=bool(body.get("exchangeRate", True)),
                ),
            )
        if route == ("POST", "currencies", "local"):
            app.set_local_currency(body["code"])
            return _json(200, {"ok": True})
        if route == ("POST", "tax"):
            app.set_tax_mode(body["mode"])
            return _json(200, {"ok": True})
        if route == ("POST", "taxGroups"):
            app.add_tax_group(body["code"], body["percent"], body.get("name", ""))
            return _json(200, {"ok": True})
        if route == ("POST", "customers", "{x}", "pricesIncludingVat"):
            return _json(200, app.set_customer_prices_including_vat(parts[1], bool(body.get("value", True))))
        if route == ("POST", "postFailures"):
            names = {
                "setName": "set_name",
                "documentId": "document_id",
                "externalDocumentNumber": "external_document_number",
                "action": "action",
                "message": "message",
                "code": "code",
                "status": "status",
                "times": "times",
            }
            return _json(201, app.fail_posting(**{names[k]: v for k, v in body.items()}))
        if route == ("DELETE", "postFailures"):
            return _json(200, {"cleared": app.clear_post_failures()})
        if route == ("POST", "tracking", "webService"):
            return _json(
                201,
                {"path": app.publish_tracking_web_service(body.get("serviceName", "PostedSalesShipments"))},
            )
        if route == ("POST", "tracking", "api"):
            keys = ("publisher", "group", "version", "entitySet")
            args = {("entity_set" if k == "entitySet" else k): body[k] for k in keys if k in body}
            return _json(201, {"path": app.publish_tracking_api(**args)})
        if route == ("DELETE", "tracking"):
            app.unpublish_tracking()
            return _json(200, {"ok": True})
        if route == ("POST", "jobQueue"):
            app.set_post_with_job_queue(bool(body.get("postWithJobQueue", True)))
            return _json(200, {"ok": True})
        if route == ("POST", "jobQueue", "run"):
            return _json(200, app.run_job_queue())
        if route == ("GET", "outbox"):
            return _json(200, app.outbox())
        return None
