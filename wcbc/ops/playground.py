"""`wcbc sandbox`: run the simulators until interrupted, with a ready config and vault pointing at them."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wcbc.core.config import write_private_file
from wcbc.core.errors import ExitCode
from wcbc.core.vault import Vault, generate_client_state, generate_master_key
from wcbc.sandbox.stack import Sandbox


def prepare(workdir: Path, sandbox: Sandbox, serve_port: int = 8787) -> Path:
    """Write config.toml and an encrypted vault (its key in a 0600 key file, never the OS keyring)."""
    config_path = workdir / "config.toml"
    vault_path = workdir / "vault.bin"
    key_file = vault_path.with_suffix(".key")
    if not key_file.exists():
        write_private_file(key_file, generate_master_key().encode("ascii"))
    config_path.write_text(
        sandbox.config_text(
            state_path=workdir / "state.db",
            vault_path=vault_path,
            public_url=f"http://127.0.0.1:{serve_port}",
            serve_port=serve_port,
        )
    )
    vault = Vault.open(vault_path, key_file=key_file)
    for name, value in sandbox.credentials.secrets().items():
        vault.set(name, value)
    if not vault.get("bc_client_state"):
        vault.set("bc_client_state", generate_client_state())
    return config_path


def run_sandbox(
    console: Console, workdir: Path, *, serve_port: int = 8787, stop: threading.Event | None = None
) -> ExitCode:
    workdir.mkdir(parents=True, exist_ok=True)
    if os.environ.get("WCBC_MASTER_KEY"):
        console.print(
            "[yellow]note:[/yellow] WCBC_MASTER_KEY is set: it, not the sandbox key file, will "
            "open the sandbox vault"
        )
    with Sandbox(workdir / "sandbox") as sb:
        config_path = prepare(workdir, sb, serve_port)
        creds = sb.credentials
        table = Table(title="wcbc sandbox (Ctrl-C to stop)", show_header=False)
        table.add_column("what")
        table.add_column("value", overflow="fold")
        for what, value in (
            ("WooCommerce", f"{sb.woo_server.url}/wp-json/wc/v3  (admin: {sb.woo_server.url}/__admin/state)"),
            ("Entra ID", f"{sb.entra_server.url}/{creds.tenant_id}/oauth2/v2.0/token"),
            (
                "Business Central",
                f"{sb.bc_server.url}/v2.0/{creds.tenant_id}/Production/api/v2.0  "
                f"(admin: {sb.bc_server.url}/__admin/state)",
            ),
            ("CA certificate", str(sb.tls.ca_path)),
            ("consumer key / secret", f"{creds.consumer_key} / {creds.consumer_secret}  (sandbox only)"),
            ("client id / secret", f"{creds.client_id} / {creds.client_secret}  (sandbox only)"),
            ("config", str(config_path)),
            ("try", f"wcbc --config {config_path} doctor"),
            (
                "then",
                f"wcbc --config {config_path} serve   # and in another shell: webhooks install, "
                "renew-subscriptions, sync-orders ...",
            ),
        ):
            table.add_row(what, value)
        console.print(table)
        done = stop or threading.Event()
        if stop is None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: done.set())
        done.wait()
    return ExitCode.OK
