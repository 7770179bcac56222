"""BC simulator over real HTTPS: auth, response shapes vs the docs examples, OData queries, paging,
If-Match."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from tests.contracts import assert_shape
from tests.contracts import bc_example as example
from wcbc.sandbox.bc.testing import BCSandbox


def assert_error(r: requests.Response, status: int, code: str, message: str | None = None) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"code", "message"}
    assert err["code"] == code
    assert "  CorrelationId:  " in err["message"]
    text = err["message"].split("  CorrelationId:  ")[0]
    if message is not None:
        assert text == message
    return text


def item_by_number(s: requests.Session, sbx: BCSandbox, number: str) -> dict:
    r = s.get(f"{sbx.company_url}/items", params={"$filter": f"number eq '{number}'"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["value"]
    return item


# ------------------------------------------------------------------ auth


def test_missing_and_bad_token_401(sbx: BCSandbox) -> None:
    r = requests.get(f"{sbx.company_url}/items", verify=sbx.ca_path, timeout=10)
    text = assert_error(r, 401, "Authentication_InvalidCredentials")
    ex = example("error-401-invalid-credentials.json")["error"]["message"].split("  CorrelationId:")[0]
    assert text == ex
    r = requests.get(
        f"{sbx.company_url}/items",
        verify=sbx.ca_path,
        timeout=10,
        headers={"Authorization": "Bearer nonsense"},
    )
    assert_error(r, 401, "Authentication_InvalidCredentials", ex)


def test_expired_token_401_then_fresh_token_works(sbx: BCSandbox) -> None:
    s = sbx.session()
    assert s.get(f"{sbx.company_url}/items").status_code == 200
    sbx.bc.expire_tokens()
    assert_error(s.get(f"{sbx.company_url}/items"), 401, "Authentication_InvalidCredentials")
    assert sbx.session().get(f"{sbx.company_url}/items").status_code == 200


def test_app_not_enabled_in_bc_401(sbx: BCSandbox) -> None:
    s = sbx.session()
    sbx.bc.disable_app(sbx.client_id)
    assert_error(
        s.get(f"{sbx.company_url}/items"),
        401,
        "Authentication_InvalidCredentials",
        "The server has rejected the client credentials.",
    )
    sbx.bc.enable_app(sbx.client_id)
    assert s.get(f"{sbx.company_url}/items").status_code == 200


def test_tenantless_url_and_wrong_tenant(sbx: BCSandbox, s: requests.Session) -> None:
    url = f"{sbx.api_url}/v2.0/{sbx.environment}/api/v2.0/companies({sbx.company_id})/items"
    assert s.get(url).status_code == 200
    other = f"{sbx.api_url}/v2.0/00000000-1111-2222-3333-444444444444/{sbx.environment}/api/v2.0/companies"
    assert_error(s.get(other), 401, "Authentication_InvalidCredentials")


# ------------------------------------------------------------------ shapes


def test_companies_and_item_shape(sbx: BCSandbox, s: requests.Session) -> None:
    r = s.get(f"{sbx.base_url}/companies")
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("/$metadata#companies")
    assert [c["id"] for c in body["value"]] == [sbx.company_id]
    assert r.headers["OData-Version"] == "4.0"
    item = item_by_number(s, sbx, "MUG-001")
    assert_shape(item, example("get-item-response.json"))
    assert item["inventory"] == 25 and item["unitPrice"] == 12.5 and item["type"] == "Inventory"
    assert item["@odata.etag"].startswith('W/"') and item["@odata.etag"].endswith('"')
    r = s.get(f"{sbx.company_url}/items({item['id']})")
    assert r.status_code == 200
    assert r.json()["@odata.context"].endswith("/items/$entity")
    assert r.headers["ETag"] == item["@odata.etag"]


def test_post_customer_shape_and_number_series(sbx: BCSandbox, s: requests.Session) -> None:
    req = example("post-customer-request.json")
    for key in ("taxAreaId", "paymentTermsId", "paymentMethodId"):
        req.pop(key)
    r = s.post(f"{sbx.company_url}/customers", json=req)
    assert r.status_code == 201, r.text
    body = r.json()
    assert_shape(body, example("post-customer-response.json"))
    assert body["blocked"] == "_x0020_"  # the docs send " ": accepted, emitted encoded
    assert body["number"] and body["id"]
    assert body["currencyCode"] == "USD"
    assert r.headers["Location"].endswith(f"/customers({body['id']})")
    r2 = s.post(f"{sbx.company_url}/customers", json={"displayName": "Second"})
    assert r2.json()["number"] != body["number"]


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {"email": "x@example.test"},
            400,
            "Application_DialogException",
            'A "displayName" must be provided.',
        ),
        (
            {"displayName": "  "},
            400,
            "Application_DialogException",
            'The blank "displayName" is not allowed.',
        ),
        ({"displayName": "x", "nope": 1}, 400, "BadRequest", None),
        (
            {"displayName": "x", "blocked": "Maybe"},
            400,
            "Unknown",
            "'Maybe' is not an option. The existing options are:  ,Ship,Invoice,All",
        ),
        ({"displayName": "x" * 101}, 400, "Application_StringExceededLength", None),
        ({"displayName": "x", "taxLiable": "yes"}, 400, "BadRequest", None),
        # business-central.md §10.6: a page error, not a record lookup (was 404 Internal_RecordNotFound).
        (
            {"displayName": "x", "currencyCode": "XYZ"},
            400,
            "Application_DialogException",
            'The "currencyCode" does not match to a Currency.',
        ),
    ],
)
def test_customer_errors(
    sbx: BCSandbox, s: requests.Session, body: dict, status: int, code: str, message: str | None
) -> None:
    assert_error(s.post(f"{sbx.company_url}/customers", json=body), status, code, message)


def test_read_only_fields_ignored_on_post(sbx: BCSandbox, s: requests.Session) -> None:
    r = s.post(f"{sbx.company_url}/customers", json={"displayName": "RO", "balanceDue": 99, "id": "x"})
    assert r.status_code == 201, r.text
    assert r.json()["balanceDue"] == 0


def test_item_inventory_on_post_refused_and_patch_adjusts(sbx: BCSandbox, s: requests.Session) -> None:
    assert_error(
        s.post(f"{sbx.company_url}/items", json={"number": "NEW-1", "inventory": 3}),
        400,
        "Application_DialogException",
        "Inventory cannot be changed during on insert.",
    )
    r = s.post(f"{sbx.company_url}/items", json={"number": "new-1", "displayName": "New", "unitPrice": 3.5})
    assert r.status_code == 201 and r.json()["number"] == "NEW-1"
    item = r.json()
    r = s.patch(
        f"{sbx.company_url}/items({item['id']})",
        json={"inventory": 7},
        headers={"If-Match": item["@odata.etag"]},
    )
    assert r.status_code == 200 and r.json()["inventory"] == 7
    assert sbx.bc.ledger_entries("NEW-1")[-1]["entryType"] == "Positive_x0020_Adjmt_x002E_"


def test_unknown_ids_and_segments(sbx: BCSandbox, s: requests.Session) -> None:
    assert_error(
        s.get(f"{sbx.company_url}/items(00000000-0000-0000-0000-000000000001)"),
        404,
        "Internal_RecordNotFound",
    )
    assert_error(s.get(f"{sbx.company_url}/items('MUG-001')"), 400, "BadRequest_NotFound")
    assert_error(s.get(f"{sbx.company_url}/widgets"), 404, "BadRequest_ResourceNotFound")
    assert_error(s.post(f"{sbx.base_url}/companies", json={}), 405, "BadRequest_MethodNotAllowed")
    assert_error(
        s.patch(f"{sbx.company_url}/items", json={}, headers={"If-Match": "*"}),
        405,
        "BadRequest_MethodNotAllowed",
    )
    assert_error(s.post(f"{sbx.company_url}/itemLedgerEntries", json={}), 405, "BadRequest_MethodNotAllowed")


# ------------------------------------------------------------------ OData $filter


def get(s: requests.Session, url: str, **params: str) -> requests.Response:
    return s.get(url, params=params)


def test_filter_quote_doubling_and_plus_encoding(sbx: BCSandbox, s: requests.Session) -> None:
    sbx.bc.add_customer("Pat O'Brien", "o.brien@example.test")
    sbx.bc.add_customer("Plus", "a+b@example.com")
    r = get(s, f"{sbx.company_url}/customers", **{"$filter": "displayName eq 'Pat O''Brien'"})
    assert [c["email"] for c in r.json()["value"]] == ["o.brien@example.test"]
    # requests encodes "+" as %2B: the address is found.
    r = get(s, f"{sbx.company_url}/customers", **{"$filter": "email eq 'a+b@example.com'"})
    assert [c["displayName"] for c in r.json()["value"]] == ["Plus"]
    # An unencoded "+" in the URL is a space on the wire: nothing matches.
    raw = f"{sbx.company_url}/customers?$filter=" + quote("email eq 'a+b@example.com'", safe="+'")
    assert s.get(raw).json()["value"] == []
    # A single quote left undoubled is a syntax error.
    assert_error(
        get(s, f"{sbx.company_url}/customers", **{"$filter": "displayName eq 'O'Brien'"}),
        400,
        "BadRequest_NotFound",
    )


def test_filter_or_across_fields_refused(sbx: BCSandbox, s: requests.Session) -> None:
    r = get(s, f"{sbx.company_url}/customers", **{"$filter": "email eq 'x' or phoneNumber eq 'y'"})
    assert_error(
        r,
        400,
        "BadRequest_NotSupported",
        "The 'OR' operator is not supported on distinct fields on an OData filter.",
    )
    r = get(s, f"{sbx.company_url}/items", **{"$filter": "(number eq 'MUG-001' or number eq 'CAP-001')"})
    assert sorted(i["number"] for i in r.json()["value"]) == ["CAP-001", "MUG-001"]


def test_filter_unknown_field_and_type_mismatch(sbx: BCSandbox, s: requests.Session) -> None:
    r = get(s, f"{sbx.company_url}/items", **{"$filter": "sku eq 'MUG-001'"})
    assert_error(
        r, 400, "BadRequest_NotFound", "Could not find a property named 'sku' on type 'Microsoft.NAV.item'."
    )
    r = get(s, f"{sbx.company_url}/items", **{"$filter": "unitPrice eq '12.5'"})
    assert_error(r, 400, "BadRequest_NotFound")
    assert_error(get(s, f"{sbx.company_url}/items", **{"$select": "number,sku"}), 400, "BadRequest_NotFound")
    assert_error(get(s, f"{sbx.company_url}/items", **{"$filter": "number eq"}), 400, "BadRequest_NotFound")


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("unitPrice gt 20", ["HOODIE-M", "HOODIE-S"]),
        ("unitPrice ge 20 and unitPrice le 45", ["HOODIE-S", "TSHIRT-001"]),
        ("unitPrice lt 10", ["CAP-001"]),
        ("number ne 'MUG-001' and inventory lt 11", ["HOODIE-M", "HOODIE-S"]),
        ("blocked eq false and (unitPrice eq 9.99 or unitPrice eq 12.5)", ["CAP-001", "MUG-001"]),
        ("startswith(number,'HOODIE')", ["HOODIE-M", "HOODIE-S"]),
        ("contains(displayName,'Mug')", ["MUG-001"]),
        ("type eq 'Inventory' and number eq 'CAP-001'", ["CAP-001"]),
        ("lastModifiedDateTime gt 2000-01-01T00:00:00Z and number eq 'CAP-001'", ["CAP-001"]),
        ("lastModifiedDateTime lt 2000-01-01T00:00:00.000Z", []),
        ("not (unitPrice gt 10)", ["CAP-001"]),
    ],
)
def test_filter_operators(sbx: BCSandbox, s: requests.Session, flt: str, expected: list[str]) -> None:
    r = get(s, f"{sbx.company_url}/items", **{"$filter": flt})
    assert r.status_code == 200, r.text
    assert sorted(i["number"] for i in r.json()["value"]) == expected


def test_filter_guid_bool_date_and_enum(sbx: BCSandbox, s: requests.Session) -> None:
    mug = item_by_number(s, sbx, "MUG-001")
    r = get(s, f"{sbx.company_url}/items", **{"$filter": f"id eq {mug['id']}"})
    assert [i["number"] for i in r.json()["value"]] == ["MUG-001"]
    assert_error(
        get(s, f"{sbx.company_url}/items", **{"$filter": f"id eq '{mug['id']}'"}), 400, "BadRequest_NotFound"
    )
    today = sbx.bc.clock.now().date().isoformat()
    r = get(
        s,
        f"{sbx.company_url}/itemLedgerEntries",
        **{"$filter": f"postingDate eq {today} and entryType eq 'Positive_x0020_Adjmt_x002E_'"},
    )
    assert len(r.json()["value"]) == 5
    r = get(s, f"{sbx.company_url}/itemLedgerEntries", **{"$filter": "entryType eq 'Positive Adjmt.'"})
    assert len(r.json()["value"]) == 5


def test_select_orderby_top_skip_count(sbx: BCSandbox, s: requests.Session) -> None:
    r = get(
        s,
        f"{sbx.company_url}/items",
        **{
            "$select": "number,unitPrice",
            "$orderby": "unitPrice desc",
            "$top": "2",
            "$skip": "1",
            "$count": "true",
        },
    )
    body = r.json()
    assert body["@odata.count"] == 5
    assert body["@odata.context"].endswith("/items(number,unitPrice)")
    assert [set(v) for v in body["value"]] == [{"@odata.etag", "number", "unitPrice"}] * 2
    assert [v["number"] for v in body["value"]] == ["HOODIE-S", "TSHIRT-001"]
    r = s.get(f"{sbx.company_url}/items/$count", params={"$filter": "unitPrice gt 20"})
    assert r.text == "2"
    assert_error(get(s, f"{sbx.company_url}/items", **{"$top": "-1"}), 400, "BadRequest_NotFound")
    assert_error(get(s, f"{sbx.company_url}/items", **{"$bogus": "1"}), 400, "BadRequest_NotFound")


def test_paging_with_maxpagesize(sbx: BCSandbox, s: requests.Session) -> None:
    sbx.bc.bulk_add_items([(f"BULK-{i:04d}", f"Bulk {i}", 1, 0) for i in range(23)])
    seen: list[str] = []
    url: str | None = f"{sbx.company_url}/items?$filter=" + quote("startswith(number,'BULK')")
    pages = 0
    while url:
        r = s.get(url, headers={"Prefer": "odata.maxpagesize=10"})
        assert r.status_code == 200, r.text
        assert r.headers["Preference-Applied"] == "odata.maxpagesize=10"
        body = r.json()
        seen += [v["number"] for v in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3
    assert seen == sorted(f"BULK-{i:04d}" for i in range(23))
    r = s.get(f"{sbx.company_url}/items", headers={"Prefer": "odata.maxpagesize=50000"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=20000"
    assert "@odata.nextLink" not in r.json()


def test_paging_survives_insert_before_cursor(sbx: BCSandbox, s: requests.Session) -> None:
    sbx.bc.bulk_add_items([(f"P-{i:02d}", "p", 1, 0) for i in range(6)])
    flt = quote("startswith(number,'P-')")
    r = s.get(f"{sbx.company_url}/items?$filter={flt}", headers={"Prefer": "odata.maxpagesize=3"})
    first = [v["number"] for v in r.json()["value"]]
    sbx.bc.add_item("P-00A", "inserted before the cursor", 1)
    r = s.get(r.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=3"})
    assert first == ["P-00", "P-01", "P-02"]
    assert [v["number"] for v in r.json()["value"]] == ["P-03", "P-04", "P-05"]


# ------------------------------------------------------------------ If-Match


def test_if_match_rules(sbx: BCSandbox, s: requests.Session) -> None:
    cust = sbx.bc.add_customer("Etag Test", "etag@example.test")
    url = f"{sbx.company_url}/customers({cust['id']})"
    assert_error(
        s.patch(url, json={"phoneNumber": "1"}),
        400,
        "BadRequest_InvalidToken",
        "Could not validate the client concurrency token required by the service. Please provide a valid "
        "token in the client request.",
    )
    r = s.patch(url, json={"phoneNumber": "1"}, headers={"If-Match": cust["@odata.etag"]})
    assert r.status_code == 200 and r.json()["phoneNumber"] == "1"
    assert r.json()["@odata.etag"] != cust["@odata.etag"]
    assert_error(
        s.patch(url, json={"phoneNumber": "2"}, headers={"If-Match": cust["@odata.etag"]}),
        409,
        "Request_EntityChanged",
        "Another user has already changed the record.",
    )
    assert s.patch(url, json={"phoneNumber": "3"}, headers={"If-Match": "*"}).status_code == 200
    assert_error(s.delete(url), 400, "BadRequest_InvalidToken")
    assert s.delete(url, headers={"If-Match": "*"}).status_code == 204
    assert s.get(url).status_code == 404


def test_request_counter(sbx: BCSandbox, s: requests.Session) -> None:
    item = item_by_number(s, sbx, "CAP-001")
    s.get(f"{sbx.company_url}/items({item['id']})")
    assert sbx.bc.requests["GET items"] == 1
    assert sbx.bc.requests["GET items(id)"] == 1


def test_bulk_seed_and_indexed_lookup(sbx: BCSandbox, s: requests.Session) -> None:
    sbx.bc.bulk_add_items([(f"SKU-{i:05d}", f"Item {i}", i % 50 + 1, i % 7) for i in range(20_000)])
    sbx.bc.bulk_add_customers([(f"Customer {i}", f"c{i}@example.test") for i in range(1_000)])
    r = get(s, f"{sbx.company_url}/items", **{"$filter": "number eq 'SKU-12345'"})
    assert [(v["number"], v["inventory"]) for v in r.json()["value"]] == [("SKU-12345", 12345 % 7)]
    r = get(s, f"{sbx.company_url}/customers", **{"$filter": "email eq 'c999@example.test'"})
    assert [v["displayName"] for v in r.json()["value"]] == ["Customer 999"]
