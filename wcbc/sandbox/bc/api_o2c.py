"""Order-to-cash routes of the BC simulator (business-central.md §10): the bound actions, the journal /
payment and shipment sub-resources, the computed tax buffers and the order-deletion rule. api.Api calls in
here; everything else about requests (If-Match, rendering, paging) stays in api.py."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.bc import corrective, payments, posting
from wcbc.sandbox.bc import query as bc_query
from wcbc.sandbox.bc.docs import to_text
from wcbc.sandbox.bc.odata import BCError, index_hints, parse_filter, parse_query
from wcbc.sandbox.bc.payments import find_batch, new_batch, update_batch
from wcbc.sandbox.bc.schema import ENTITY_SETS
from wcbc.sandbox.bc.store import Company, Store, Table, dialog
from wcbc.sandbox.core import Request, Response

if TYPE_CHECKING:
    from wcbc.sandbox.bc.api import Api

__all__ = ["find_batch", "new_batch", "update_batch"]

ACTIONS = {
    ("salesInvoices", "Microsoft.NAV.post"),
    ("salesInvoices", "Microsoft.NAV.cancel"),
    ("salesInvoices", "Microsoft.NAV.cancelAndSend"),
    ("salesInvoices", "Microsoft.NAV.makeCorrectiveCreditMemo"),
    ("salesInvoices", "Microsoft.NAV.postAndSend"),
    ("salesInvoices", "Microsoft.NAV.send"),
    ("salesCreditMemos", "Microsoft.NAV.post"),
    ("salesCreditMemos", "Microsoft.NAV.postAndSend"),
    ("salesCreditMemos", "Microsoft.NAV.send"),
    ("salesOrders", "Microsoft.NAV.shipAndInvoice"),
    ("journals", "Microsoft.NAV.post"),
}
NESTED = {("customerPaymentJournals", "customerPayments"), ("salesShipments", "salesShipmentLines")}
TOP_LEVEL = ("customerPayments", "salesShipmentLines")
NO_CONTENT = [("OData-Version", "4.0")]


# --------------------------------------------------------------------------- actions


def run_action(api: Api, comp: Company, name: str, action: str, rec: dict[str, Any], ctx: str) -> Response:
    """Every bound action answers 204 No Content (result code Deleted), except a shipAndInvoice that only
    shipped: result code Updated, whose status is UNDOCUMENTED; sandbox choice 200 with the order."""
    store = api.store
    if name == "journals":
        if store.post_with_job_queue:
            # "Post with Job Queue": the call only schedules the posting (its message is not an error);
            # the result shows later, when the job queue runs (control.run_job_queue).
            if not rec["_lines"]:
                raise dialog("There is nothing to post.")
            store.job_queue.append((comp.id, rec["id"]))
        else:
            payments.post_batch(store, comp, rec)
    elif action in ("Microsoft.NAV.send", "Microsoft.NAV.postAndSend"):
        corrective.send(store, comp, name, rec, post=action.endswith("postAndSend"))
    elif name == "salesCreditMemos":
        posting.post_credit_memo(store, comp, rec)
    elif name == "salesOrders":
        _, _, deleted = posting.ship_and_invoice(store, comp, rec)
        invoiced = any(inv.get("orderNumber") == rec["number"] for inv in comp.salesInvoices.rows.values())
        if not deleted and not invoiced:
            out = api._render(comp, "salesOrders", rec, None)
            return api._ok(
                200, {"@odata.context": f"{ctx}/salesOrders/$entity", **out}, [("ETag", out["@odata.etag"])]
            )
    elif action == "Microsoft.NAV.post":
        posting.post_invoice(store, comp, rec)
    elif action == "Microsoft.NAV.makeCorrectiveCreditMemo":
        corrective.make_corrective_credit_memo(store, comp, rec)
    else:
        corrective.cancel_invoice(store, comp, rec, send=action.endswith("AndSend"))
    return Response(204, b"", NO_CONTENT)


def check_order_deletable(order: dict[str, Any]) -> None:
    """DELETE salesOrders: each line runs CheckNotInvoicedQty -> TestField("Qty. Shipped Not Invoiced", 0)
    (§10.3). Released does not block; partly shipped AND invoiced does not block."""
    for ln in order["_lines"]:
        open_qty = ln.get("shippedQuantity", 0) - ln.get("invoicedQuantity", 0)
        if open_qty:
            raise BCError(
                400,
                "Application_FieldValidationException",
                "Qty. Shipped Not Invoiced must be equal to '0'  in Sales Line: Document Type=Order, "
                f"Document No.={order['number']}, Line No.={ln['sequence']}. Current value is "
                f"'{to_text(open_qty)}'.",
            )


# --------------------------------------------------------------------------- computed tables


def _tax_rows(store: Store, comp: Company, name: str) -> list[dict[str, Any]]:
    tax_type = "Sales Tax" if store.tax_mode == "sales_tax" else "VAT"
    areas = store.tax_areas if tax_type == "Sales Tax" else store.vat_business_groups
    source = store.tax_rates if name == "taxGroups" else areas
    rows = []
    for code in source:
        names = store.tax_names if name == "taxGroups" else areas
        rows.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{comp.id}/{name}/{code}")),
                "code": code,
                "displayName": names.get(code, code.title()),
                "taxType": tax_type,
                "lastModifiedDateTime": comp.created,
                "_v": 1,
            }
        )
    return rows


def computed_table(store: Store, comp: Company, name: str) -> Table:
    """taxGroups / taxAreas are temporary buffers (§10.6): Tax Groups / Tax Areas under Sales Tax, VAT
    Product / Business Posting Groups under VAT; built on every read from the sandbox's tax setup."""
    if name not in ("taxGroups", "taxAreas"):
        raise BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{name}'.")
    table = Table(ENTITY_SETS[name][0], ("code",), ("code",))
    for row in _tax_rows(store, comp, name):
        table.insert(row)
    return table


