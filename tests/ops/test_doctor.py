"""`wcbc doctor`: the clock check (skew against WooCommerce's and BC's Date headers), warnings, and every
detail and hint passed through the redactor."""

from __future__ import annotations

import json
import re
import time
from email.utils import formatdate
from types import SimpleNamespace

import pytest

from tests.e2e.conftest import E2E
from wcbc.adapters.http.client import skew_from
from wcbc.core.state import HOST_ID_ENV, State
from wcbc.ops.clock import Skew, skew_of, verdict
from wcbc.ops.doctor import Check, Warn, _attempt


def checks_of(out: str) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(out)}


# ----------------------------------------------------------------------------- the clock, pure


def test_skew_is_the_date_header_against_the_middle_of_the_request() -> None:
    now = 1_800_000_000.0
    assert skew_from((formatdate(now + 300, usegmt=True), now, now + 1.0)) == 300.0
    assert skew_from((formatdate(now - 400, usegmt=True), now, now)) == -399.5
    assert skew_from(None) is None
    assert skew_from(("not a date", now, now)) is None
    assert skew_from(("Mon, 07 Dec 2026 16:00:00", now, now)) is None  # no zone: not trusted
    client = SimpleNamespace(http=SimpleNamespace(clock_skew=lambda: 12.0))
    assert skew_of("store", client) == Skew("store", 12.0)
    assert skew_of("store", None) == Skew("store", None)  # a client the checks never built


def test_verdict_warns_above_half_the_overlap() -> None:
    ok, detail, hint = verdict([Skew("WooCommerce", 149.0), Skew("Business Central", None)], 300)
    assert ok and hint is None
    assert "WooCommerce +149 s" in detail and "Business Central: not measured" in detail
    assert "±150 s" in detail
    ok, detail, hint = verdict([Skew("WooCommerce", -151.0), Skew("Business Central", 2.0)], 300)
    assert not ok and "WooCommerce -151 s" in detail
    assert hint is not None and "timedatectl" in hint and "overlap_seconds above 362" in hint


def test_a_warning_passes_and_keeps_exit_code_0() -> None:
    def warns() -> str:
        raise Warn("clock 200 s off", "fix it")

    check = _attempt("clock", warns)
    assert (check.ok, check.warning, check.result, check.hint) == (True, True, "warn", "fix it")
    assert Check("x", True, "fine").result == "pass" and Check("x", False, "bad").result == "FAIL"


# ----------------------------------------------------------------------------- doctor on the sandbox


def test_doctor_measures_both_clocks_and_passes_when_they_agree(e2e: E2E) -> None:
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 0, out + err
    clock = checks_of(out)["clock"]
    assert clock["result"] == "pass"
    assert re.search(r"WooCommerce [+-][01] s", clock["detail"]), clock["detail"]  # ±0.5 s + the round trip
    assert "Business Central " in clock["detail"] and "not measured" not in clock["detail"]


def test_doctor_warns_when_this_host_is_ahead_of_the_store(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    """This host 400 s ahead (its clock read by the HTTP client when it asks and is answered) against
    the sandbox's real Date headers: a warning with what to do, and still exit 0."""
    import wcbc.adapters.http.client as http_client

    ahead = SimpleNamespace(time=lambda: time.time() + 400, monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr(http_client, "time", ahead)
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 0, out + err
    clock = checks_of(out)["clock"]
    assert clock["result"] == "warn" and clock["warning"] is True
    assert re.search(r"WooCommerce -(399|400|401) s", clock["detail"]), clock["detail"]
    assert "overlap_seconds" in clock["hint"]
    code, out, err = e2e.cli("doctor")
    assert code == 0 and "warn" in out


def test_doctor_redacts_what_an_upstream_echoes(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing check whose message carries the Authorization header and the raw secrets (as an
    upstream echoing the request would): the table and --json show neither."""
    from wcbc.core.errors import AuthError
    from wcbc.ops.context import Context

    creds = e2e.sandbox.credentials.secrets()
    key, secret = creds["woo_consumer_key"], creds["woo_consumer_secret"]
    import base64

    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()

    def echoing_ping(self: object) -> dict:
        raise AuthError(f"rejected: Authorization: Basic {basic} (key {key}, secret {secret})",
                        system="woocommerce", hint=f"the request had secret={secret}")

    from wcbc.adapters.woo.client import WooClient

    monkeypatch.setattr(WooClient, "ping", echoing_ping)
    assert Context  # the doctor builds its own context; its redactor knows the vault's secrets
    for args in (("--json", "doctor"), ("doctor",)):
        code, out, err = e2e.cli(*args)
        assert code == 3
        for value in (key, secret, basic):
            assert value not in out + err, args
        assert "rejected" in out + err


# ----------------------------------------------------------------------------- the state file


def test_doctor_checks_the_state_file_and_shows_its_users(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_ID_ENV, "this-host")
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 0, out + err
    checks = checks_of(out)
    assert checks["state integrity"]["result"] == "pass"
    assert "quick_check: ok" in checks["state integrity"]["detail"]
    owner = checks["state owner"]
    assert owner["result"] == "pass" and "instance " in owner["detail"]
    assert str(e2e.state_path) in owner["detail"] and "no other host or path has used it" in owner["detail"]


def test_doctor_fails_a_damaged_state_file_with_how_to_restore_it(e2e: E2E) -> None:
    with State(e2e.state_path) as state:  # a file checked a moment ago: opening it will not check again
        with state.batch():
            for n in range(300):
                state.record_put(f"order:{n}", "order", str(n), "done", data={"pad": "x" * 400})
        assert state.integrity_check() == []
    pages = e2e.state_path.stat().st_size // 4096
    with open(e2e.state_path, "r+b") as fh:  # garbage over a page in the middle (never the header)
        fh.seek(4096 * (pages // 2))
        fh.write(bytes(range(256)) * 16)
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 2, out + err
    integrity = checks_of(out)["state integrity"]
    assert integrity["result"] == "FAIL" and "damaged" in integrity["detail"]
    assert str(e2e.state_path) in integrity["detail"]
    assert "restore" in integrity["hint"] and "Backups" in integrity["hint"]


def another_host_used_it(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state file was used a minute ago by host-b; this is host-a."""
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    with State(e2e.state_path) as state:
        state.run_start("sync-orders")
    monkeypatch.setenv(HOST_ID_ENV, "host-a")


def test_a_copy_in_use_elsewhere_fails_doctor_until_taken_over(
    e2e: E2E, monkeypatch: pytest.MonkeyPatch
) -> None:
    another_host_used_it(e2e, monkeypatch)
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 2, out + err
    state = checks_of(out)["state"]
    assert state["result"] == "FAIL" and "in use elsewhere" in state["detail"]
    assert "--take-over" in state["hint"]
    assert e2e.cli("status")[0] == 2  # every command is refused the same way...
    code, out, err = e2e.cli("--take-over", "status")  # ...until this host takes the file over
    assert code == 0, out + err
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 0, out + err
    assert "earlier also used by" not in checks_of(out)["state owner"]["detail"]  # the other was forgotten


def test_doctor_warns_when_another_host_used_the_file_lately_with_on_copy_warn(
    e2e: E2E, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = e2e.config_path.read_text().replace("[state]\n", '[state]\non_copy = "warn"\n', 1)
    e2e.config_path.write_text(text)
    another_host_used_it(e2e, monkeypatch)
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 0, out + err  # a warning, not a failure
    owner = checks_of(out)["state owner"]
    assert owner["result"] == "warn" and "ALSO IN USE" in owner["detail"]
    assert "host id host-b" in owner["detail"]
    assert "--take-over" in owner["hint"]
