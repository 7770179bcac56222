"""Secrets stay secret: file modes, and no secret in any output, log line or byte of the state DB after the
whole demo, a failing sync and an auth failure under --debug; signature checks are constant-time."""

from __future__ import annotations

import base64
import contextlib
import hmac
import http.server
import inspect
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from rich.console import Console

import wcbc.ops.demo as demo_mod
from tests.e2e.conftest import E2E, make_env
from wcbc.core.logs import setup_logging
from wcbc.core.state import State
from wcbc.core.vault import Vault, generate_master_key
from wcbc.sandbox.stack import Sandbox
from wcbc.webhooks import app as server_mod
from wcbc.webhooks import bc as bc_webhooks
from wcbc.webhooks import woo as webhooks

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secret_forms(secrets: list[str], consumer_key: str, consumer_secret: str) -> dict[str, str]:
    """Each secret as it could leak: raw, percent-encoded, and the Basic auth header of the store keys."""
    forms: dict[str, str] = {}
    for index, value in enumerate(s for s in secrets if s):
        forms[f"secret{index}"] = value
        forms[f"secret{index} url-encoded"] = quote(value, safe="")
    basic = base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode()
    forms["basic auth"] = basic
    return forms


def leaks(forms: dict[str, str], texts: dict[str, str | bytes]) -> list[str]:
    found = []
    for where, text in texts.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        for name, value in forms.items():
            if value.encode() in data:
                found.append(f"{name} in {where}")
    return found


def db_bytes(state_path: Path) -> dict[str, bytes]:
    out = {}
    for suffix in ("", "-wal", "-journal"):
        path = state_path.with_name(state_path.name + suffix)
        if path.exists():
            out[path.name] = path.read_bytes()
    return out


