"""Hostile clients over real sockets, for the serve tests: connections that stay idle, or drip a request's
headers or body one byte at a time. Every loop is bounded: the clients stop by themselves after
``duration`` seconds (or at :meth:`Hostile.stop`) and close their sockets."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

MODES = ("idle", "headers", "body")


@dataclass
class _Client:
    sock: socket.socket
    mode: str
    pending: bytes
    opened_at: float
    closed_at: float | None = None


@dataclass
class Hostile:
    """``count`` connections to ``host:port`` in ``mode``; one byte per connection every ``interval`` s."""

    host: str
    port: int
    count: int
    mode: str = "idle"
    interval: float = 0.5
    duration: float = 30.0
    clients: list[_Client] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(self.mode)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _request(self) -> bytes:
        head = (f"POST /webhooks/woocommerce HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Content-Type: application/json\r\nX-WC-Webhook-Topic: order.updated\r\n")
        if self.mode == "headers":
            return (head + "X-Padding: " + "a" * 4000 + "\r\n\r\n").encode()
        if self.mode == "body":
            return (head + "Content-Length: 100000\r\n\r\n").encode()
        return b""

    def start(self) -> Hostile:
        """Open every connection (the kernel accepts them even when the server does not), then drip."""
        for _ in range(self.count):
            sock = socket.create_connection((self.host, self.port), timeout=5)
            sock.setblocking(False)
            client = _Client(sock, self.mode, self._request(), time.monotonic())
            if self.mode == "body":  # the headers at once, then the body byte by byte
                self._send(client, len(client.pending))
                client.pending = b"{" * 100_000
            self.clients.append(client)
        self._thread = threading.Thread(target=self._run, name=f"hostile-{self.mode}", daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _closed(client: _Client) -> bool:
        """Whether the server closed the connection: recv gives b"" (FIN) or raises (RST)."""
        if client.closed_at is None:
            try:
                if client.sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    client.closed_at = time.monotonic()
            except BlockingIOError:
                pass
            except OSError:
                client.closed_at = time.monotonic()
        return client.closed_at is not None

    def _send(self, client: _Client, size: int) -> None:
        if self._closed(client) or not client.pending:
            return
        try:
            sent = client.sock.send(client.pending[:size])
        except BlockingIOError:
            return
        except OSError:
            client.closed_at = time.monotonic()
            return
        client.pending = client.pending[sent:]

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration
        while not self._stop.is_set() and time.monotonic() < deadline:
            for client in self.clients:
                self._send(client, 1)
            self._stop.wait(self.interval)
        self._close()

    def _close(self) -> None:
        for client in self.clients:
            try:
                client.sock.close()
            except OSError:
                pass

    def poll(self) -> None:
        """Update which connections the server closed (without sending anything)."""
        for client in self.clients:
            self._closed(client)

    def dropped(self) -> int:
        """How many connections the server has closed so far."""
        return sum(1 for c in self.clients if c.closed_at is not None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        else:
            self._close()

    def __enter__(self) -> Hostile:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
