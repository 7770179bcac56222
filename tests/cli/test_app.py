"""The CLI surface: version, init, credentials, doctor, exit codes, errors (no traceback, no secret)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E
from wcbc import __version__


def run(*args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wcbc", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=60,
    )


def test_version_via_python_m() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"wcbc {__version__}"


def test_init_scripted_writes_valid_config_and_refuses_overwrite(tmp_path: Path) -> None:
    from wcbc.core.config import load_config

    path = tmp_path / "cfg" / "config.toml"
    args = [
        "init",
        "--path",
        str(path),
        "--no-input",
        "--woo-url",
        "https://shop.example.com",
        "--tenant-id",
        "contoso.onmicrosoft.com",
        "--environment",
        "Production",
        "--company-id",
        "11111111-2222-3333-4444-555555555555",
        "--client-id",
        "abc",
        "--shipping-account",
        "6610",
    ]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    config = load_config(path)
    assert config.woocommerce.url == "https://shop.example.com"
    assert config.orders.shipping_account == "6610"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = run(*args)
    assert again.returncode == 2
    assert "exists" in again.stderr or "force" in again.stderr


def test_config_error_names_file_and_key_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[woocommerce]\nurl = "http://shop.example.com"\n[business_central]\ntenant_id = "contoso.com"\n'
        'environment = "Production"\ncompany_id = "11111111-2222-3333-4444-555555555555"\nclient_id = "abc"\n'
    )
    result = run("--config", str(path), "status")
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "woocommerce.url" in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_from_stdin_then_show_never_prints_values(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[woocommerce]\nurl = "https://shop.example.com"\n[business_central]\ntenant_id = "contoso.com"\n'
        'environment = "Production"\ncompany_id = "11111111-2222-3333-4444-555555555555"\nclient_id = "abc"\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
    )
    env = {
        "WCBC_MASTER_KEY": "",
        "HOME": str(tmp_path),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    secret = "cs_topsecret_value_1234567890"
    result = run(
        "--config",
        str(config),
        "credentials",
        "set",
        "woocommerce",
        "--stdin",
        env=env,
        stdin=f"ck_key_value_0987654321\n{secret}\nhooksecret-abcdef\n",
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    shown = run("--config", str(config), "--json", "credentials", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"woo_consumer_secret": "vault"' in shown.stdout
    assert '"bc_client_secret": "missing"' in shown.stdout
    assert secret not in shown.stdout
    vault_bytes = (tmp_path / "vault.bin").read_bytes()
    assert secret.encode() not in vault_bytes


def test_unknown_command_is_usage_error() -> None:
    result = run("no-such-command")
    assert result.returncode == 2


def test_doctor_passes_on_sandbox_and_fails_with_hint_on_revoked_key(e2e: E2E) -> None:
    code, out, err = e2e.cli("doctor")
    assert code == 0, out + err
    assert "pass" in out
    # The WooCommerce key is revoked (its WordPress user deleted): 401, exit 3, a hint.
    e2e.woo.consumer_keys.clear()
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 3
    woo = next(c for c in json.loads(out) if c["name"] == "woocommerce")
    assert not woo["ok"]
    assert "woocommerce_rest_cannot_view" in woo["detail"]
    assert "service user" in woo["hint"]


def test_doctor_names_aadsts_code_for_wrong_client_secret(e2e: E2E) -> None:
    creds = e2e.sandbox.credentials
    e2e.sandbox.entra.set_secret(creds.tenant_id, creds.client_id, "a-different-secret")
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 3
    assert "AADSTS7000215" in out
    assert creds.client_secret not in out + err


def test_doctor_hint_when_entra_app_not_enabled_in_bc(e2e: E2E) -> None:
    e2e.bc.apps[e2e.sandbox.credentials.client_id.lower()] = False
    code, out, err = e2e.cli("--json", "doctor")
    assert code == 3
    bc = next(c for c in json.loads(out) if c["name"] == "business central")
    assert "Authentication_InvalidCredentials" in bc["detail"]
    assert "Microsoft Entra Applications" in bc["hint"]


def test_second_run_of_a_command_exits_0_saying_the_lock_is_held(e2e: E2E) -> None:
    from wcbc.core.lock import run_lock

    with run_lock(e2e.state_path, "sync-orders"):
        code, out, err = e2e.cli("sync-orders")
    assert code == 0
    assert "running" in err


def test_status_shows_runs_and_bookmarks(e2e: E2E) -> None:
    assert e2e.cli("sync-orders")[0] == 0
    code, out, _ = e2e.cli("status")
    assert code == 0
    assert "sync-orders" in out
    data = json.loads(e2e.cli("--json", "status")[1])
    assert data["last_runs"]["sync-orders"]["outcome"] == "ok"
    assert "orders.modified_after" in data["bookmarks"]


@pytest.mark.parametrize("args", [["audit", "order:999"], ["replay"]])
def test_usage_errors_exit_2(e2e: E2E, args: list[str]) -> None:
    assert e2e.cli(*args)[0] == 2


def test_metrics_file_written_after_a_run(e2e: E2E) -> None:
    metrics = e2e.tmp / "textfile" / "wcbc.prom"
    metrics.parent.mkdir()
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "MUG-001", "quantity": 1}])
    code, out, err = e2e.cli("--metrics-file", str(metrics), "sync-orders")
    assert code == 0, out + err
    text = metrics.read_text()
    assert 'wcbc_records_total{command="sync-orders",outcome="booked"} 1' in text
    assert 'wcbc_api_calls_total{command="sync-orders",system="business_central"}' in text
    assert "wcbc_run_duration_seconds" in text


def test_doctor_lists_the_companies_when_company_id_is_wrong(e2e: E2E) -> None:
    text = e2e.config_path.read_text().replace(e2e.sandbox.company_id, "00000000-0000-0000-0000-000000000000")
    e2e.config_path.write_text(text)
    code, out, _ = e2e.cli("--json", "doctor")
    assert code == 2
    bc = next(c for c in json.loads(out) if c["name"] == "business central")
    assert "business_central.company_id" in bc["detail"]
    assert e2e.sandbox.company_id in bc["hint"]


def test_sync_orders_reports_progress_when_not_on_a_terminal(e2e: E2E) -> None:
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    for _ in range(3):
        e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "CAP-001", "quantity": 1}])
    code, out, err = e2e.cli("sync-orders")
    assert code == 0, out + err
    assert "sync-orders: orders" in err and "3" in err  # plain log lines, not a bar
    code, out, err = e2e.cli("--quiet", "sync-orders")
    assert (code, out, err) == (0, "", "")  # --quiet: nothing at all on success
