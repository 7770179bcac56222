"""`wcbc serve` over real HTTP: waitress on 127.0.0.1 port 0, a real State, the real recorded deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from wcbc.core.errors import RecordError
from wcbc.core.state import State
from wcbc.ops.demo import wait_until as wait_for
from wcbc.sync.common.cursors import SERVE_LAST_PROCESSED as LAST_PROCESSED_CURSOR
from wcbc.webhooks.app import make_app
from wcbc.webhooks.service import Service, inbox_processor

RECORDED = Path(__file__).parents[1] / "fixtures" / "contracts" / "woocommerce" / "real-store" / "webhooks"
INDEX = json.loads((RECORDED / "index.json").read_text())
WOO_SECRETS = list(INDEX["webhook_secrets"].values())
CLIENT_STATE = "cs-3f8a1c0e9b7d4e2a"
WOO = "/webhooks/woocommerce"
BC = "/webhooks/business-central"


# ----------------------------------------------------------------------------- helpers


def recorded(seq: int) -> tuple[list[tuple[str, str]], bytes]:
    meta = json.loads((RECORDED / f"{seq:04d}.json").read_text())
    return [(k, v) for k, v in meta["headers"]], (RECORDED / f"{seq:04d}.body").read_bytes()


def sign(body: bytes, secret: str = WOO_SECRETS[0]) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woo_headers(body: bytes, topic: str = "order.updated",
                signature: str | None = "auto") -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json"), ("X-WC-Webhook-Topic", topic),
               ("X-WC-Webhook-Resource", topic.split(".")[0]), ("X-WC-Webhook-Event", topic.split(".")[1]),
               ("X-WC-Webhook-ID", "1"), ("X-WC-Webhook-Delivery-ID", "0" * 32)]
    if signature == "auto":
        headers.append(("X-WC-Webhook-Signature", sign(body)))
    elif signature is not None:
        headers.append(("X-WC-Webhook-Signature", signature))
    return headers


def raw_request(url: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None,
                *, content_length: str | None = "auto") -> tuple[int, dict[str, str], bytes]:
    """Send exactly these headers in this order (recorded Host/Content-Length kept when present)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        names = {k.lower() for k, _ in headers}
        if "host" not in names:
            conn.putheader("Host", f"{parts.hostname}:{parts.port}")
        for name, value in headers:
            if name.lower() == "content-length" and content_length != "auto":
                continue
            conn.putheader(name, value)
        if content_length == "auto" and "content-length" not in names and body is not None:
            conn.putheader("Content-Length", str(len(body)))
        elif content_length not in ("auto", None):
            conn.putheader("Content-Length", str(content_length))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def post_woo(url: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> int:
    status, _, _ = raw_request(url, "POST", WOO, woo_headers(body) if headers is None else headers, body)
    return status


def bc_entry(resource: str = "api/v2.0/companies(c1)/items(i1)", change: str = "updated",
             client_state: str | None = CLIENT_STATE) -> dict[str, Any]:
    entry: dict[str, Any] = {"subscriptionId": "a" * 32, "expirationDateTime": "2026-12-01T00:00:00Z",
                             "resource": resource, "changeType": change,
                             "lastModifiedDateTime": "2026-11-28T10:00:00Z"}
    if client_state is not None:
        entry["clientState"] = client_state
    return entry


def all_rows(state: State, source: str = "woocommerce") -> list[dict]:
    """Every pending row, via an atomic claim by a throw-away test worker."""
    return state.inbox_claim(source, limit=1000, worker="test-inspector", lease_seconds=600)


# ----------------------------------------------------------------------------- fixtures


class Recorder:
    """A processor fake: records every call and every row it handles."""

    def __init__(self, fail_on: set[str] | None = None) -> None:
        self.calls = 0
        self.rows: list[dict] = []
        self.fail_on = fail_on or set()
        self.lock = threading.Lock()

    def handle(self, state: State, row: dict) -> None:
        with self.lock:
            self.rows.append(row)
        if row.get("resource_id") in self.fail_on:
            raise RecordError("cannot book this one")

    def processor(self, worker: str = "serve-test") -> Callable[[State], dict]:
        inner = inbox_processor({"woocommerce": self.handle, "business_central": self.handle}, worker=worker)

        def process(state: State) -> dict:
            with self.lock:
                self.calls += 1
            return inner(state)

        return process


@pytest.fixture()
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture()
def state(state_path: Path) -> Iterator[State]:
    s = State(state_path)
    yield s
    s.close()


def secrets(woo: Any = WOO_SECRETS, bc: str | None = CLIENT_STATE) -> Callable[[], dict]:
    return lambda: {"woo_webhook_secret": woo, "bc_client_state": bc}


@pytest.fixture()
def make_service(state_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def factory(**kwargs: Any) -> Service:
        kwargs.setdefault("secret_provider", secrets())
        kwargs.setdefault("processor", None)
        kwargs.setdefault("interval", 3600.0)
        kwargs.setdefault("workers", 2)
        service = Service(state_factory=lambda: State(state_path), host="127.0.0.1", port=0, **kwargs)
        started.append(service)  # stopped at teardown even if it never answers
        service.start()
        assert wait_for(lambda: _answers(service.url), 20), "the service did not answer /healthz"
        return service

    yield factory
    errors = []
    for service in started:  # every one is stopped, whatever another's stop raised
        try:
            service.stop()
        except Exception as exc:  # noqa: BLE001 - raised below, after the others are stopped
            errors.append(exc)
    if errors:
        raise errors[0]


def _answers(url: str) -> bool:
    """The service's event loop is running: it answers (a new connection on its own, closed at once)."""
    try:
        with requests.get(url + "/healthz", timeout=2) as response:
            return response.status_code > 0  # any answer: a test may start it with a broken state
    except requests.RequestException:
        return False


@pytest.fixture()
def service(make_service: Callable[..., Service]) -> Service:
    return make_service()


# ----------------------------------------------------------------------------- WooCommerce


def test_every_recorded_request_byte_for_byte(service: Service, state: State) -> None:
    for entry in INDEX["deliveries"]:
        headers, body = recorded(entry["seq"])
        status, _, _ = raw_request(service.url, "POST", WOO, headers, body)
        assert status == 200, entry["seq"]
    rows = all_rows(state)
    signed = [e for e in INDEX["deliveries"] if e["kind"] == "delivery"]
    assert len(rows) == len(signed) == 18  # the 10 pings are answered, not stored
    by_body = {bytes(r["body"]): r for r in rows}
    for entry in signed:
        _, body = recorded(entry["seq"])
        row = by_body[body]
        assert row["topic"] == entry["topic"]
        assert row["resource_id"] == str(json.loads(body)["id"])
        headers = row["headers"] if isinstance(row["headers"], dict) else json.loads(row["headers"])
        assert "x-wc-webhook-signature" not in {k.lower() for k in headers}
        assert entry["signature_header"] not in json.dumps(headers)


def test_ping_answers_exactly_200_and_stores_nothing(service: Service, state: State) -> None:
    headers, body = recorded(1)
    status, _, reply = raw_request(service.url, "POST", WOO, headers, body)
    assert status == 200
    assert state.inbox_backlog() == 0


def test_wrong_secret_is_refused(make_service: Callable[..., Service], state: State) -> None:
    service = make_service(secret_provider=secrets(woo=WOO_SECRETS[0]))
    headers, body = recorded(28)  # signed with webhook 4's secret
    assert raw_request(service.url, "POST", WOO, headers, body)[0] == 401
    headers, body = recorded(2)  # webhook 1
    assert raw_request(service.url, "POST", WOO, headers, body)[0] == 200
    assert state.inbox_backlog() == 1


def test_forged_deliveries_are_refused_and_logged_without_body(
    service: Service, state: State, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body = recorded(2)
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 0x20
    truncated = body[:-1]
    sig = next(v for k, v in headers if k == "X-WC-Webhook-Signature")
    hex_sig = hmac.new(WOO_SECRETS[0].encode(), body, hashlib.sha256).hexdigest()
    no_sig = [(k, v) for k, v in headers if k != "X-WC-Webhook-Signature"]
    hex_headers = [(k, hex_sig if k == "X-WC-Webhook-Signature" else v) for k, v in headers]
    with caplog.at_level(logging.WARNING, logger="wcbc.server"):
        assert raw_request(service.url, "POST", WOO, headers, bytes(flipped))[0] == 401
        cut = str(len(truncated))
        status = raw_request(service.url, "POST", WOO, headers, truncated, content_length=cut)[0]
        assert status == 401
        assert raw_request(service.url, "POST", WOO, no_sig, body)[0] == 401
        assert raw_request(service.url, "POST", WOO, hex_headers, body)[0] == 401
        # a ping-looking body with WooCommerce headers is not a ping
        assert post_woo(service.url, b"webhook_id=1", woo_headers(b"webhook_id=1", signature=None)) == 401
    assert state.inbox_backlog() == 0
    rejected = [r for r in caplog.records if "rejected WooCommerce delivery" in r.getMessage()]
    assert len(rejected) == 5 and all(r.levelno == logging.WARNING for r in rejected)
    assert "Jane" not in caplog.text and sig not in caplog.text and WOO_SECRETS[0] not in caplog.text


def test_replayed_delivery_is_answered_but_stored_once(service: Service, state: State) -> None:
    headers, body = recorded(3)
    for _ in range(3):
        assert raw_request(service.url, "POST", WOO, headers, body)[0] == 200
    assert state.inbox_backlog() == 1


def test_same_body_with_created_and_updated_topics_is_two_deliveries(service: Service, state: State) -> None:
    body = b'{"id":77,"status":"processing"}'
    assert post_woo(service.url, body, woo_headers(body, "order.created")) == 200
    assert post_woo(service.url, body, woo_headers(body, "order.updated")) == 200
    assert sorted(r["topic"] for r in all_rows(state)) == ["order.created", "order.updated"]


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"\xff\xfe\xfa invalid utf-8", b"[" * 50_000 + b"]" * 50_000,
     b'{"code":"woocommerce_rest_cannot_view","message":"Sorry","data":{"status":401}}'],
    ids=["text", "bad-utf8", "deep", "error-body"],
)
def test_signed_but_unreadable_body_is_stored_and_answered_200(service: Service, state: State,
                                                               body: bytes) -> None:
    assert post_woo(service.url, body) == 200
    (row,) = all_rows(state)
    assert row["resource_id"] is None and bytes(row["body"]) == body


def test_body_limits(make_service: Callable[..., Service], state: State) -> None:
    service = make_service(max_body=1000)
    headers, body = recorded(2)  # 3469 bytes
    assert raw_request(service.url, "POST", WOO, headers, body)[0] == 413
    small = b'{"id":5}'
    assert raw_request(service.url, "POST", WOO, woo_headers(small), small, content_length=None)[0] == 411
    assert state.inbox_backlog() == 0
    assert post_woo(service.url, small) == 200


def test_ten_megabyte_body_is_refused_and_the_service_survives(service: Service, state: State) -> None:
    parts = urlsplit(service.url)
    head = (f"POST {WOO} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-WC-Webhook-Signature: {sign(b'x')}\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(head)
        try:
            sock.sendall(b"{" * (1024 * 1024))
        except OSError:
            pass  # the server may close before reading it all
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except OSError:
            pass
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    assert state.inbox_backlog() == 0
    assert requests.get(service.url + "/healthz", timeout=10).status_code == 200


def test_garbage_and_missing_headers_never_crash(service: Service, state: State) -> None:
    parts = urlsplit(service.url)
    for raw in (b"POST /webhooks/woocommerce HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                b"POST /webhooks/woocommerce HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                b"POST /webhooks/woocommerce HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\xff\xfe\x00",
                b"\xff\xfe garbage request line\r\n\r\n",
                b"POST /webhooks/business-central HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
                b"\x00\x01\x02\x03"):
        with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
            sock.sendall(raw)
            reply = sock.recv(65536)
        assert reply.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4", b"HTTP/1.1 202")), reply[:60]
    assert state.inbox_backlog() == 0
    assert requests.get(service.url + "/healthz", timeout=10).json()["status"] == "ok"


def test_no_secret_configured_refuses_everything(make_service: Callable[..., Service], state: State,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    service = make_service(secret_provider=secrets(woo=None))
    headers, body = recorded(2)
    with caplog.at_level(logging.ERROR, logger="wcbc.server"):
        assert raw_request(service.url, "POST", WOO, headers, body)[0] == 401
    assert "no webhook secret" in caplog.text
    assert state.inbox_backlog() == 0


def test_concurrent_deliveries_are_all_stored(service: Service, state: State) -> None:
    bodies = [json.dumps({"id": n, "status": "processing"}).encode() for n in range(1, 31)]
    statuses: list[int] = []

    def send(body: bytes) -> None:
        statuses.append(post_woo(service.url, body))

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 30
    assert sorted(int(r["resource_id"]) for r in all_rows(state)) == list(range(1, 31))


# ----------------------------------------------------------------------------- backlog


def test_backlog_full_is_503_with_retry_after(make_service: Callable[..., Service], state: State) -> None:
    service = make_service(max_backlog=1)
    assert post_woo(service.url, b'{"id":1}') == 200
    status, headers, _ = raw_request(service.url, "POST", WOO, woo_headers(b'{"id":2}'), b'{"id":2}')
    assert status == 503 and int(headers["retry-after"]) > 0
    body = json.dumps({"value": [bc_entry()]}).encode()
    status, headers, _ = raw_request(service.url, "POST", BC, [("Content-Type", "application/json")], body)
    assert status == 503 and "retry-after" in headers
    assert state.inbox_backlog() == 1
    # forged requests are still refused as forged, not as "busy"
    assert raw_request(service.url, "POST", WOO, woo_headers(b'{"id":3}', signature=sign(b"x")),
                       b'{"id":3}')[0] == 401


# ----------------------------------------------------------------------------- Business Central


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_bc_handshake_echoes_the_token(service: Service, state: State, method: str) -> None:
    status, headers, body = raw_request(service.url, method, BC + "?validationToken=Ab%2Bc%20d%3D%3D",
                                        [], b"" if method == "POST" else None,
                                        content_length="0" if method == "POST" else None)
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert body == b"Ab+c d=="
    assert state.inbox_backlog() == 0


def test_bc_notifications_are_stored_without_client_state(service: Service, state: State) -> None:
    entries = [bc_entry("api/v2.0/companies(c1)/items(i1)", "updated"),
               bc_entry("api/v2.0/companies(c1)/items?$filter=lastModifiedDateTime%20gt%202026-11-28",
                        "collection")]
    body = json.dumps({"value": entries}).encode()
    status, _, _ = raw_request(service.url, "POST", BC, [("Content-Type", "application/json"),
                                                          ("clientRequestId", "r-1")], body)
    assert status == 202
    rows = all_rows(state, "business_central")
    expected = [(e["changeType"], e["resource"]) for e in entries]
    assert [(r["topic"], r["resource_id"]) for r in rows] == expected
    for row in rows:
        assert CLIENT_STATE.encode() not in bytes(row["body"])
        assert json.loads(bytes(row["body"]))["subscriptionId"] == "a" * 32


def test_bc_wrong_client_state_is_202_and_stores_nothing(
    service: Service, state: State, caplog: pytest.LogCaptureFixture
) -> None:
    bad = json.dumps({"value": [bc_entry(client_state="guess"), bc_entry(client_state=None)]}).encode()
    with caplog.at_level(logging.WARNING, logger="wcbc.server"):
        status, _, _ = raw_request(service.url, "POST", BC, [("Content-Type", "application/json")], bad)
    assert status == 202
    assert state.inbox_backlog() == 0
    assert "wrong or missing clientState" in caplog.text and "guess" not in caplog.text


def test_bc_mixed_batch_keeps_only_ours(service: Service, state: State) -> None:
    entries = [bc_entry("r/ours"), bc_entry("r/theirs", client_state="old-install")]
    body = json.dumps({"value": entries}).encode()
    assert raw_request(service.url, "POST", BC, [], body)[0] == 202
    assert [r["resource_id"] for r in all_rows(state, "business_central")] == ["r/ours"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xff", b'{"value": 5}', b"[]",
                                  b'{"value":[1,"x",null]}', b"[" * 100_000])
def test_bc_malformed_is_202_and_stores_nothing(service: Service, state: State, body: bytes) -> None:
    assert raw_request(service.url, "POST", BC, [("Content-Type", "application/json")], body)[0] == 202
    assert state.inbox_backlog() == 0


def test_bc_without_configured_client_state_stores_nothing(make_service: Callable[..., Service],
                                                          state: State) -> None:
    service = make_service(secret_provider=secrets(bc=None))
    body = json.dumps({"value": [bc_entry()]}).encode()
    assert raw_request(service.url, "POST", BC, [], body)[0] == 202
    assert state.inbox_backlog() == 0


# ----------------------------------------------------------------------------- routes and health


def test_routes_and_methods(service: Service) -> None:
    assert requests.get(service.url + "/", timeout=10).status_code == 404
    assert requests.post(service.url + "/webhooks/other", data=b"x", timeout=10).status_code == 404
    response = requests.get(service.url + WOO, timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert requests.get(service.url + BC, timeout=10).status_code == 405
    assert requests.delete(service.url + "/healthz", timeout=10).status_code == 405
    assert requests.post(service.url + WOO + "/", data=b"webhook_id=3", timeout=10).status_code == 200


def test_healthz(service: Service, state: State) -> None:
    assert post_woo(service.url, b'{"id":1}') == 200
    response = requests.get(service.url + "/healthz", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert data["status"] == "ok" and data["backlog"] == 1
    assert data["last_processed_at"] is None  # no processor ran yet
    assert isinstance(data["oldest_pending_age_s"], float) and data["oldest_pending_age_s"] >= 0
    assert requests.head(service.url + "/healthz", timeout=10).status_code == 200


def test_healthz_oldest_pending_age(state: State, state_path: Path) -> None:
    old = State(state_path, clock=lambda: datetime.now(UTC) - timedelta(hours=2))
    old.inbox_add("woocommerce", "order.updated", "1", b'{"id":1}', {})
    old.close()
    app = make_app(state=state, secret_provider=secrets())
    seen: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}, lambda s, h: seen.append(s)))
    data = json.loads(body)
    assert seen == ["200 OK"] and data["backlog"] == 1
    assert 7000 < data["oldest_pending_age_s"] < 7300


# ----------------------------------------------------------------------------- the worker


def test_worker_drains_after_each_store(make_service: Callable[..., Service], state: State) -> None:
    recorder = Recorder()
    service = make_service(processor=recorder.processor())
    assert wait_for(lambda: recorder.calls >= 1)  # the start-up round
    headers, body = recorded(2)
    assert raw_request(service.url, "POST", WOO, headers, body)[0] == 200
    assert wait_for(lambda: len(recorder.rows) == 1)
    assert recorder.rows[0]["resource_id"] == "16"
    assert wait_for(lambda: state.inbox_backlog() == 0)
    health = requests.get(service.url + "/healthz", timeout=10).json()
    assert health["backlog"] == 0 and health["worker"] == "running"
    assert wait_for(lambda: state.cursor_get(LAST_PROCESSED_CURSOR) is not None)


def test_failed_row_does_not_stop_the_others(make_service: Callable[..., Service], state: State) -> None:
    recorder = Recorder(fail_on={"2"})
    service = make_service(processor=recorder.processor())
    for n in (1, 2, 3):
        assert post_woo(service.url, json.dumps({"id": n}).encode()) == 200
    assert wait_for(lambda: {r["resource_id"] for r in recorder.rows} == {"1", "2", "3"})
    assert wait_for(lambda: state.inbox_backlog() == 0)


def test_processor_crash_is_survived(make_service: Callable[..., Service], state: State) -> None:
    calls: list[int] = []

    def explode(s: State) -> dict:
        calls.append(1)
        raise RuntimeError("boom")

    service = make_service(processor=explode)
    assert wait_for(lambda: len(calls) >= 1)  # the start-up round
    assert post_woo(service.url, b'{"id":9}') == 200
    assert wait_for(lambda: len(calls) >= 2)  # woken by the store, despite the earlier crash
    assert requests.get(service.url + "/healthz", timeout=10).json()["last_error"] == "RuntimeError"
    assert post_woo(service.url, b'{"id":10}') == 200


def test_crash_mid_processing_leaves_row_claimable_after_lease(
    make_service: Callable[..., Service], state: State, state_path: Path
) -> None:
    # a run that is still working holds a claim within its lease: it must not be taken over
    state.inbox_add("woocommerce", "order.updated", "42", b'{"id":42}', {})
    (live,) = state.inbox_claim("woocommerce", limit=10, worker="cron-still-running", lease_seconds=300)
    # a cron run claimed this row ten minutes ago with a five-minute lease, and died before finishing it
    state.inbox_add("woocommerce", "order.updated", "41", b'{"id":41}', {})
    cron = State(state_path, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    (claimed,) = cron.inbox_claim("woocommerce", limit=10, worker="cron-that-died", lease_seconds=300)
    cron.close()
    assert claimed["resource_id"] == "41"
    recorder = Recorder()
    service = make_service(processor=recorder.processor(), interval=0.2)
    assert wait_for(lambda: [r["id"] for r in recorder.rows] == [claimed["id"]])
    assert wait_for(lambda: state.inbox_get(claimed["id"])["status"] == "done")
    assert state.inbox_get(live["id"])["status"] == "claimed"  # never taken from the live claimant
    assert service.runs >= 1


def test_restart_with_backlog_loses_nothing(make_service: Callable[..., Service], state_path: Path) -> None:
    first = make_service()  # no processor: deliveries pile up
    for n in range(1, 8):
        assert post_woo(first.url, json.dumps({"id": n}).encode()) == 200
    body = json.dumps({"value": [bc_entry("r/x")]}).encode()
    assert raw_request(first.url, "POST", BC, [], body)[0] == 202
    first.stop()
    recorder = Recorder()
    make_service(processor=recorder.processor())
    assert wait_for(lambda: len(recorder.rows) == 8)
    assert sorted(r["resource_id"] for r in recorder.rows) == ["1", "2", "3", "4", "5", "6", "7", "r/x"]
    check = State(state_path)
    try:
        assert wait_for(lambda: check.inbox_backlog() == 0)
    finally:
        check.close()


# ----------------------------------------------------------------------------- the WSGI app alone


def test_make_app_with_a_shared_state(state: State) -> None:
    stored: list[int] = []
    app = make_app(state=state, secret_provider=secrets(), max_body=10_000, max_backlog=10,
                   on_stored=lambda: stored.append(1))
    body = b'{"id":12}'
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": WOO, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": __import__("io").BytesIO(body), "REMOTE_ADDR": "1.2.3.4",
               "HTTP_X_WC_WEBHOOK_TOPIC": "order.created", "HTTP_X_WC_WEBHOOK_SIGNATURE": sign(body)}
    seen: list[str] = []
    result = b"".join(app(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"] and json.loads(result) == {"status": "stored"}
    assert stored == [1]
    (row,) = all_rows(state)
    assert row["topic"] == "order.created" and row["resource_id"] == "12"


def test_stop_ends_the_server_when_its_trigger_pipe_is_gone(make_service: Callable[..., Service]) -> None:
    service = make_service()
    server, thread = service._server, service._server_thread
    assert server is not None and thread is not None and thread.is_alive()

    def gone(thunk: object = None) -> None:
        raise OSError(9, "Bad file descriptor")

    server.trigger.pull_trigger = gone  # as when waitress' loop already closed the trigger's pipe
    service.stop(timeout=5)  # no OSError: the sockets are closed from here and the loop ends
    assert not thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(service.url + "/healthz", timeout=2)