@contextlib.contextmanager
def captured_logs(level: str = "debug") -> Iterator[io.StringIO]:
    """wcbc's own log handler (as the CLI installs it) writing into a buffer."""
    stream = io.StringIO()
    handler = setup_logging(level, "text", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


# ------------------------------------------------------------------------------- file modes


def test_vault_key_file_and_state_db_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    # Force the key file: no keyring backend, whatever another test in this worker left installed
    # (PYTHON_KEYRING_BACKEND is read only when keyring is first imported).
    monkeypatch.setattr("wcbc.core.vault.keys._usable_keyring", lambda: None)
    previous = os.umask(0o022)  # a permissive umask: 0600 must come from wcbc, not from the umask
    try:
        modes, state_path = _write_private_files(tmp_path)
    finally:
        os.umask(previous)
    print(f"modes: { {k: oct(v) for k, v in modes.items()} }, state dir {oct(mode(state_path.parent))}")
    assert set(modes.values()) == {0o600}, modes
    assert mode(state_path.parent) & 0o077 == 0


def _write_private_files(tmp_path: Path) -> tuple[dict[str, int], Path]:
    vault_path = tmp_path / "conf" / "vault.bin"
    vault = Vault.open(vault_path)
    vault.set("woo_consumer_secret", "cs_" + "a" * 40)
    assert vault.key_source == "file"
    key_path = vault_path.with_suffix(".key")
    state_path = tmp_path / "state" / "wcbc.db"
    with State(state_path) as state:
        state.journal("order:1", "received", {"x": 1})
        wal = state_path.with_name(state_path.name + "-wal")
        modes = {"vault": mode(vault_path), "key file": mode(key_path), "state db": mode(state_path)}
        if wal.exists():
            modes["state wal"] = mode(wal)
    vault.set("woo_consumer_key", "ck_" + "b" * 40)  # rewritten atomically: still 0600
    modes["vault after a rewrite"] = mode(vault_path)
    return modes, state_path


# ------------------------------------------------------------------------------- the whole demo


def test_demo_leaks_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WCBC_MASTER_KEY", generate_master_key())  # the demo sets its own; restored after
    started: list[Sandbox] = []

    class Recording(Sandbox):
        def start(self) -> Sandbox:
            started.append(self)
            return super().start()

    monkeypatch.setattr(demo_mod, "Sandbox", Recording)
    workdir = tmp_path / "demo"
    screen = io.StringIO()
    out, err = io.StringIO(), io.StringIO()
    with captured_logs("debug") as logs, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = demo_mod.run_demo(Console(file=screen, width=200, force_terminal=False), workdir)
    assert code == 0, screen.getvalue()[-3000:]
    (sandbox,) = started
    creds = sandbox.credentials
    vault = Vault.open(workdir / "vault.bin")
    secrets = [*vault.secrets(), creds.consumer_key, creds.consumer_secret, creds.webhook_secret,
               creds.client_secret, vault.get("bc_client_state") or ""]
    tokens = list(sandbox.tokens._tokens)
    assert tokens and vault.get("bc_client_state")
    forms = secret_forms(secrets + tokens, creds.consumer_key, creds.consumer_secret)
    texts: dict[str, str | bytes] = {"screen": screen.getvalue(), "stdout": out.getvalue(),
                                     "stderr": err.getvalue(), "logs": logs.getvalue()}
    texts.update(db_bytes(workdir / "state.db"))
    print(f"demo: {len(forms)} secret forms ({len(tokens)} bearer tokens) searched in "
          f"{ {k: len(v) for k, v in texts.items()} } characters/bytes")
    assert len(logs.getvalue()) > 1000 and "DEBUG" in logs.getvalue()  # the debug log really was captured
    assert leaks(forms, {"probe": f"x{tokens[0]}x"})  # the search does find a secret when there is one
    assert leaks(forms, texts) == []


# ------------------------------------------------------------------------------- failures under --debug


@pytest.fixture
def e2e(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    yield from make_env(tmp_path, monkeypatch)


def test_failing_sync_and_auth_failures_under_debug_leak_no_secret(
    e2e: E2E, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault.open(e2e.vault_path)
    vault.set("bc_client_state", "cs-state-" + "9" * 24)
    creds = e2e.sandbox.credentials
    e2e.woo.add_product("NOT-IN-BC", "Only in the store", "3.00")
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "NOT-IN-BC", "quantity": 1}])
    e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "MUG-001", "quantity": 1}])
    runs = {"failing sync": e2e.cli("--debug", "sync-orders")}
    runs["audit"] = e2e.cli("--debug", "--json", "audit", "order:17")
    runs["failures"] = e2e.cli("--debug", "failures")
    wrong_bc = "wrong-client-secret-" + "x" * 16
    monkeypatch.setenv("WCBC_BC_CLIENT_SECRET", wrong_bc)
    runs["BC auth failure"] = e2e.cli("--debug", "sync-orders", "--order", "18")
    monkeypatch.delenv("WCBC_BC_CLIENT_SECRET")
    wrong_woo = "cs_wrong" + "y" * 32
    monkeypatch.setenv("WCBC_WOO_CONSUMER_SECRET", wrong_woo)
    runs["WooCommerce auth failure"] = e2e.cli("--debug", "doctor")
    monkeypatch.delenv("WCBC_WOO_CONSUMER_SECRET")
    codes = {name: code for name, (code, _, _) in runs.items()}
    assert codes["failing sync"] == 1
    assert codes["BC auth failure"] == 3 and codes["WooCommerce auth failure"] == 3
    assert "NOT-IN-BC" in "".join(runs["failing sync"][1:])
    assert "AADSTS7000215" in runs["BC auth failure"][2]
    assert "Traceback" in runs["BC auth failure"][2]  # --debug really shows the traceback
    assert "DEBUG" in runs["BC auth failure"][2]  # ... and the debug log lines
    secrets = [*vault.secrets(), creds.client_secret, creds.consumer_secret, creds.consumer_key,
               creds.webhook_secret, wrong_bc, wrong_woo]
    tokens = list(e2e.sandbox.tokens._tokens)
    forms = secret_forms(secrets + tokens, creds.consumer_key, creds.consumer_secret)
    forms["wrong basic auth"] = base64.b64encode(f"{creds.consumer_key}:{wrong_woo}".encode()).decode()
    texts: dict[str, str | bytes] = {}
    for name, (_, out, err) in runs.items():
        texts[f"{name} stdout"] = out
        texts[f"{name} stderr"] = err
    texts.update(db_bytes(e2e.state_path))
    print(f"failures under --debug: exit codes {codes}; {len(forms)} secret forms searched in "
          f"{sum(len(v) for v in texts.values())} characters/bytes")
    assert leaks(forms, {"probe": f"..{wrong_bc}.."})  # the search does find a secret when there is one
    assert leaks(forms, texts) == []


