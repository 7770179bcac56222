"""BC simulator webhooks: handshake on create and renewal, expiry, merged notifications, collection,
deletion on 4xx, retries then deletion after the 6th consecutive failure.
Receiver: plain http on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.contracts import BC_EXAMPLES as EXAMPLES  # noqa: E402
from wcbc.sandbox.bc.testing import BCSandbox, run_bc_sandbox


class Receiver:
    """Echoes validationToken; answers notifications with ``status`` (or the next of ``statuses``)."""

    def __init__(self) -> None:
        self.handshakes: list[tuple[str, bytes]] = []
        self.notifications: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.statuses: list[int] = []
        self.echo_token = True
        self.lock = threading.Lock()
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token:
                    receiver.handshakes.append((self.command, body))
                    reply = token[0].encode() if receiver.echo_token else b"nope"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    return
                with receiver.lock:
                    receiver.notifications.append(json.loads(body))
                    receiver.headers.append(dict(self.headers.items()))
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                receiver.event.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def values(self) -> list[dict]:
        return [v for n in self.notifications for v in n["value"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rx() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sbx(tmp_path: Path) -> Iterator[BCSandbox]:
    with run_bc_sandbox(tmp_path, webhook_delay=0.2, retry_scale=0.0005) as sandbox:
        yield sandbox


def subscribe(
    sbx: BCSandbox, s: requests.Session, url: str, entity: str = "items", state: str = "s3cret"
) -> dict:
    r = s.post(
        f"{sbx.base_url}/subscriptions",
        json={
            "notificationUrl": url,
            "resource": f"/api/v2.0/companies({sbx.company_id})/{entity}",
            "clientState": state,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_create_handshake_shape_and_get(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    sub = subscribe(sbx, s, rx.url)
    assert rx.handshakes == [("POST", b"")]
    ex = json.loads((EXAMPLES / "post-subscription-response.json").read_text())
    assert set(ex) <= set(sub)
    assert sub["clientState"] == "s3cret" and sub["notificationUrl"] == rx.url
    assert len(sub["subscriptionId"]) == 32
    expires = sub["expirationDateTime"]
    now = sbx.bc.clock.now()
    assert (
        expires.endswith("Z")
        and expires[:10] == (now.date().fromordinal(now.date().toordinal() + 3)).isoformat()
    )
    r = s.get(f"{sbx.base_url}/subscriptions('{sub['subscriptionId']}')")
    assert r.status_code == 200 and r.json()["subscriptionId"] == sub["subscriptionId"]
    assert s.get(f"{sbx.base_url}/subscriptions({sub['subscriptionId']})").status_code == 400
    assert [x["subscriptionId"] for x in s.get(f"{sbx.base_url}/subscriptions").json()["value"]] == [
        sub["subscriptionId"]
    ]


def test_handshake_failure_and_bad_resource(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    rx.echo_token = False
    r = s.post(
        f"{sbx.base_url}/subscriptions",
        json={"notificationUrl": rx.url, "resource": f"/api/v2.0/companies({sbx.company_id})/items"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "Application_DialogException"
    assert sbx.bc.subscriptions() == []
    rx.echo_token = True
    for resource in (
        f"/api/v2.0/companies({sbx.company_id})/salesOrderLines",
        "items",
        "/api/v2.0/companies(00000000-0000-0000-0000-000000000001)/items",
    ):
        r = s.post(f"{sbx.base_url}/subscriptions", json={"notificationUrl": rx.url, "resource": resource})
        assert r.status_code in (400, 404), (resource, r.text)
    dead = "http://127.0.0.1:9/hook"
    r = s.post(
        f"{sbx.base_url}/subscriptions",
        json={"notificationUrl": dead, "resource": f"/api/v2.0/companies({sbx.company_id})/items"},
    )
    assert r.status_code == 400


def test_renewal_repeats_handshake_and_needs_if_match(
    sbx: BCSandbox, s: requests.Session, rx: Receiver
) -> None:
    sub = subscribe(sbx, s, rx.url)
    url = f"{sbx.base_url}/subscriptions('{sub['subscriptionId']}')"
    assert s.patch(url, json={}).status_code == 400
    sbx.bc.clock.advance(2 * 86400)
    s = sbx.session()  # the clock moved past the token lifetime too
    r = s.patch(url, json={"clientState": "new"}, headers={"If-Match": sub["@odata.etag"]})
    assert r.status_code == 200, r.text
    assert len(rx.handshakes) == 2
    assert r.json()["expirationDateTime"] > sub["expirationDateTime"]
    assert r.json()["clientState"] == "new"
    sbx.bc.clock.advance(3 * 86400 + 1)
    assert sbx.session().get(url).status_code == 404
    assert sbx.bc.subscriptions() == []


def test_notifications_merged_per_url_with_client_state(
    sbx: BCSandbox, s: requests.Session, rx: Receiver
) -> None:
    items_sub = subscribe(sbx, s, rx.url, "items", "st-items")
    cust_sub = subscribe(sbx, s, rx.url, "customers", "st-cust")
    sbx.bc.set_price("MUG-001", 13)
    sbx.bc.set_price("MUG-001", 14)  # merged into one `updated`
    cust = sbx.bc.add_customer("New Buyer", "new@example.test")
    sbx.bc.move_stock("CAP-001", -3, "Negative Adjmt.")  # no notification: stock is not an item change
    assert sbx.bc.flush_notifications(5)
    assert len(rx.notifications) == 1
    values = rx.values()
    ex = json.loads((EXAMPLES / "webhook-notification.json").read_text())["value"][0]
    for v in values:
        assert list(v) == list(ex)
    by_sub = {v["subscriptionId"]: v for v in values}
    mug_id = next(i["id"] for i in sbx.bc.items() if i["number"] == "MUG-001")
    item_note = by_sub[items_sub["subscriptionId"]]
    assert item_note["changeType"] == "updated" and item_note["clientState"] == "st-items"
    assert item_note["resource"] == f"/api/v2.0/companies({sbx.company_id})/items({mug_id})"
    assert by_sub[cust_sub["subscriptionId"]]["changeType"] == "created"
    assert cust["id"] in by_sub[cust_sub["subscriptionId"]]["resource"]
    assert len(values) == 2
    hdr = {k.lower(): v for k, v in rx.headers[0].items()}
    assert hdr["content-type"].startswith("application/json")
    assert hdr["clientrequestid"] == hdr["x-ms-correlation-id"]


def test_document_notifications_post_and_ship(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    subscribe(sbx, s, rx.url, "salesInvoices")
    order_sub = subscribe(sbx, s, rx.url, "salesOrders")
    cust = sbx.bc.customers()[0]["number"]
    order = s.post(
        f"{sbx.company_url}/salesOrders",
        json={
            "customerNumber": cust,
            "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 1}],
        },
    ).json()
    assert sbx.bc.flush_notifications(5)
    assert [(v["changeType"]) for v in rx.values()] == ["created"]
    s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert sbx.bc.flush_notifications(5)
    last = rx.notifications[-1]["value"]
    kinds = sorted((v["subscriptionId"] == order_sub["subscriptionId"], v["changeType"]) for v in last)
    assert kinds == [(False, "created"), (True, "deleted")]


def test_collection_above_threshold(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    sbx.bc.webhooks.collection_threshold = 3
    sub = subscribe(sbx, s, rx.url, "items")
    for number in ("MUG-001", "CAP-001", "HOODIE-S"):
        sbx.bc.set_price(number, 1)
    assert sbx.bc.flush_notifications(5)
    (note,) = rx.values()
    assert note["changeType"] == "collection"
    assert note["resource"].startswith(sub["resource"] + "?$filter=lastModifiedDateTime%20gt%20")


def test_4xx_deletes_every_subscription_with_that_url(
    sbx: BCSandbox, s: requests.Session, rx: Receiver
) -> None:
    subscribe(sbx, s, rx.url, "items")
    subscribe(sbx, s, rx.url, "customers")
    rx.status = 410
    sbx.bc.set_price("MUG-001", 2)
    assert sbx.bc.flush_notifications(5)
    assert sbx.bc.subscriptions() == []
    assert sbx.bc.deliveries()[-1]["outcome"] == "deleted"


def test_retry_then_delivered(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    subscribe(sbx, s, rx.url, "items")
    rx.statuses = [503, 429]
    sbx.bc.set_price("MUG-001", 2)
    assert sbx.bc.flush_notifications(5)
    assert [d["outcome"] for d in sbx.bc.deliveries()] == ["retry", "retry", "delivered"]
    assert len(sbx.bc.subscriptions()) == 1
    assert rx.notifications[0] == rx.notifications[2]


def test_deleted_after_sixth_consecutive_failure(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    sbx.bc.webhooks.retry_scale = 0.00002
    subscribe(sbx, s, rx.url, "items")
    rx.status = 500
    sbx.bc.set_price("MUG-001", 2)
    assert sbx.bc.flush_notifications(10)
    outcomes = [d["outcome"] for d in sbx.bc.deliveries()]
    assert outcomes == ["retry"] * 5 + ["deleted"]
    assert sbx.bc.subscriptions() == []


def test_expired_subscription_stops_notifying(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    subscribe(sbx, s, rx.url, "items")
    sbx.bc.clock.advance(3 * 86400 + 5)
    sbx.bc.set_price("MUG-001", 2)
    assert sbx.bc.flush_notifications(2)
    assert rx.notifications == []
    assert sbx.bc.subscriptions() == []
