"""Plumbing shared by the three simulators: TLS, an HTTP server, routing and fault knobs.

This module (like all of wcbc.sandbox) imports nothing from the rest of wcbc: the simulators
must never share a helper with the clients they are testing.

An *app* is any object with::

    def handle(self, request: Request) -> Response
    def fault_response(self, status: int, retry_after: int | None) -> Response

``fault_response`` renders an injected 429/500/503 in the service's own error shape.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TLSFiles:
    """A CA certificate (hand it to clients) and a server certificate/key signed by it."""

    ca_path: Path
    cert_path: Path
    key_path: Path


def generate_ca(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TLSFiles:
    """Create a throw-away CA and a server certificate for ``hosts`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wcbc sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key_path.chmod(0o600)
    return files


# --------------------------------------------------------------------------- requests


class Headers:
    """Case-insensitive header lookup that keeps wire order."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for key, value in self.items:
            if key.lower() == lname:
                return value
        return default

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


@dataclass
class Request:
    method: str
    path: str  # without the query string, percent-decoding NOT applied
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    scheme: str = "https"
    client: str = "127.0.0.1"
    raw_query: str = ""
    params: dict[str, str] = field(default_factory=dict)  # filled by the Router from the pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(
    status: int, obj: Any, headers: list[tuple[str, str]] | None = None, *, content_type: str | None = None
) -> Response:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hdrs = [("Content-Type", content_type or "application/json; charset=UTF-8")]
    hdrs.extend(headers or [])
    return Response(status, body, hdrs)


Handler = Callable[[Request], Response]


class Router:
    """Regex routes. Patterns use ``(?P<name>...)`` groups; they land in ``request.params``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        for method in methods.split("|"):
            self._routes.append((method.upper(), re.compile(f"^{pattern}$"), handler))

    def match(self, request: Request) -> tuple[Handler | None, bool]:
        """(handler, path_known): path_known tells a 405-ish miss from a 404."""
        path_known = False
        for method, regex, handler in self._routes:
            m = regex.match(request.path)
            if not m:
                continue
            path_known = True
            if method == request.method:
                request.params = {k: v for k, v in m.groupdict().items() if v is not None}
                return handler, True
        return None, path_known


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Knobs a test or the demo turns at start or at run time (thread-safe enough: plain attributes).

    Shares are probabilities in [0, 1], drawn per request from ``seed``.
    """

    latency: float = 0.0  # seconds added to every request
    share_429: float = 0.0
    retry_after: int | None = 1  # Retry-After seconds on an injected 429; None sends no header
    share_500: float = 0.0
    share_503: float = 0.0
    share_drop: float = 0.0  # close the connection without answering
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """Return "drop", "429", "500", "503" or None for this request."""
        with self._lock:
            roll = self._rng.random()
            edge = 0.0
            for name, share in (
                ("drop", self.share_drop),
                ("429", self.share_429),
                ("500", self.share_500),
                ("503", self.share_503),
            ):
                edge += share
                if roll < edge:
                    self.injected[name] = self.injected.get(name, 0) + 1
                    return name
        return None

    def reset(self) -> None:
        self.latency = 0.0
        self.share_429 = self.share_500 = self.share_503 = self.share_drop = 0.0
        self.retry_after = 1


class App(Protocol):
    faults: Faults

    def handle(self, request: Request) -> Response: ...

    def fault_response(self, status: int, retry_after: int | None) -> Response: ...


# --------------------------------------------------------------------------- server


class _DropConnection(Exception):
    pass


def _make_handler(app: App, scheme: str) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "wcbc-sandbox"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK stall every response by about 40 ms on loopback.
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # quiet: tests and the demo read the admin API, not access logs

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            if len(body) < length:
                raise _DropConnection  # the client went away mid-body: a real server never handles it
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=Headers(list(self.headers.items())),
                body=body,
                scheme=scheme,
                client=self.client_address[0],
                raw_query=parts.query,
            )
            faults = app.faults
            admin = request.path.startswith("/__admin/")  # the knobs themselves are never faulted
            if faults.latency and not admin:
                time.sleep(faults.latency)
            fault = None if admin else faults.draw()
            if fault == "drop":
                raise _DropConnection
            if fault is not None:
                status = int(fault)
                response = app.fault_response(status, faults.retry_after if status == 429 else None)
            else:
                try:
                    response = app.handle(request)
                except _DropConnection:
                    raise
                except Exception as exc:  # a simulator bug must still answer, loudly
                    response = app.fault_response(500, None)
                    response.headers.append(("X-Sandbox-Error", type(exc).__name__))
                    import traceback

                    traceback.print_exc()
            self.send_response(response.status)
            has_length = False
            for key, value in response.headers:
                if key.lower() == "content-length":
                    has_length = True
                self.send_header(key, value)
            if not has_length:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except _DropConnection:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            except (ConnectionError, ssl.SSLError, TimeoutError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SandboxServer:
    """Runs one app over HTTPS (or plain HTTP when ``tls`` is None) on a background thread."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0, tls: TLSFiles | None) -> None:
        self.app = app
        self.scheme = "https" if tls else "http"
        self._httpd = _Server((host, port), _make_handler(app, self.scheme))
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls.cert_path), str(tls.key_path))
            # The TLS handshake runs in each request's own thread (on its first read), not in accept():
            # one slow or broken client must not stall the whole server.
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.host, self.port = self._httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Clock:
    """An injectable clock: tests and the demo move time forward (subscription expiry, tokens)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._offset)

    def time(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