# ------------------------------------------------------------------------------- constant-time compares


def test_signature_and_client_state_compares_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    secret = "whsec-" + "k" * 20
    body = b'{"id": 5}'
    good = webhooks.compute_signature(body, secret)
    webhooks.verify_signature(body, good, secret)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_signature(body, webhooks.compute_signature(b'{"id": 6}', secret), secret)
    digests = [pair for pair in calls if len(pair[0]) == 32 and len(pair[1]) == 32]
    assert len(digests) >= 2  # both the match and the mismatch went through hmac.compare_digest
    source = inspect.getsource(webhooks.verify_signature)
    assert "compare_digest" in source and "== given" not in source and "given ==" not in source

    # The BC clientState is compared the same way (webhooks/bc.py), entry by entry.
    calls.clear()
    monkeypatch.setattr(bc_webhooks.hmac, "compare_digest", spy)
    app = server_mod.make_app(state=_NullState(), secret_provider=lambda: {"bc_client_state": "expected"},
                              max_body=10_000)
    payload = json.dumps({"value": [{"clientState": "guess", "resource": "x", "changeType": "updated"}]})
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/business-central",
               "CONTENT_LENGTH": str(len(payload)), "wsgi.input": io.BytesIO(payload.encode())}
    status: list[str] = []
    app(environ, lambda s, h: status.append(s))
    assert status == ["202 Accepted"]
    assert calls == [(b"guess", b"expected")]


class _NullState:
    """A State stand-in that must not be written to (nothing is stored for a wrong clientState)."""

    def inbox_backlog(self, source: str | None = None) -> int:
        return 0

    def inbox_add(self, *args: object, **kwargs: object) -> int:
        raise AssertionError("nothing may be stored")


