"""NOT STANDARD API v2.0: the custom endpoints a BC admin can publish to expose the Sales Shipment Header's
tracking fields (business-central.md §10.0 #1, §10.4: no v2.0 page exposes Shipping Agent Code, Shipping
Agent Service Code or Package Tracking No.). Both are off until published through the admin API:

* (a) an OData V4 web service of page 142 "Posted Sales Shipments" (page Web Services in BC):
  `GET /v2.0/{tenant}/{env}/ODataV4/Company('{company name}')/{ServiceName}` and `…/{ServiceName}('{No.}')`.
  Field names are the page's captions with underscores (`No`, `Package_Tracking_No`, …). UNDOCUMENTED in
  the contract beyond that: the field list below is the sandbox's choice of page 142's columns.
* (b) a custom API page in an AL extension:
  `GET /v2.0/{tenant}/{env}/api/{publisher}/{group}/{version}/companies({id})/{entitySet}` and `…({id})`,
  camelCase fields, keyed by the shipment's SystemId (the same id as in salesShipments). The whole shape is
  the extension author's choice: the sandbox's is below.

Both are read-only here (page 1350 "Posted Sales Shipment - Update" edits the fields inside BC: the admin API
`set_shipment_tracking` plays that part).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wcbc.sandbox.bc import query as bc_query
from wcbc.sandbox.bc.odata import BCError, EntityType, Field, parse_query, syntax_error
from wcbc.sandbox.core import Request, Response

if TYPE_CHECKING:
    from wcbc.sandbox.bc.api import Api
    from wcbc.sandbox.bc.store import Company

TRACKING_API = EntityType(
    "shipmentTracking",
    [
        Field("id", "guid", True),
        Field("number", "code", True),
        Field("externalDocumentNumber", "code", True),
        Field("orderNumber", "code", True),
        Field("customerNumber", "code", True),
        Field("postingDate", "date", True),
        Field("shippingAgentCode", "code", True),
        Field("shippingAgentServiceCode", "code", True),
        Field("packageTrackingNumber", "str", True),
        Field("lastModifiedDateTime", "datetime", True),
    ],
)
POSTED_SALES_SHIPMENTS = EntityType(
    "PostedSalesShipments",
    [
        Field("No", "code", True),
        Field("Sell_to_Customer_No", "code", True),
        Field("Sell_to_Customer_Name", "str", True),
        Field("External_Document_No", "code", True),
        Field("Order_No", "code", True),
        Field("Posting_Date", "date", True),
        Field("Shipping_Agent_Code", "code", True),
        Field("Shipping_Agent_Service_Code", "code", True),
        Field("Package_Tracking_No", "str", True),
    ],
)


def _api_row(ship: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ship["id"],
        "number": ship["number"],
        "externalDocumentNumber": ship["externalDocumentNumber"],
        "orderNumber": ship["orderNumber"],
        "customerNumber": ship["customerNumber"],
        "postingDate": ship["postingDate"],
        "shippingAgentCode": ship["_shippingAgentCode"],
        "shippingAgentServiceCode": ship["_shippingAgentServiceCode"],
        "packageTrackingNumber": ship["_packageTrackingNo"],
        "lastModifiedDateTime": ship["lastModifiedDateTime"],
        "_v": ship.get("_v", 1),
    }


def _page_row(ship: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ship["id"],
        "No": ship["number"],
        "Sell_to_Customer_No": ship["customerNumber"],
        "Sell_to_Customer_Name": ship["customerName"],
        "External_Document_No": ship["externalDocumentNumber"],
        "Order_No": ship["orderNumber"],
        "Posting_Date": ship["postingDate"],
        "Shipping_Agent_Code": ship["_shippingAgentCode"],
        "Shipping_Agent_Service_Code": ship["_shippingAgentServiceCode"],
        "Package_Tracking_No": ship["_packageTrackingNo"],
        "_v": ship.get("_v", 1),
    }


def _not_found(segment: str) -> BCError:
    # UNDOCUMENTED: the answer for an unpublished service / unknown custom API (sandbox: 404).
    return BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'.")


def web_service(
    api: Api, request: Request, comp: Company, service: str, key: str | None, base: str
) -> Response:
    """(a) ODataV4/Company('…')/{service}."""
    if api.store.custom_endpoints.get(f"odata:{service}") is None:
        raise _not_found(service)
    rows = [_page_row(s) for s in comp.salesShipments.rows.values()]
    ctx = f"{base}/$metadata#Company('{comp.name}')/{service}"
    return _serve(api, request, POSTED_SALES_SHIPMENTS, rows, key, "No", ctx, service)


def custom_api(api: Api, request: Request, comp: Company, path: str, key: str | None, base: str) -> Response:
    """(b) api/{publisher}/{group}/{version}/companies({id})/{entitySet}."""
    if api.store.custom_endpoints.get(f"api:{path}") is None:
        raise _not_found(path.rsplit("/", 1)[-1])
    rows = [_api_row(s) for s in comp.salesShipments.rows.values()]
    ctx = f"{base}/$metadata#companies({comp.id})/{path.rsplit('/', 1)[-1]}"
    return _serve(api, request, TRACKING_API, rows, key, "id", ctx, path)


def _serve(
    api: Api,
    request: Request,
    etype: EntityType,
    rows: list[dict[str, Any]],
    key: str | None,
    key_field: str,
    ctx: str,
    name: str,
) -> Response:
    if request.method != "GET":
        raise BCError(
            405,
            "BadRequest_MethodNotAllowed",
            f"'{request.method}' requests for '{name}' of EdmType 'Entity' are not allowed within Dynamics "
            "365 Business Central OData web services.",
        )
    q = parse_query(request.query)
    if key is not None:
        want = key.strip()
        if key_field == "No":
            if not (len(want) >= 2 and want[0] == want[-1] == "'"):
                raise syntax_error("Bad Request - Error in query syntax.")
            want = want[1:-1].replace("''", "'")
        found = [r for r in rows if str(r[key_field]).lower() == want.lower()]
        if not found:
            raise BCError(
                404,
                "Internal_RecordNotFound",
                f"The Sales Shipment Header does not exist. Identification fields and values: No.='{want}'",
            )
        out = api.store.render(etype, found[0], q.select)
        return api._ok(200, {"@odata.context": f"{ctx}/$entity", **out}, [("ETag", out["@odata.etag"])])
    page = bc_query.run(etype, q, rows=rows, default_sort=(key_field,))
    body = {"@odata.context": ctx, "value": [api.store.render(etype, r, q.select) for r in page.rows]}
    return api._ok(200, body)


def _split_key(segment: str) -> tuple[str, str | None]:
    if segment.endswith(")") and "(" in segment:
        name, _, key = segment.partition("(")
        return name, key[:-1]
    return segment, None


def dispatch(api: Api, request: Request, kind: str, rest: list[str], base: str) -> Response:
    """Route ODataV4/… (kind "odata") and api/{publisher}/{group}/{version}/… (kind "api")."""
    if kind == "odata":
        if len(rest) != 2 or not (rest[0].startswith("Company('") and rest[0].endswith("')")):
            raise _not_found(rest[0] if rest else "ODataV4")
        name = rest[0][len("Company('") : -2].replace("''", "'")
        comp = next((c for c in api.store.companies.values() if c.name == name), None)
        if comp is None:
            raise BCError(404, "Internal_CompanyNotFound", f"Cannot find the company '{name}'.")
        service, key = _split_key(rest[1])
        return web_service(api, request, comp, service, key, f"{base}/ODataV4")
    if len(rest) != 5 or not rest[3].startswith("companies("):
        raise _not_found("/".join(rest[:3]) or "api")
    _, cid = _split_key(rest[3])
    comp = api.store.company((cid or "").lower())
    entity_set, key = _split_key(rest[4])
    path = "/".join([*rest[:3], entity_set])
    return custom_api(api, request, comp, path, key, f"{base}/api/{'/'.join(rest[:3])}")
