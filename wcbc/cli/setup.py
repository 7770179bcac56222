"""The first steps: ``wcbc init`` (a starter config) and ``wcbc credentials set|show|rotate-key``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wcbc.cli.common import OPTS, context
from wcbc.cli.output import emit
from wcbc.core.errors import UsageError

credentials_app = typer.Typer(help="Store, show and rotate the encrypted credentials.", no_args_is_help=True)


def init(
    path: Annotated[
        Path | None, typer.Option("--path", help="Where to write (default: the config path).")
    ] = None,
    woo_url: Annotated[str | None, typer.Option("--woo-url")] = None,
    tenant_id: Annotated[str | None, typer.Option("--tenant-id")] = None,
    environment: Annotated[str | None, typer.Option("--environment")] = None,
    company_id: Annotated[str | None, typer.Option("--company-id")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
    state_path: Annotated[str | None, typer.Option("--state-path")] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="sales_order, sales_invoice or posted_invoice")
    ] = None,
    shipping_account: Annotated[str | None, typer.Option("--shipping-account")] = None,
    fee_account: Annotated[str | None, typer.Option("--fee-account")] = None,
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="Where `wcbc serve` is reachable.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt (scripted installs).")] = False,
) -> None:
    """Write a commented starter config (prompts for what no flag gave)."""
    from wcbc.core.config import find_config_path, render_starter_config, write_config

    values: dict[str, str | None] = {
        "woocommerce.url": woo_url,
        "business_central.tenant_id": tenant_id,
        "business_central.environment": environment,
        "business_central.company_id": company_id,
        "business_central.client_id": client_id,
        "state.path": state_path,
        "orders.target": target,
        "orders.shipping_account": shipping_account,
        "orders.fee_account": fee_account,
        "serve.public_url": public_url,
    }
    prompts = {
        "woocommerce.url": "WooCommerce store URL (https://...)",
        "business_central.tenant_id": "Entra tenant id (GUID or domain)",
        "business_central.environment": "BC environment name (e.g. Production)",
        "business_central.company_id": "BC company id (GUID)",
        "business_central.client_id": "Entra app (client) id",
    }
    interactive = not no_input and sys.stdin.isatty()
    for key, question in prompts.items():
        if values[key] is None and interactive:
            values[key] = typer.prompt(question)
    target_path = path or find_config_path(OPTS.config)
    write_config(target_path, render_starter_config({k: v for k, v in values.items() if v}), force=force)
    emit("wcbc init", [("config written", target_path), ("next", "wcbc credentials set woocommerce")])


_SYSTEM_SECRETS = {
    "woocommerce": [
        ("woo_consumer_key", "WooCommerce consumer key (ck_...)"),
        ("woo_consumer_secret", "WooCommerce consumer secret (cs_...)"),
        ("woo_webhook_secret", "WooCommerce webhook secret (leave empty to generate one)"),
    ],
    "business-central": [("bc_client_secret", "Entra app client secret")],
}


def credentials_set(
    system: Annotated[str, typer.Argument(help="woocommerce or business-central")],
    stdin: Annotated[
        bool,
        typer.Option("--stdin", help="Read the values from standard input, one per line, in prompt order."),
    ] = False,
) -> None:
    """Store the credentials of one system in the encrypted vault (prompts without echo)."""
    import secrets as _secrets

    from wcbc.core.vault import generate_client_state

    if system not in _SYSTEM_SECRETS:
        raise UsageError(f"unknown system {system!r}: use woocommerce or business-central")
    ctx = context()
    vault = ctx.vault
    lines = sys.stdin.read().splitlines() if (stdin or not sys.stdin.isatty()) else None
    stored = []
    for index, (name, question) in enumerate(_SYSTEM_SECRETS[system]):
        if lines is not None:
            value = lines[index].strip() if index < len(lines) else ""
        else:
            value = typer.prompt(question, hide_input=True, default="", show_default=False)
        if not value and name == "woo_webhook_secret":
            value = _secrets.token_urlsafe(32)
        if not value:
            raise UsageError(f"no value given for {name}")
        vault.set(name, value)
        ctx.redactor.add(value)  # from now on this value is masked in every log line
        stored.append(name)
    if system == "business-central" and not vault.get("bc_client_state"):
        vault.set("bc_client_state", generate_client_state())
        stored.append("bc_client_state")
    emit("credentials", [(n, "stored (encrypted)") for n in stored] + [("key source", vault.key_source)])


def credentials_show() -> None:
    """Which secrets are set, and where from (values are never shown)."""
    vault = context().vault
    status = vault.status()
    emit(
        "credentials",
        [*status.items(), ("key source", vault.key_source)],
        {**status, "key_source": vault.key_source},
    )


def credentials_rotate_key() -> None:
    """Re-encrypt the vault under a new master key."""
    vault = context().vault
    vault.rotate_key()
    emit("credentials", [("vault", "re-encrypted under a new key"), ("key source", vault.key_source)])


def register(app: typer.Typer) -> None:
    app.command()(init)
    credentials_app.command("set")(credentials_set)
    credentials_app.command("show")(credentials_show)
    credentials_app.command("rotate-key")(credentials_rotate_key)
    app.add_typer(credentials_app, name="credentials")
