"""The OData routes of the BC simulator: service root, companies, entity sets, document lines, bound actions,
subscriptions. Resolves URL segments, checks If-Match, renders bodies with @odata.context/@odata.etag."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.bc import api_o2c as bc_o2c
from wcbc.sandbox.bc import docs as bc_docs
from wcbc.sandbox.bc import query as bc_query
from wcbc.sandbox.bc import store as bc_store
from wcbc.sandbox.bc.odata import BCError, EntityType, Query, make_etag, parse_query, syntax_error
from wcbc.sandbox.bc.schema import ENTITY_SETS, SUBSCRIPTION
from wcbc.sandbox.bc.store import Company, dialog, item_view
from wcbc.sandbox.core import Request, Response, json_response

if TYPE_CHECKING:
    from wcbc.sandbox.bc.app import BCApp

_SEG = re.compile(r"^([A-Za-z$][A-Za-z0-9_.$]*)(?:\((.*)\))?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOC_SETS = {"salesOrders": "order", "salesInvoices": "invoice", "salesCreditMemos": "creditMemo"}
LINE_SETS = {"salesOrderLines": "order", "salesInvoiceLines": "invoice", "salesCreditMemoLines": "creditMemo"}
READ_ONLY = (
    "itemLedgerEntries",
    "accounts",
    "currencies",
    "salesShipments",
    "salesShipmentLines",
    "taxGroups",
    "taxAreas",
    "journals",
)
MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. Please provide a "
    "valid token in the client request."
)


def _not_allowed(method: str, name: str) -> BCError:
    return BCError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{name}' of EdmType 'Entity' are not allowed within Dynamics 365 "
        "Business Central OData web services.",
    )


def _segments(rest: list[str]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for seg in rest:
        m = _SEG.match(seg)
        if not m:
            raise syntax_error("Bad Request - Error in query syntax.")
        out.append((m.group(1), m.group(2)))
    return out


def _guid_key(key: str) -> str:
    key = key.strip()
    if key.startswith("id="):
        key = key[3:]
    if not _GUID.match(key):
        raise syntax_error("Bad Request - Error in query syntax.")
    return key.lower()


class Api:
    def __init__(self, app: BCApp) -> None:
        self.app = app
        self.store = app.store

    # ------------------------------------------------------------------ plumbing

    def _ok(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        from wcbc.sandbox.bc.app import ODATA_JSON

        return json_response(
            status, body, [("OData-Version", "4.0"), *(headers or [])], content_type=ODATA_JSON
        )

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.body.decode("utf-8")) if request.body else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise BCError(400, "BadRequest", "The request body is not valid JSON.") from exc

    def _if_match(self, request: Request, key: str, version: int) -> None:
        value = request.headers.get("If-Match")
        if value is None or not value.strip():
            raise BCError(400, "BadRequest_InvalidToken", MISSING_IF_MATCH)
        if value.strip() != "*" and value.strip() != make_etag(key, version):
            # UNDOCUMENTED: 409 vs 412 for a stale ETag; sandbox choice 409 (the docs list
            # Request_EntityChanged under 409 Conflict).
            raise BCError(409, "Request_EntityChanged", "Another user has already changed the record.")

    def _count(self, request: Request, segs: list[tuple[str, str | None]]) -> None:
        names = [n + ("(id)" if k is not None else "") for n, k in segs if n != "companies"]
        self.app.requests[f"{request.method} {'/'.join(names) or 'companies'}"] += 1

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, request: Request, rest: list[str], base: str, client: str) -> Response:
        segs = _segments(rest)
        if (
            segs
            and segs[0][0] != "companies"
            and segs[0][0] in ENTITY_SETS | dict.fromkeys(LINE_SETS)
            and request.arg("company")
        ):
            segs = [("companies", request.arg("company")), *segs]
        self._count(request, segs)
        if not segs:
            if request.method != "GET":
                raise _not_allowed(request.method, "api")
            value = [{"name": n, "kind": "EntitySet", "url": n} for n in ("companies", "subscriptions")]
            return self._ok(200, {"@odata.context": f"{base}/$metadata", "value": value})
        name, key = segs[0]
        if name == "subscriptions" and len(segs) == 1:
            return self._subscriptions(request, key, base, client)
        if name != "companies":
            raise BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{name}'.")
        if key is None:
            if len(segs) > 1:
                raise syntax_error("Bad Request - Error in query syntax.")
            if request.method != "GET":
                raise _not_allowed(request.method, "companies")
            return self._companies(request, base)
        cid = _guid_key(key)
        with self.store.lock:
            comp = self.store.company(cid)
            if len(segs) == 1:
                if request.method != "GET":
                    raise _not_allowed(request.method, "companies")
                from wcbc.sandbox.bc.app import company_view

                body = {
                    "@odata.context": f"{base}/$metadata#companies/$entity",
                    **company_view(comp, self.store.app_user_id),
                }
                return self._ok(200, body)
            ctx = f"{base}/$metadata#companies({comp.id})"
            url = f"{base}/companies({comp.id})"
            return self._company_route(request, comp, segs[1:], ctx, url)

    def _companies(self, request: Request, base: str) -> Response:
        from wcbc.sandbox.bc.app import company_view
        from wcbc.sandbox.bc.schema import COMPANY

        q = parse_query(request.query)
        rows = [
            {k: v for k, v in company_view(c, self.store.app_user_id).items()}
            for c in self.store.companies.values()
        ]
        page = bc_query.run(COMPANY, q, rows=rows, default_sort=("name",))
        value = [
            {k: v for k, v in r.items() if q.select is None or k in q.select or k == "@odata.etag"}
            for r in page.rows
        ]
        return self._ok(200, {"@odata.context": f"{base}/$metadata#companies", "value": value})

    # ------------------------------------------------------------------ company-scoped

    def _company_route(
        self, request: Request, comp: Company, segs: list[tuple[str, str | None]], ctx: str, url: str
    ) -> Response:
        name, key = segs[0]
        method = request.method
        if name in bc_o2c.TOP_LEVEL and len(segs) == 1:
            return bc_o2c.top_level(self, request, comp, name, key, ctx, url)
        if name in LINE_SETS and len(segs) == 1:
            if key is not None:
                raise BCError(400, "BadRequest_NotSupported", "Address a line through its document.")
            if method != "GET":
                raise _not_allowed(method, name)
            return self._company_lines(request, comp, name, ctx)
        if name not in ENTITY_SETS or name in LINE_SETS:
            raise BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{name}'.")
        etype, caption = ENTITY_SETS[name]
        table = comp.table(name) or bc_o2c.computed_table(self.store, comp, name)
        if key is None:
            if len(segs) == 2 and segs[1] == ("$count", None) and method == "GET":
                q = parse_query(request.query)
                page = bc_query.run(
                    etype,
                    Query(filter=q.filter, schema21=q.schema21),
                    table=table,
                    view=self._view(comp, name),
                )
                return Response(200, str(len(page.rows)).encode(), [("Content-Type", "text/plain")])
            if len(segs) > 1:
                raise syntax_error("Bad Request - Error in query syntax.")
            if method == "GET":
                return self._collection(request, comp, name, etype, table, ctx, url)
            if method == "POST" and name not in READ_ONLY:
                return self._create(request, comp, name, ctx, url)
            raise _not_allowed(method, name)
        ident = _guid_key(key)
        rec = table.rows.get(ident)
        if rec is None and name == "journals":
            rec = bc_o2c.find_batch(comp, ident)  # a key lookup finds any batch by SystemId (§10.5)
            if rec is None and len(segs) == 2 and segs[1][0] == "Microsoft.NAV.post":
                raise dialog(f"The General Journal Batch with ID {ident} cannot be found.")
        if rec is None:
            # UNDOCUMENTED: status/body for an unknown id (sandbox choice: 404 Internal_RecordNotFound).
            raise BCError(
                404,
                "Internal_RecordNotFound",
                f"The {caption} does not exist. Identification fields and values: Id='{ident}'",
            )
        if len(segs) == 1:
            return self._entity(request, comp, name, etype, rec, ctx, url)
        sub, sub_key = segs[1]
        if (name, sub) in bc_o2c.ACTIONS and len(segs) == 2 and sub_key is None:
            if method != "POST":
                raise _not_allowed(method, sub)
            return bc_o2c.run_action(self, comp, name, sub, rec, ctx)
        if name in DOC_SETS and sub == bc_docs.KINDS[DOC_SETS[name]][3] and len(segs) == 2:
            return self._doc_lines(request, comp, DOC_SETS[name], rec, sub_key, ctx, url)
        if (name, sub) in bc_o2c.NESTED and len(segs) == 2:
            return bc_o2c.nested(self, request, comp, name, rec, sub, sub_key, ctx, url)
        raise BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{sub}'.")

    def _view(self, comp: Company, name: str) -> Any:
        if name == "salesCreditMemos":
            return lambda r: bc_docs.refresh_invoice_id(comp, r)
        return (lambda r: item_view(comp, r)) if name == "items" else None

    def _render(self, comp: Company, name: str, rec: dict[str, Any], q: Query | None) -> dict[str, Any]:
        etype = ENTITY_SETS[name][0]
        view = self._view(comp, name)
        if view is not None:
            view(rec)
        select = q.select if q else None
        out = self.store.render(etype, rec, [s for s in select if s in etype.by_name] if select else None)
        if q is not None and q.expand:
            for exp in q.expand:
                if exp.nav not in etype.navs:
                    raise BCError(
                        400,
                        "BadRequest_NotFound",
                        f"Could not find a property named '{exp.nav}' on type '{etype.type_name}'.",
                    )
                ltype = ENTITY_SETS[etype.navs[exp.nav]][0]
                lq = Query(filter=exp.filter, select=exp.select)
                sort = ("lineNumber",) if exp.nav == "customerPayments" else ("sequence",)
                lines = bc_query.run(ltype, lq, rows=rec["_lines"], default_sort=sort).rows
                out[exp.nav] = [self.store.render(ltype, ln, exp.select) for ln in lines]
        return out

    def _collection(
        self,
        request: Request,
        comp: Company,
        name: str,
        etype: EntityType,
        table: bc_store.Table,
        ctx: str,
        url: str,
    ) -> Response:
        q = parse_query(request.query)
        size, applied = bc_query.page_size_from(request.headers.get("Prefer"))
        page = bc_query.run(etype, q, table=table, page_size=size, view=self._view(comp, name))
        sel = f"({','.join(q.select)})" if q.select else ""
        body: dict[str, Any] = {"@odata.context": f"{ctx}/{name}{sel}"}
        if page.count is not None:
            body["@odata.count"] = page.count
        body["value"] = [self._render(comp, name, r, q) for r in page.rows]
        if page.next_token:
            body["@odata.nextLink"] = bc_query.next_link(f"{url}/{name}", request.query, page)
        headers = [("Preference-Applied", applied)] if applied else []
        return self._ok(200, body, headers)

    def _entity(
        self,
        request: Request,
        comp: Company,
        name: str,
        etype: EntityType,
        rec: dict[str, Any],
        ctx: str,
        url: str,
    ) -> Response:
        method = request.method
        if method == "GET":
            q = parse_query(request.query)
            bc_query.check_select(etype, q.select)
            out = self._render(comp, name, rec, q)
            return self._ok(
                200, {"@odata.context": f"{ctx}/{name}/$entity", **out}, [("ETag", out["@odata.etag"])]
            )
        if name in READ_ONLY or method not in ("PATCH", "DELETE"):
            raise _not_allowed(method, name)
        self._if_match(request, rec["id"], rec.get("_v", 1))
        if method == "DELETE":
            self._delete(comp, name, rec)
            return Response(204, b"", [("OData-Version", "4.0")])
        body = self._body(request)
        if name == "customerPaymentJournals":
            bc_o2c.update_batch(self.store, comp, rec, body)
        elif name == "customers":
            values, _ = self.store.coerce(etype, body)
            bc_store.update_customer(self.store, comp, rec, values)
        elif name == "items":
            values, _ = self.store.coerce(etype, body)
            values.pop("_ro", None)
            bc_store.update_item(self.store, comp, rec, values)
        else:
            bc_docs.update_document(self.store, comp, DOC_SETS[name], rec, body)
        out = self._render(comp, name, rec, None)
        return self._ok(
            200, {"@odata.context": f"{ctx}/{name}/$entity", **out}, [("ETag", out["@odata.etag"])]
        )

    def _delete(self, comp: Company, name: str, rec: dict[str, Any]) -> None:
        if name == "items" and comp.ledger.find("itemNumber", rec["number"]):
            raise dialog(
                f"You cannot delete Item {rec['number']} because it has ledger entries in a fiscal year "
                "that has not been closed yet."
            )
        if name == "salesInvoices" and rec.get("_posted"):
            # UNDOCUMENTED whether BC's deletion rules allow it; sandbox choice: posted invoices cannot be
            # deleted.
            raise dialog(f"You cannot delete posted sales invoice {rec['number']}.")
        if name == "salesCreditMemos" and rec.get("_posted"):
            # UNDOCUMENTED (§10.1); sandbox choice: posted credit memos cannot be deleted.
            raise dialog(f"You cannot delete posted sales credit memo {rec['number']}.")
        if name == "salesOrders":
            bc_o2c.check_order_deletable(rec)
        table = comp.table(name)
        assert table is not None
        table.delete(rec["id"])
        if name == "items":
            comp.inventory.pop(rec["number"], None)
        self.store.on_change(comp.id, name, rec["id"], "deleted", self.store.now())

    def _create(self, request: Request, comp: Company, name: str, ctx: str, url: str) -> Response:
        body = self._body(request)
        etype = ENTITY_SETS[name][0]
        if name == "customers":
            values, _ = self.store.coerce(etype, body)
            rec = bc_store.new_customer(self.store, comp, values)
        elif name == "customerPaymentJournals":
            values, _ = self.store.coerce(etype, body)
            rec = bc_o2c.new_batch(self.store, comp, values)
        elif name == "items":
            values, _ = self.store.coerce(etype, body)
            if "inventory" in (values.get("_ro") or []) or (isinstance(body, dict) and "inventory" in body):
                raise dialog("Inventory cannot be changed during on insert.")
            rec = bc_store.new_item(self.store, comp, values)
        else:
            rec = bc_docs.create_document(self.store, comp, DOC_SETS[name], body)
        out = self._render(comp, name, rec, None)
        if name in DOC_SETS:
            nav = bc_docs.KINDS[DOC_SETS[name]]
            if isinstance(body, dict) and nav[3] in body:
                out[nav[3]] = [self.store.render(nav[2], ln) for ln in rec["_lines"]]
        return self._ok(
            201,
            {"@odata.context": f"{ctx}/{name}/$entity", **out},
            [("ETag", out["@odata.etag"]), ("Location", f"{url}/{name}({rec['id']})")],
        )

    # ------------------------------------------------------------------ lines

    def _doc_lines(
        self,
        request: Request,
        comp: Company,
        kind: str,
        doc: dict[str, Any],
        key: str | None,
        ctx: str,
        url: str,
    ) -> Response:
        set_name, _, ltype, nav = bc_docs.KINDS[kind]
        lctx = f"{ctx}/{set_name}({doc['id']})/{nav}"
        method = request.method
        if key is None:
            if method == "GET":
                q = parse_query(request.query)
                size, applied = bc_query.page_size_from(request.headers.get("Prefer"))
                page = bc_query.run(ltype, q, rows=doc["_lines"], default_sort=("sequence",), page_size=size)
                body: dict[str, Any] = {"@odata.context": lctx}
                if page.count is not None:
                    body["@odata.count"] = page.count
                body["value"] = [self.store.render(ltype, ln, q.select) for ln in page.rows]
                if page.next_token:
                    body["@odata.nextLink"] = bc_query.next_link(
                        f"{url}/{set_name}({doc['id']})/{nav}", request.query, page
                    )
                return self._ok(200, body, [("Preference-Applied", applied)] if applied else [])
            if method == "POST":
                line = bc_docs.add_line(self.store, comp, kind, doc, self._body(request))
                out = self.store.render(ltype, line)
                return self._ok(
                    201, {"@odata.context": f"{lctx}/$entity", **out}, [("ETag", out["@odata.etag"])]
                )
            raise _not_allowed(method, nav)
        ident = _guid_key(key)
        line = next((ln for ln in doc["_lines"] if ln["id"] == ident), None)
        if line is None:
            raise BCError(
                404,
                "Internal_RecordNotFound",
                f"The Sales Line does not exist. Identification fields and values: Id='{ident}'",
            )
        if method == "GET":
            out = self.store.render(ltype, line, parse_query(request.query).select)
            return self._ok(200, {"@odata.context": f"{lctx}/$entity", **out}, [("ETag", out["@odata.etag"])])
        if method not in ("PATCH", "DELETE"):
            raise _not_allowed(method, nav)
        self._if_match(request, line["id"], line.get("_v", 1))
        if method == "DELETE":
            bc_docs.delete_line(self.store, comp, kind, doc, line)
            return Response(204, b"", [("OData-Version", "4.0")])
        bc_docs.update_line(self.store, comp, kind, doc, line, self._body(request))
        out = self.store.render(ltype, line)
        return self._ok(200, {"@odata.context": f"{lctx}/$entity", **out}, [("ETag", out["@odata.etag"])])

    def _company_lines(self, request: Request, comp: Company, name: str, ctx: str) -> Response:
        """GET companies(..)/salesOrderLines needs a documentId or id filter (business-central.md §3.4)."""
        from wcbc.sandbox.bc.odata import index_hints, parse_filter

        kind = LINE_SETS[name]
        set_name, _, ltype, _ = bc_docs.KINDS[kind]
        q = parse_query(request.query)
        hints = index_hints(parse_filter(q.filter, ltype, schema21=q.schema21)) if q.filter else []
        keys = {h[0] for h in hints if h[1] in ("eq", "in")}
        if not keys & {"documentId", "id"}:
            # The credit-memo lines page spells it with a lower-case "id" (§10.1).
            ident = "id" if kind == "creditMemo" else "Id"
            raise dialog(f"You must specify an {ident} or a Document Id to get the lines.")
        table = comp.table(set_name)
        assert table is not None
        rows = [ln for doc in table.rows.values() for ln in doc["_lines"]]
        page = bc_query.run(ltype, q, rows=rows, default_sort=("documentId", "sequence"))
        body = {
            "@odata.context": f"{ctx}/{name}",
            "value": [self.store.render(ltype, ln, q.select) for ln in page.rows],
        }
        return self._ok(200, body)

    # ------------------------------------------------------------------ subscriptions

    def _subscriptions(self, request: Request, key: str | None, base: str, client: str) -> Response:
        hooks = self.app.webhooks
        ctx = f"{base}/$metadata#subscriptions"
        method = request.method
        if key is None:
            if method == "GET":
                return self._ok(
                    200,
                    {
                        "@odata.context": ctx,
                        "value": [self.store.render(SUBSCRIPTION, s) for s in hooks.list()],
                    },
                )
            if method == "POST":
                sub = hooks.create(self._body(request), self.store.app_user_id)
                out = self.store.render(SUBSCRIPTION, sub)
                return self._ok(
                    201,
                    {"@odata.context": f"{ctx}/$entity", **out},
                    [
                        ("ETag", out["@odata.etag"]),
                        ("Location", f"{base}/subscriptions('{sub['subscriptionId']}')"),
                    ],
                )
            raise _not_allowed(method, "subscriptions")
        key = key.strip()
        if not (len(key) >= 2 and key[0] == key[-1] == "'"):
            # The key is a string and must be single-quoted (business-central.md §4).
            raise syntax_error("Bad Request - Error in query syntax.")
        sub = hooks.get(key[1:-1].replace("''", "'"))
        if method == "GET":
            out = self.store.render(SUBSCRIPTION, sub)
            return self._ok(200, {"@odata.context": f"{ctx}/$entity", **out}, [("ETag", out["@odata.etag"])])
        if method not in ("PATCH", "DELETE"):
            raise _not_allowed(method, "subscriptions")
        self._if_match(request, sub["subscriptionId"], sub["_v"])
        if method == "DELETE":
            hooks.delete(sub["subscriptionId"])
            return Response(204, b"", [("OData-Version", "4.0")])
        hooks.renew(sub, self._body(request))
        out = self.store.render(SUBSCRIPTION, sub)
        return self._ok(200, {"@odata.context": f"{ctx}/$entity", **out}, [("ETag", out["@odata.etag"])])
