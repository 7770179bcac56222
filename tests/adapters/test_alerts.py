"""Alerts over a real local SMTP server (STARTTLS + AUTH) and a real local HTTP receiver."""

from __future__ import annotations

import base64
import logging
import socketserver
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.adapters.receiver import Receiver as _Receiver
from tests.adapters.receiver import serving
from wcbc.adapters.alerts import ping_heartbeat, send_alert
from wcbc.core.config import AlertsConfig
from wcbc.sandbox.core import TLSFiles, generate_ca

Alerts = AlertsConfig  # the real [alerts] section: send_alert reads only its attributes


# ----------------------------------------------------------------------------- a minimal SMTP server


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: TLSFiles | None, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.tls = tls
        self.password = password
        self.messages: list[dict] = []
        self.logins: list[tuple[str, bool]] = []  # (user, over TLS)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client refusing our certificate is expected in one test


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: _SMTPServer

    def _send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        tls_on = False
        mail_from = ""
        rcpts: list[str] = []
        self._send("220 test.local ESMTP")
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                caps = ["test.local"]
                if self.server.tls and not tls_on:
                    caps.append("STARTTLS")
                caps += ["AUTH PLAIN", "8BITMIME"]
                for cap in caps[:-1]:
                    self._send(f"250-{cap}")
                self._send(f"250 {caps[-1]}")
            elif verb == "STARTTLS" and self.server.tls:
                self._send("220 go ahead")
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(self.server.tls.cert_path, self.server.tls.key_path)
                self.connection = ctx.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                tls_on = True
            elif verb == "AUTH":
                _, _, initial = arg.partition(" ")
                _, user, password = base64.b64decode(initial).decode().split("\0")
                self.server.logins.append((user, tls_on))
                self._send("235 ok" if password == self.server.password else "535 bad credentials")
            elif verb == "MAIL":
                mail_from = arg.split(":", 1)[1].strip().split(" ")[0].strip("<>")
                self._send("250 ok")
            elif verb == "RCPT":
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                self._send("250 ok")
            elif verb == "DATA":
                self._send("354 end with .")
                data = b""
                while True:
                    chunk = self.rfile.readline(1 << 20)
                    if chunk in (b".\r\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append({"from": mail_from, "to": rcpts, "data": data, "tls": tls_on})
                self._send("250 queued")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("250 ok")


@pytest.fixture()
def tls(tmp_path: Path) -> TLSFiles:
    return generate_ca(tmp_path / "ca")


@pytest.fixture()
def smtp(tls: TLSFiles) -> Iterator[_SMTPServer]:
    server = _SMTPServer(tls, password="s3cret-pw")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------- a local HTTP receiver


@pytest.fixture()
def receiver() -> Iterator[_Receiver]:
    with serving() as server:
        yield server


# ----------------------------------------------------------------------------- tests


def test_email_over_starttls_with_login(smtp: _SMTPServer, tls: TLSFiles) -> None:
    cfg = Alerts(email_to="ops@example.test, boss@example.test", smtp_host="127.0.0.1",
                 smtp_port=smtp.server_address[1], smtp_user="wcbc@example.test")
    sent = send_alert(cfg, "wcbc: 3 orders on hold", "Order 16 failed: unknown SKU X",
                      verify=str(tls.ca_path), env={"WCBC_SMTP_PASSWORD": "s3cret-pw"})
    assert sent == ["email:ops@example.test,boss@example.test"]
    assert smtp.logins == [("wcbc@example.test", True)]
    (msg,) = smtp.messages
    assert msg["tls"] is True
    assert msg["to"] == ["ops@example.test", "boss@example.test"]
    parsed = message_from_bytes(msg["data"])
    assert parsed["Subject"] == "wcbc: 3 orders on hold"
    assert "unknown SKU X" in parsed.get_payload(decode=True).decode()


def test_email_refused_by_untrusted_certificate_is_logged_not_raised(
    smtp: _SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Alerts(email_to="ops@example.test", smtp_host="127.0.0.1", smtp_port=smtp.server_address[1],
                 smtp_user="u")
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        assert send_alert(cfg, "s", "b", verify=True, env={"WCBC_SMTP_PASSWORD": "s3cret-pw"}) == []
    assert smtp.logins == [] and smtp.messages == []
    assert "failed" in caplog.text and "s3cret-pw" not in caplog.text


def test_wrong_password_is_logged_without_the_password(
    smtp: _SMTPServer, tls: TLSFiles, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Alerts(email_to="ops@example.test", smtp_host="127.0.0.1", smtp_port=smtp.server_address[1],
                 smtp_user="u")
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        sent = send_alert(cfg, "s", "b", verify=str(tls.ca_path), env={"WCBC_SMTP_PASSWORD": "wrong-pw"})
    assert sent == [] and smtp.messages == []
    assert "SMTPAuthenticationError" in caplog.text and "wrong-pw" not in caplog.text


def test_password_comes_from_environment_only(smtp: _SMTPServer, tls: TLSFiles,
                                              caplog: pytest.LogCaptureFixture) -> None:
    cfg = Alerts(email_to="ops@example.test", smtp_host="127.0.0.1", smtp_port=smtp.server_address[1],
                 smtp_user="u")
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        assert send_alert(cfg, "s", "b", verify=str(tls.ca_path), env={}) == []
    assert "WCBC_SMTP_PASSWORD" in caplog.text
    assert smtp.messages == []


def test_no_password_over_plaintext_to_a_remote_host(caplog: pytest.LogCaptureFixture) -> None:
    cfg = Alerts(email_to="ops@example.test", smtp_host="smtp.example.test", smtp_port=25,
                 smtp_user="u", smtp_starttls=False)
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        assert send_alert(cfg, "s", "b", env={"WCBC_SMTP_PASSWORD": "pw"}) == []
    assert "without STARTTLS" in caplog.text


def test_plain_local_relay_without_login(tmp_path: Path) -> None:
    server = _SMTPServer(None, password="")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        cfg = Alerts(email_to="ops@example.test", smtp_host="127.0.0.1", smtp_port=server.server_address[1],
                     smtp_starttls=False, email_from="wcbc@shop.test")
        assert send_alert(cfg, "subject\nwith newline", "body", env={}) == ["email:ops@example.test"]
        (msg,) = server.messages
        assert msg["from"] == "wcbc@shop.test" and msg["tls"] is False
        assert message_from_bytes(msg["data"])["Subject"] == "subject with newline"
    finally:
        server.shutdown()
        server.server_close()


def test_chat_webhook_posts_text(receiver: _Receiver) -> None:
    cfg = Alerts(webhook_url=receiver.url + "/services/T000/B000/XXXXSECRET")
    sent = send_alert(cfg, "wcbc: webhooks disabled", "WooCommerce disabled webhook 3")
    assert sent == ["webhook:127.0.0.1"]
    (post,) = receiver.posts
    assert post["type"] == "application/json"
    assert post["json"] == {"text": "wcbc: webhooks disabled\n\nWooCommerce disabled webhook 3"}


def test_chat_webhook_failure_is_logged_without_the_url(receiver: _Receiver,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    receiver.status = 500
    cfg = Alerts(webhook_url=receiver.url + "/hook/SECRETTOKEN")
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        assert send_alert(cfg, "s", "b") == []
    assert "HTTP 500" in caplog.text and "SECRETTOKEN" not in caplog.text


def test_unreachable_everything_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    # port 9 on loopback: nothing listens (connection refused)
    cfg = Alerts(email_to="a@b.test", smtp_host="127.0.0.1", smtp_port=9, smtp_starttls=False,
                 webhook_url="http://127.0.0.1:9/x")
    with caplog.at_level(logging.ERROR, logger="wcbc.alerts"):
        assert send_alert(cfg, "s", "b", timeout=2, env={}) == []
    assert caplog.text.count("failed") >= 2


def test_both_channels(smtp: _SMTPServer, tls: TLSFiles, receiver: _Receiver) -> None:
    cfg = Alerts(email_to="ops@example.test", smtp_host="127.0.0.1", smtp_port=smtp.server_address[1],
                 webhook_url=receiver.url + "/x")
    assert send_alert(cfg, "s", "b", verify=str(tls.ca_path), env={}) == [
        "email:ops@example.test", "webhook:127.0.0.1"]


def test_nothing_configured_sends_nothing() -> None:
    assert send_alert(Alerts(), "s", "b") == []


def test_heartbeat(receiver: _Receiver) -> None:
    assert ping_heartbeat(Alerts(heartbeat_url=receiver.url + "/ping/abc")) is True
    assert receiver.gets == ["/ping/abc"]
    receiver.status = 404
    assert ping_heartbeat(Alerts(heartbeat_url=receiver.url + "/ping/abc")) is False
    assert ping_heartbeat(Alerts()) is False


def test_alert_urls_never_reach_the_http_logs(receiver: _Receiver, caplog: pytest.LogCaptureFixture) -> None:
    """Chat and heartbeat go through HttpClient, labelled by host: their paths (tokens) are not logged."""
    with caplog.at_level(logging.DEBUG, logger="wcbc"):
        assert ping_heartbeat(Alerts(heartbeat_url=receiver.url + "/ping/HEARTBEATTOKEN")) is True
        sent = send_alert(Alerts(webhook_url=receiver.url + "/hook/CHATTOKEN"), "s", "b")
    assert sent == ["webhook:127.0.0.1"]
    assert "heartbeat on 127.0.0.1" in caplog.text and "alert webhook on 127.0.0.1" in caplog.text
    assert "HEARTBEATTOKEN" not in caplog.text and "CHATTOKEN" not in caplog.text
    assert receiver.gets == ["/ping/HEARTBEATTOKEN"] and receiver.posts[0]["path"] == "/hook/CHATTOKEN"