# --------------------------------------------------------------------------- payments & shipment lines


def _rows_page(
    api: Api, request: Request, name: str, rows: list[dict[str, Any]], ctx: str, url: str
) -> Response:
    etype = ENTITY_SETS[name][0]
    q = parse_query(request.query)
    size, applied = bc_query.page_size_from(request.headers.get("Prefer"))
    sort = ("lineNumber",) if name == "customerPayments" else ("documentNo", "sequence")
    page = bc_query.run(etype, q, rows=rows, default_sort=sort, page_size=size)
    body: dict[str, Any] = {"@odata.context": ctx}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = [api.store.render(etype, r, q.select) for r in page.rows]
    if page.next_token:
        body["@odata.nextLink"] = bc_query.next_link(url, request.query, page)
    return api._ok(200, body, [("Preference-Applied", applied)] if applied else [])


def _entity(api: Api, name: str, rec: dict[str, Any], ctx: str, status: int = 200) -> Response:
    out = api.store.render(ENTITY_SETS[name][0], rec)
    return api._ok(status, {"@odata.context": f"{ctx}/$entity", **out}, [("ETag", out["@odata.etag"])])


def nested(
    api: Api,
    request: Request,
    comp: Company,
    name: str,
    parent: dict[str, Any],
    sub: str,
    key: str | None,
    ctx: str,
    url: str,
) -> Response:
    from wcbc.sandbox.bc.api import _guid_key, _not_allowed

    lctx = f"{ctx}/{name}({parent['id']})/{sub}"
    lurl = f"{url}/{name}({parent['id']})/{sub}"
    method = request.method
    if sub == "customerPayments":
        for line in parent["_lines"]:
            payments.refresh_applies_to(comp, line)
    if key is None:
        if method == "GET":
            return _rows_page(api, request, sub, parent["_lines"], lctx, lurl)
        if method == "POST" and sub == "customerPayments":
            line = payments.new_payment(api.store, comp, parent, api._body(request))
            return _entity(api, sub, line, lctx, 201)
        raise _not_allowed(method, sub)
    ident = _guid_key(key)
    line = next((ln for ln in parent["_lines"] if ln["id"] == ident), None)
    if line is None:
        caption = ENTITY_SETS[sub][1]
        raise BCError(
            404,
            "Internal_RecordNotFound",
            f"The {caption} does not exist. Identification fields and values: Id='{ident}'",
        )
    if method == "GET":
        return _entity(api, sub, line, lctx)
    if sub != "customerPayments" or method not in ("PATCH", "DELETE"):
        raise _not_allowed(method, sub)
    api._if_match(request, line["id"], line.get("_v", 1))
    if method == "DELETE":
        parent["_lines"].remove(line)
        return Response(204, b"", NO_CONTENT)
    payments.update_payment(api.store, comp, parent, line, api._body(request))
    return _entity(api, sub, line, lctx)


def top_level(
    api: Api, request: Request, comp: Company, name: str, key: str | None, ctx: str, url: str
) -> Response:
    """companies(..)/customerPayments (needs a journal: §10.5) and companies(..)/salesShipmentLines (a real
    table: no scope needed, §10.4)."""
    from wcbc.sandbox.bc.api import _not_allowed

    if name == "salesShipmentLines":
        if key is not None or request.method != "GET":
            raise _not_allowed(request.method, name)
        rows = [ln for ship in comp.salesShipments.rows.values() for ln in ship["_lines"]]
        return _rows_page(api, request, name, rows, f"{ctx}/{name}", f"{url}/{name}")
    scope = "You must specify a journal batch ID or a journal ID to get a journal line."
    if key is not None:
        raise BCError(400, "BadRequest_NotSupported", "Address a payment through its journal.")
    if request.method == "POST":
        body = api._body(request)
        batch_id = body.get("journalId") if isinstance(body, dict) else None
        batch = comp.customerPaymentJournals.rows.get(str(batch_id).lower()) if batch_id else None
        if batch is None:
            raise dialog(scope)
        line = payments.new_payment(api.store, comp, batch, body)
        return _entity(api, name, line, f"{ctx}/{name}", 201)
    if request.method != "GET":
        raise _not_allowed(request.method, name)
    q = parse_query(request.query)
    etype = ENTITY_SETS[name][0]
    hints = index_hints(parse_filter(q.filter, etype, schema21=q.schema21)) if q.filter else []
    if not {h[0] for h in hints if h[1] in ("eq", "in")} & {"journalId", "id"}:
        raise dialog(scope)
    rows = []
    for batch in comp.customerPaymentJournals.rows.values():
        for line in batch["_lines"]:
            rows.append(payments.refresh_applies_to(comp, line))
    return _rows_page(api, request, name, rows, f"{ctx}/{name}", f"{url}/{name}")
