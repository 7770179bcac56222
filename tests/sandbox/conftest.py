"""Fixtures for the WooCommerce simulator tests (all named woo_*)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.contracts import CONTRACTS  # noqa: E402
from wcbc.sandbox.bc.testing import BCSandbox, run_bc_sandbox
from wcbc.sandbox.core import SandboxServer, TLSFiles, generate_ca
from wcbc.sandbox.woo.app import WooStore

REAL_STORE = CONTRACTS / "woocommerce" / "real-store"
if not REAL_STORE.exists():  # pragma: no cover - alternative checkout layouts
    REAL_STORE = Path(__file__).resolve().parents[3] / "shared" / "contracts" / "woocommerce" / "real-store"

CK = "ck_" + "a" * 40
CS = "cs_" + "b" * 40
RO_CK = "ck_" + "c" * 40
RO_CS = "cs_" + "d" * 40


class Receiver:
    """A webhook listener on a random loopback port that records raw requests in wire order.

    ``rules[path] = {"ping": status, "json": status}`` picks the answer (default 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.rules: dict[str, dict[str, int]] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                ctype = self.headers.get("Content-Type") or ""
                kind = "ping" if "form" in ctype else "json"
                status = receiver.rules.get(self.path, {}).get(kind, 200)
                with receiver._cond:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "kind": kind,
                            "headers": list(self.headers.items()),
                            "body": body,
                            "status": status,
                            "version": self.request_version,
                        }
                    )
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def of(self, path: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [
                r
                for r in self.requests
                if (path is None or r["path"] == path) and (kind is None or r["kind"] == kind)
            ]

    def wait_for(self, count: int, timeout: float = 5.0, **filters: Any) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.of(**filters)) < count and time.monotonic() < deadline:
                self._cond.wait(0.05)
        return self.of(**filters)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Api:
    """A tiny REST caller for the tests (Basic auth over HTTPS, the CA of the sandbox)."""

    def __init__(self, base: str, verify: str, auth: tuple[str, str] | None) -> None:
        self.base = base.rstrip("/") + "/wp-json/wc/v3"
        self.session = requests.Session()
        self.verify = verify  # passed per call: REQUESTS_CA_BUNDLE would override a session-level verify
        self.session.auth = auth

    def call(
        self, method: str, path: str, *, json_body: Any = None, auth: Any = "default", **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        if auth != "default":  # a session would put its own auth back when auth=None
            return requests.request(method, self.base + path, json=json_body, timeout=30, auth=auth, **kwargs)
        return self.session.request(method, self.base + path, json=json_body, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def woo_tls(tmp_path: Path) -> TLSFiles:
    return generate_ca(tmp_path / "woo-tls")


@pytest.fixture
def woo_store() -> Iterator[WooStore]:
    store = WooStore(
        consumer_keys={CK: (CS, "read_write"), RO_CK: (RO_CS, "read")},
        webhook_delay=0.05,
        delivery_timeout=5.0,
    )
    yield store
    store.close()


@pytest.fixture
def woo_server(woo_store: WooStore, woo_tls: TLSFiles) -> Iterator[SandboxServer]:
    server = SandboxServer(woo_store, tls=woo_tls).start()
    woo_store.base_url = server.url
    yield server
    server.stop()


@pytest.fixture
def woo_api(woo_server: SandboxServer, woo_tls: TLSFiles) -> Api:
    return Api(woo_server.url, str(woo_tls.ca_path), (CK, CS))


@pytest.fixture
def woo_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def woo_recorded() -> Callable[[str], tuple[dict[str, Any], bytes]]:
    """name -> (meta, body bytes) of a recorded REST exchange."""

    def load(name: str) -> tuple[dict[str, Any], bytes]:
        meta = json.loads((REAL_STORE / "rest" / f"{name}.meta.json").read_text())
        return meta, (REAL_STORE / "rest" / meta["body_file"]).read_bytes()

    return load


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_mismatches(actual: Any, recorded: Any, path: str = "$") -> list[str]:
    """Every place where keys (and their order) or JSON types differ; arrays compared element-wise."""
    problems: list[str] = []
    if _json_type(actual) != _json_type(recorded):
        return [f"{path}: {_json_type(actual)} != recorded {_json_type(recorded)}"]
    if isinstance(recorded, dict):
        if list(actual) != list(recorded):
            problems.append(f"{path}: keys {list(actual)} != recorded {list(recorded)}")
        for key in recorded:
            if key in actual:
                problems += shape_mismatches(actual[key], recorded[key], f"{path}.{key}")
    elif isinstance(recorded, list):
        for i, (a, r) in enumerate(zip(actual, recorded, strict=False)):
            problems += shape_mismatches(a, r, f"{path}[{i}]")
    return problems


@pytest.fixture
def woo_shape() -> Callable[[Any, Any], list[str]]:
    return shape_mismatches


class Kit:
    """Constants and helper classes for test modules (conftest cannot be imported by name reliably)."""

    CK, CS, RO_CK, RO_CS = CK, CS, RO_CK, RO_CS
    REAL_STORE = REAL_STORE
    Receiver = Receiver
    Api = Api
    shape_mismatches = staticmethod(shape_mismatches)


@pytest.fixture(scope="session")
def woo_kit() -> type[Kit]:
    return Kit


# ----------------------------------------------------------------------------- the BC simulator


@pytest.fixture
def sbx(tmp_path: Path) -> Iterator[BCSandbox]:
    """Entra + BC simulators over HTTPS with a sample company (a module may override it with options)."""
    with run_bc_sandbox(tmp_path) as sandbox:
        yield sandbox


@pytest.fixture
def s(sbx: BCSandbox) -> requests.Session:
    """A session with a bearer token for ``sbx``."""
    return sbx.session()
