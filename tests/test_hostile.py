"""Hostile input: against a running `wcbc serve` (waitress on port 0, a real State) and through the whole
order path (names, e-mails and SKUs full of SQL and OData metacharacters, into the BC sandbox)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E, make_env
from wcbc.core.state import State
from wcbc.webhooks.app import Service

SECRET = "whsec-test-0123456789abcdef"
CLIENT_STATE = "client-state-abcdef0123456789"
WOO = "/webhooks/woocommerce"
BC = "/webhooks/business-central"
MAX_BODY = 64 * 1024


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def order_body(order_id: int = 42) -> bytes:
    return json.dumps({"id": order_id, "status": "processing", "billing": {"last_name": "O'Brien"}}).encode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Service, Path]]:
    path = tmp_path / "state.db"
    service = Service(
        state_factory=lambda: State(path),
        secret_provider=lambda: {"woo_webhook_secret": SECRET, "bc_client_state": CLIENT_STATE},
        processor=None,  # store only: the test looks at exactly what was stored
        host="127.0.0.1",
        port=0,
        max_body=MAX_BODY,
    ).start()
    try:
        yield service, path
    finally:
        service.stop()


def send(service: Service, path: str, body: bytes | None, headers: dict[str, str],
         *, content_length: str | None = "auto", timeout: float = 20) -> int:
    """One raw HTTP request with exactly these headers; returns the status (0: connection closed)."""
    host, port = service.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        if content_length == "auto" and body is not None:
            conn.putheader("Content-Length", str(len(body)))
        elif content_length not in ("auto", None):
            conn.putheader("Content-Length", content_length)
        conn.endheaders(body)
        return conn.getresponse().status
    except (TimeoutError, ConnectionError, http.client.RemoteDisconnected):
        return 0
    finally:
        conn.close()


def woo_headers(body: bytes, signature: str | None = "auto", topic: str = "order.updated") -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-ID": "3",
               "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated"}
    if signature == "auto":
        headers["X-WC-Webhook-Signature"] = sign(body)
    elif signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    return headers


def stored(path: Path) -> list[dict]:
    with State(path) as state:
        return state.inbox_list()


def healthy(service: Service) -> bool:
    host, port = service.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        return response.status == 200 and json.loads(response.read())["status"] == "ok"
    finally:
        conn.close()


# ------------------------------------------------------------------------------- signatures


def test_forged_truncated_and_foreign_signatures_are_refused(
    served, caplog: pytest.LogCaptureFixture
) -> None:
    service, path = served
    body = order_body()
    good = sign(body)
    caplog.set_level(logging.WARNING, logger="wcbc.server")
    cases = {
        "forged (valid base64, wrong digest)": base64.b64encode(b"\0" * 32).decode(),
        "another secret": sign(body, "not-the-secret"),
        "truncated": good[:-4],
        "truncated to one byte": good[:1],
        "signature of another body": sign(order_body(43)),
        "hex instead of base64": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "url-safe base64 without padding": base64.urlsafe_b64encode(
            hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode().rstrip("="),
        "empty": "",
        "padded with spaces inside": good[:20] + " " + good[20:],
        "non-ASCII": "é" * 44,
    }
    statuses = {name: send(service, WOO, body, woo_headers(body, signature=sig))
                for name, sig in cases.items()}
    statuses["missing"] = send(service, WOO, body, woo_headers(body, signature=None))
    # a delivery cannot pass as the unsigned ping by adding WooCommerce headers to a ping body
    ping = b"webhook_id=7"
    statuses["ping body with delivery headers"] = send(service, WOO, ping, woo_headers(ping, signature=None))
    print(f"signatures: {statuses}")
    assert set(statuses.values()) == {401}, statuses
    assert stored(path) == []
    # The log says why, never the signature, the secret or the body.
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "rejected WooCommerce delivery" in text
    for secret_like in (good, SECRET, "O'Brien", cases["another secret"]):
        assert secret_like not in text
    assert healthy(service)
    # the genuine one passes
    assert send(service, WOO, body, woo_headers(body)) == 200
    assert [r["resource_id"] for r in stored(path)] == ["42"]


# ------------------------------------------------------------------------------- sizes and framing


def test_huge_and_garbled_bodies_are_refused_without_storing(served) -> None:
    service, path = served
    huge = b'{"id": 1, "pad": "' + b"x" * (MAX_BODY * 4) + b'"}'
    statuses = {
        "declared too large": send(service, WOO, huge, woo_headers(huge)),
        "no Content-Length": send(service, WOO, order_body(), woo_headers(order_body()), content_length=None),
        "Content-Length not a number": send(service, WOO, order_body(), woo_headers(order_body()),
                                            content_length="12abc"),
        "negative Content-Length": send(service, WOO, order_body(), woo_headers(order_body()),
                                        content_length="-5"),
        "Content-Length larger than the body": send(service, WOO, order_body(), woo_headers(order_body()),
                                                    content_length=str(len(order_body()) + 50), timeout=2),
        "BC: declared too large": send(service, BC, b"[" * (5 * 1024 * 1024),
                                       {"Content-Type": "application/json"}),
    }
    print(f"framing: {statuses}")
    assert statuses["declared too large"] == 413
    assert statuses["no Content-Length"] in (400, 411)
    assert statuses["Content-Length not a number"] == 400
    assert statuses["negative Content-Length"] == 400
    assert statuses["Content-Length larger than the body"] in (0, 400, 408)  # never a 200
    assert statuses["BC: declared too large"] in (0, 413)  # refused (waitress may close the connection)
    assert stored(path) == []
    assert healthy(service)


def test_signed_but_hostile_bodies_are_kept_inert(served) -> None:
    """Signed by WooCommerce yet unreadable: stored for inspection with no resource id (the processor then
    falls back to the poll), never a crash, never a 5xx (7 failures in a row disable the webhook)."""
    service, path = served
    nested = b"[" * 30_000 + b"]" * 30_000  # far deeper than the JSON parser's recursion limit, < max_body
    nested_obj = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    bad_utf8 = b'{"id": 77, "name": "\xff\xfe\xc3\x28"}'
    injection = json.dumps({"id": "1; DROP TABLE inbox; --", "status": "x"}).encode()
    not_json = b"\x00\x01 definitely not json"
    statuses = {
        "nested arrays": send(service, WOO, nested, woo_headers(nested)),
        "nested objects": send(service, WOO, nested_obj, woo_headers(nested_obj)),
        "invalid UTF-8": send(service, WOO, bad_utf8, woo_headers(bad_utf8)),
        "SQL in the id": send(service, WOO, injection, woo_headers(injection)),
        "binary": send(service, WOO, not_json, woo_headers(not_json)),
        "no headers but the signature": send(service, WOO, order_body(5),
                                             {"X-WC-Webhook-Signature": sign(order_body(5))}),
    }
    odd_topic = woo_headers(order_body(6), topic="order.up\x01dated\x7f" + "x" * 5000)
    refused = send(service, WOO, order_body(6), odd_topic)
    print(f"hostile signed bodies: {statuses}; control characters in a header: {refused}")
    assert all(status == 200 for status in statuses.values()), statuses
    assert refused == 400  # waitress refuses the header itself
    rows = stored(path)
    by_body = {bytes(r["body"]): r for r in rows}
    for body in (nested, nested_obj, injection, not_json):
        assert by_body[body]["resource_id"] is None  # nothing to act on
    assert by_body[bad_utf8]["resource_id"] in (None, "77")
    assert by_body[order_body(5)]["resource_id"] == "5"
    assert all("signature" not in " ".join(r["headers"]).lower() for r in rows)
    with State(path) as state:  # the SQL text was a value, not a statement
        assert "inbox" in state.db.table_names() and len(state.inbox_list()) == len(rows)
    assert healthy(service)


def test_business_central_endpoint_hostile_input(served) -> None:
    service, path = served

    def post(payload: bytes) -> int:
        return send(service, BC, payload, {"Content-Type": "application/json"})

    entry = {"subscriptionId": "s1", "resource": "api/v2.0/companies(c)/items(i)", "changeType": "updated"}
    statuses = {
        "no clientState": post(json.dumps({"value": [entry]}).encode()),
        "wrong clientState": post(json.dumps({"value": [{**entry, "clientState": "guess"}]}).encode()),
        "clientState prefix": post(json.dumps({"value": [{**entry, "clientState": CLIENT_STATE[:-1]}]})
                                   .encode()),
        "clientState not a string": post(json.dumps({"value": [{**entry, "clientState": [CLIENT_STATE]}]})
                                         .encode()),
        "nested": post(b"[" * 200_000 + b"]" * 200_000),
        "invalid UTF-8": post(b'{"value": [\xff]}'),
        "value not a list": post(b'{"value": "x"}'),
        "lone surrogate clientState": post(b'{"value": [{"clientState": "\\ud800"}]}'),
    }
    print(f"BC endpoint: {statuses}")
    # 202 with nothing stored: a 4xx would make BC delete every subscription on the URL
    assert set(statuses.values()) == {202}, statuses
    assert stored(path) == []
    ok = post(json.dumps({"value": [{**entry, "clientState": CLIENT_STATE}]}).encode())
    rows = stored(path)
    assert ok == 202 and len(rows) == 1 and CLIENT_STATE.encode() not in bytes(rows[0]["body"])
    assert healthy(service)


# ------------------------------------------------------------------------- names, e-mails, SKUs end to end


@pytest.fixture
def e2e(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    yield from make_env(tmp_path, monkeypatch)


HOSTILE_SKUS = ["SKU WITH SPACE", "QUOTE'SKU", "SLASH/SKU", "AMP&SKU", "HASH#SKU", "PCT%20SKU", "PLUS+SKU",
                'DQ"SKU', "PAREN(1)"]
BUYERS = [
    # (first, last, e-mail)
    ("Sam", "O'Brien", "o'brien+shop@example.com"),
    ("Robert'); DROP TABLE records;--", "Tables", "bobby@example.com"),
    ("Eve", "x' or email ne 'y", "a+b@example.com"),
    ("Zoë", "Åström & Søn #1 50%", "zoe/shop@example.com"),
]


def test_metacharacters_flow_end_to_end_into_bc(e2e: E2E) -> None:
    for sku in HOSTILE_SKUS:
        e2e.woo.add_product(sku, f"Product {sku}", "5.00")
        e2e.bc.add_item(sku, f"Item {sku}", "5.00", 50)
    orders = []
    for index, (first, last, email) in enumerate(BUYERS):
        billing = {"first_name": first, "last_name": last, "email": email, "country": "US",
                   "address_1": "1 Main St", "city": "Portland", "state": "OR", "postcode": "97201"}
        lines = [{"sku": sku, "quantity": 1} for sku in HOSTILE_SKUS[index::2]]
        orders.append(e2e.woo.create_order(billing=billing, line_items=lines))
    # An injection attempt as a SKU: it names no BC item, so the order must fail on it, and must not
    # match MUG-001 or CAP-001 through the filter.
    trap = "MUG-001' or number eq 'CAP-001"
    e2e.woo.add_product(trap, "Trap", "1.00")
    trap_billing = {"first_name": "T", "last_name": "Rap", "email": "trap@example.com"}
    trap_order = e2e.woo.create_order(billing=trap_billing, line_items=[{"sku": trap, "quantity": 1}])
    customers_before = len(e2e.bc.customers())
    items_before = {i["number"]: i for i in e2e.bc.items()}
    code, out, err = e2e.cli("sync-orders")
    assert code == 1, out + err  # the trap order failed; the others went on
    assert f"order {trap_order['number']}" in out + err and "is not a BC item number" in out + err
    assert e2e.documents(trap_order["number"]) == []
    booked = {}
    for order, (first, last, email) in zip(orders, BUYERS, strict=True):
        (doc,) = e2e.documents(order["number"])
        items = [ln["lineObjectNumber"] for ln in doc["salesOrderLines"] if ln["lineType"] == "Item"]
        assert items == [line["sku"].upper() for line in order["line_items"]]
        customer = next(c for c in e2e.bc.customers() if c["number"] == doc["customerNumber"])
        assert customer["email"] == email
        assert customer["displayName"] == f"{first} {last}"
        booked[email] = doc["number"]
    assert len(e2e.bc.customers()) == customers_before + len(BUYERS)  # the trap created none
    assert {i["number"]: i for i in e2e.bc.items()} == items_before  # nothing changed in the catalog
    # A second order by each buyer finds the customer by e-mail (quotes, + and / survive the filter).
    again = [e2e.woo.create_order(billing=dict(o["billing"]), line_items=[{"sku": "MUG-001", "quantity": 1}])
             for o in orders]
    code, out, err = e2e.cli("sync-orders", *[f"--order={o['id']}" for o in again])
    assert code == 0, out + err
    for order, first_order in zip(again, orders, strict=True):
        (doc,) = e2e.documents(order["number"])
        (first_doc,) = e2e.documents(first_order["number"])
        assert doc["customerNumber"] == first_doc["customerNumber"]
    assert len(e2e.bc.customers()) == customers_before + len(BUYERS)
    # The state DB holds the names as values: its tables are intact and the journal is readable.
    code, out, err = e2e.cli("--json", "audit", f"order:{orders[1]['id']}")
    assert code == 0 and json.loads(out)["record"]["status"] == "done"
    print(f"metacharacters: {len(HOSTILE_SKUS)} SKUs, {len(BUYERS)} buyers booked and found again by e-mail; "
          f"the injection SKU failed as unknown; {len(e2e.bc.customers()) - customers_before} customers "
          "created")
