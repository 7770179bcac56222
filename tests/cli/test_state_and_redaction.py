"""The CLI's one error->message place: a full or broken state DB exits 2 naming the file; every printed
error, `--json` output and the run summary stored in the state DB go through the redactor."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import E2E
from wcbc.core.errors import AuthError
from wcbc.core.state import State


class FullState(State):
    """A State on a disk that is full: the file may not grow by a single page, and the pages of the
    ``runs`` table are filled up, so the first thing every command writes (its run row) hits a real
    SQLITE_FULL, exactly as on a full disk."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {pages}")
        for _ in range(10_000):  # bounded: a 4 KiB page holds a few dozen of these rows
            try:
                self.db.conn.execute("INSERT INTO runs (command, started_at) VALUES ('filler', '2026')")
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                return
        raise AssertionError("the capped file never filled up")


def test_a_full_disk_exits_2_naming_the_state_file(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wcbc.ops.context.State", FullState)
    code, out, err = e2e.cli("sync-orders")
    assert code == 2, out + err
    assert str(e2e.state_path) in err
    assert "internal error" not in err and "Traceback" not in err


def test_a_raw_sqlite_error_from_any_path_is_exit_2_with_the_file(
    e2e: E2E, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(State, "run_start", broken)
    code, out, err = e2e.cli("sync-orders")
    assert code == 2
    assert f"state file {e2e.state_path}" in err and "readonly" in err
    assert "disk full" in err  # the hint says where to look


def echoed(e2e: E2E) -> tuple[str, list[str]]:
    """An upstream's error text that echoes our request: the Authorization header, the key and secret."""
    creds = e2e.sandbox.credentials.secrets()
    key, secret = creds["woo_consumer_key"], creds["woo_consumer_secret"]
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    text = f"upstream said: your request had Authorization: Basic {basic}; consumer_key={key} {secret}"
    return text, [key, secret, basic]


def test_an_echoing_upstream_leaks_nothing_to_stderr_json_or_the_run_summary(
    e2e: E2E, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, secrets = echoed(e2e)

    def fail(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AuthError(text, system="woocommerce", hint=f"check {secrets[1]}")

    monkeypatch.setattr("wcbc.sync.orders.sync.OrderSync.run", fail)
    for args in (("sync-orders",), ("--json", "sync-orders"), ("--debug", "sync-orders")):
        code, out, err = e2e.cli(*args)
        assert code == 3, out + err
        assert "upstream said" in err
        for value in secrets:
            assert value not in out + err, (args, value)
    code, out, _ = e2e.cli("--json", "status")
    summary = json.loads(out)["last_runs"]["sync-orders"]
    assert summary["outcome"] == "error" and "upstream said" in json.dumps(summary)
    raw = e2e.state_path.read_bytes() + (e2e.state_path.parent / (e2e.state_path.name + "-wal")).read_bytes()
    for value in secrets:
        assert value.encode() not in raw


def test_printed_json_and_tables_are_redacted(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from wcbc.cli import output
    from wcbc.cli.common import OPTS
    from wcbc.core.redact import Redactor

    monkeypatch.setattr(OPTS, "redactor", Redactor(["s3cret-value-123"]))
    monkeypatch.setattr(OPTS, "json", True)
    output.emit("t", [("a", "b")], {"error": "token=abcdef123456 and s3cret-value-123"})
    printed = capsys.readouterr().out
    assert "s3cret-value-123" not in printed and "abcdef123456" not in printed
    assert json.loads(printed)["error"].startswith("token=***")
    monkeypatch.setattr(OPTS, "json", False)
    output.failures_table([{"id": "order:1", "status": "failed", "attempts": 1, "updated_at": "now",
                            "last_error": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig " * 3}])
    table = capsys.readouterr().out
    assert "eyJhbGciOiJIUzI1NiJ9" not in table


def test_alerts_are_redacted_on_stderr_and_in_what_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from wcbc.cli import output, webhooks
    from wcbc.cli.common import OPTS
    from wcbc.core.redact import Redactor

    sent: list[str] = []
    monkeypatch.setattr("wcbc.adapters.alerts.send_alert", lambda config, subject, body: sent.append(body))
    monkeypatch.setattr(OPTS, "redactor", Redactor(["whsec-very-secret-1"]))
    monkeypatch.setattr(output.err, "file", io.StringIO())
    ctx = type("Ctx", (), {"config": type("Config", (), {"alerts": None})()})()
    webhooks.alert_problems(ctx, ["webhook disabled: delivery_url had secret whsec-very-secret-1"])
    printed = output.err.file.getvalue()  # type: ignore[attr-defined]
    assert "whsec-very-secret-1" not in printed + "".join(sent)
    assert "delivery_url had secret ***" in sent[0]