# ------------------------------------------------------------------------------- an upstream echoing headers


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """A store that answers every call 401 and echoes the request's headers, as some proxies and
    debugging plugins do (JSON, and a PHP $_SERVER dump inside it)."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[-1]
        url_safe = base64.urlsafe_b64encode(base64.b64decode(token)).decode().rstrip("=") if token else ""
        body = json.dumps({
            "code": "rest_forbidden",
            "message": f"Sorry, you are not allowed to do that with {token} (that is {url_safe}).",
            "data": {"status": 401, "headers": {k.lower(): [v] for k, v in self.headers.items()},
                     "debug": f"Array\n(\n    [HTTP_AUTHORIZATION] => {auth}\n)",
                     "token": token},
        }).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_upstream_echoing_the_authorization_header_leaks_nothing(e2e: E2E) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        text = e2e.config_path.read_text()
        text = re.sub(r'(?m)^url = "https://127\.0\.0\.1:\d+"$', f'url = "http://127.0.0.1:{server.server_port}"\n'
                      "allow_http = true", text, count=1)
        e2e.config_path.write_text(text)
        with captured_logs("debug") as logs:
            runs = {"sync-orders": e2e.cli("--debug", "sync-orders"), "doctor": e2e.cli("--debug", "doctor"),
                    "json doctor": e2e.cli("--json", "doctor"), "status": e2e.cli("status")}
    finally:
        server.shutdown()
        server.server_close()
    creds = e2e.sandbox.credentials
    pair = f"{creds.consumer_key}:{creds.consumer_secret}".encode()
    basic = base64.b64encode(pair).decode()
    forms = secret_forms([creds.consumer_key, creds.consumer_secret], *pair.decode().split(":", 1))
    forms["basic auth, url-safe, unpadded"] = base64.urlsafe_b64encode(pair).decode().rstrip("=")
    forms["basic auth, first half"] = basic[: len(basic) // 2]
    texts: dict[str, str | bytes] = {"logs": logs.getvalue()}
    for name, (_, out, err) in runs.items():
        texts[f"{name} stdout"] = out
        texts[f"{name} stderr"] = err
    texts.update(db_bytes(e2e.state_path))
    with State(e2e.state_path) as state:
        texts["run summaries"] = json.dumps(state.last_runs(), default=str)
    codes = {name: code for name, (code, _, _) in runs.items()}
    assert codes["sync-orders"] != 0 and codes["doctor"] != 0  # the echoing store really answered
    everything = "".join(str(v) for v in texts.values())
    assert "you are not allowed to do that with ***" in everything  # the echoed message was shown, masked
    assert leaks(forms, {"probe": f"Authorization: Basic {basic}"})  # the search finds the credential
    assert leaks(forms, texts) == []


# ------------------------------------------------------------------------------- refused files: CLI exit 2


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wcbc", *args], capture_output=True, text=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("WCBC_")}, **env})


def _minimal_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[woocommerce]\nurl = "https://shop.example.com"\n[business_central]\ntenant_id = "contoso.com"\n'
        'environment = "Production"\ncompany_id = "11111111-2222-3333-4444-555555555555"\nclient_id = "abc"\n'
        f'[state]\npath = "{tmp_path / "wcbc.db"}"\n'
    )
    return path


def test_key_file_open_to_others_stops_the_cli_with_exit_2(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    monkeypatch.setattr("wcbc.core.vault.keys._usable_keyring", lambda: None)
    config = _minimal_config(tmp_path)
    Vault.open(tmp_path / "vault.bin").set("woo_consumer_key", "ck_" + "c" * 40)
    key_file = tmp_path / "vault.key"
    key_file.chmod(0o644)
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = _cli("--config", str(config), "credentials", "show", env=env)
    assert result.returncode == 2, result.stderr
    assert str(key_file) in result.stderr and "chmod 600" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    key_file.chmod(0o600)
    assert _cli("--config", str(config), "credentials", "show", env=env).returncode == 0


def test_damaged_or_copied_state_file_stops_the_cli_with_exit_2(tmp_path: Path) -> None:
    config = _minimal_config(tmp_path)
    env = {"WCBC_MASTER_KEY": generate_master_key(), "WCBC_HOST_ID": "this-host"}
    with State(tmp_path / "wcbc.db") as state:  # used by another host a minute ago
        state.db.execute("UPDATE hosts SET host_id = 'other-host'")
    result = _cli("--config", str(config), "status", env=env)
    assert result.returncode == 2, result.stderr
    assert "in use elsewhere" in result.stderr and "host id other-host" in result.stderr  # same name: ids
    assert "--take-over" in result.stderr and "internal error" not in result.stderr

    with State(tmp_path / "wcbc.db", take_over=True) as state:
        with state.batch():
            for n in range(300):
                state.record_put(f"order:{n}", "order", str(n), "done", data={"pad": "x" * 400})
        state.db.execute("UPDATE meta SET value = '2000-01-01T00:00:00.000000Z' WHERE key = 'quick_check_at'")
    path = tmp_path / "wcbc.db"
    pages = path.stat().st_size // 4096
    with open(path, "r+b") as fh:  # a damaged page in the middle of the file
        fh.seek(4096 * (pages // 2))
        fh.write(bytes(range(256)) * 16)
    result = _cli("--config", str(config), "status", env=env)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr and "damaged" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
