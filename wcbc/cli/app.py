"""The `wcbc` command line: parses arguments, calls the library, turns errors into exit codes.

Nothing here knows how to sync anything; each command is a few lines around a library call.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wcbc import __version__
from wcbc.core.errors import ExitCode, LockHeld, UsageError, WcbcError

app = typer.Typer(
    name="wcbc",
    help="Keeps a WooCommerce store and Microsoft Dynamics 365 Business Central aligned.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
credentials_app = typer.Typer(help="Store, show and rotate the encrypted credentials.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")

log = logging.getLogger("wcbc")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Options:
    config: Path | None = None
    debug: bool = False
    quiet: bool = False
    json: bool = False
    allow_http: bool = False
    log_format: str = "text"
    metrics_file: Path | None = None


OPTS = Options()


def _version(value: bool) -> None:
    if value:
        print(f"wcbc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (else $WCBC_CONFIG, else ~/.config/wcbc)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Debug logs and tracebacks.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing on success (for cron).")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json (stderr).")] = "text",
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="Accept a plain-http WooCommerce URL on a loopback host.")
    ] = False,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="After each run, merge its metrics into this Prometheus textfile-collector file.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    if log_format not in ("text", "json"):
        raise typer.BadParameter("--log-format must be text or json")
    OPTS.config, OPTS.debug, OPTS.quiet, OPTS.json = config, debug, quiet, json_out
    OPTS.allow_http, OPTS.log_format = allow_http, log_format
    OPTS.metrics_file = metrics_file
    from wcbc.core.logs import setup_logging

    setup_logging("debug" if debug else "info", log_format, quiet=quiet)


# --------------------------------------------------------------------------- helpers


def _context():  # noqa: ANN202 - imported lazily so `wcbc --help` stays fast
    from wcbc.ops.context import open_context

    ctx = open_context(OPTS.config, allow_http=OPTS.allow_http)
    try:
        from wcbc.core.logs import set_redactor

        set_redactor(ctx.redactor)
    except (ImportError, WcbcError):
        pass
    return ctx


def _show_progress() -> bool:
    return not (OPTS.quiet or OPTS.json)


def emit(title: str, rows: list[tuple[str, Any]], data: dict | None = None) -> None:
    """Print a two-column summary table (or JSON with --json; nothing with --quiet)."""
    if OPTS.json:
        print(json.dumps(data if data is not None else dict(rows), default=str, indent=2))
        return
    if OPTS.quiet:
        return
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key, value in rows:
        table.add_row(escape(str(key)), escape(str(value)))
    out.print(table)


# --------------------------------------------------------------------------- init & credentials


@app.command()
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


@credentials_app.command("set")
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
    ctx = _context()
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


@credentials_app.command("show")
def credentials_show() -> None:
    """Which secrets are set, and where from (values are never shown)."""
    vault = _context().vault
    status = vault.status()
    emit(
        "credentials",
        [*status.items(), ("key source", vault.key_source)],
        {**status, "key_source": vault.key_source},
    )


@credentials_app.command("rotate-key")
def credentials_rotate_key() -> None:
    """Re-encrypt the vault under a new master key."""
    vault = _context().vault
    vault.rotate_key()
    emit("credentials", [("vault", "re-encrypted under a new key"), ("key source", vault.key_source)])


# --------------------------------------------------------------------------- checks & status


@app.command()
def doctor() -> None:
    """Check config, vault and state, then ping WooCommerce and Business Central for real."""
    from wcbc.ops.doctor import exit_code, run_checks

    checks = run_checks(OPTS.config, allow_http=OPTS.allow_http)
    if OPTS.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2, default=str))
    else:
        table = Table(title="wcbc doctor")
        for col in ("check", "result", "detail", "hint"):
            table.add_column(col, overflow="fold")
        for c in checks:
            table.add_row(
                c.name, "[green]pass[/green]" if c.ok else "[red]FAIL[/red]", c.detail, c.hint or ""
            )
        (out if all(c.ok for c in checks) else err).print(table)
    code = exit_code(checks)
    if code:
        raise typer.Exit(code)


@app.command()
def status() -> None:
    """Backlog, failures, held records, conflicts, last runs, bookmarks, subscription expiry."""
    from wcbc.ops.status import collect

    ctx = _context()
    data = collect(ctx)
    if OPTS.json:
        print(json.dumps(data, indent=2, default=str))
        return
    from wcbc.ops.status import render

    render(data, out)


# --------------------------------------------------------------------------- orders


def _since(value: str | None) -> Any:
    if value is None:
        return None
    from wcbc.core.time import parse_strict

    try:
        return parse_strict(value, "--since")
    except ValueError as exc:
        raise UsageError(f"--since {value!r} is not an ISO-8601 date or timestamp") from exc


def _order_rows(report: Any) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [(k, v) for k, v in sorted(report.counts.items())]
    rows.append(("customers created", report.customers_created))
    return rows


@app.command("sync-orders")
def sync_orders(
    since: Annotated[
        str | None, typer.Option("--since", help="Poll orders modified since (ISO-8601, UTC).")
    ] = None,
    order: Annotated[
        list[int] | None, typer.Option("--order", help="Only this WooCommerce order id (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be booked; write nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N orders this run.")] = None,
) -> None:
    """Book new WooCommerce orders into Business Central (webhook inbox + poll)."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.orders.sync import OrderSync

    ctx = _context()
    try:
        if dry_run:
            report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, dry_run=True).run(
                since=_since(since), order_ids=order, limit=limit
            )
            if OPTS.json:
                print(
                    json.dumps(
                        {"would": report.preview, "outcomes": [o.__dict__ for o in report.outcomes]},
                        indent=2,
                        default=str,
                    )
                )
            else:
                for item in report.preview:
                    out.print_json(data=item, default=str)
                emit("sync-orders --dry-run (nothing written)", _order_rows(report))
            return
        from wcbc.ops.progress import progress

        with (
            command_run(ctx, "sync-orders", metrics_file=OPTS.metrics_file) as run,
            progress(limit, "sync-orders: orders", console=err, enabled=_show_progress()) as advance,
        ):
            sync = OrderSync(
                woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, run_id=run.id, on_progress=advance
            )
            report = sync.run(since=_since(since), order_ids=order, limit=limit)
            run.summary = {**report.counts, "customers_created": report.customers_created}
            run.outcome = "failed" if report.failed else "ok"
        _print_outcomes(report)
        emit(
            "sync-orders",
            _order_rows(report),
            {"counts": report.counts, "outcomes": [o.__dict__ for o in report.outcomes]},
        )
        if report.failed:
            raise typer.Exit(1)
    finally:
        ctx.close()


def _print_outcomes(report: Any) -> None:
    if OPTS.json or OPTS.quiet:
        for o in report.outcomes:
            if o.result in ("failed", "on_hold") and not OPTS.json:
                err.print(f"order {o.number}: {o.result}: {o.message}", highlight=False, markup=False)
        return
    for o in report.outcomes:
        if o.result in ("unchanged",):
            continue
        colour = {
            "booked": "green",
            "linked": "cyan",
            "failed": "red",
            "on_hold": "red",
            "conflict": "yellow",
        }.get(o.result, "white")
        doc = f" -> {o.document}" if o.document else ""
        msg = f" ({o.message})" if o.message else ""
        out.print(f"[{colour}]{o.result:>9}[/{colour}] order {o.number}{escape(doc + msg)}", highlight=False)


# --------------------------------------------------------------------------- items


def _flatten(summary: dict) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in summary.items() if not isinstance(v, dict | list)]


@app.command("sync-items")
def sync_items(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Push BC prices and stock to WooCommerce (BC notifications, item and ledger-entry polls)."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.items.sync import ItemSync

    ctx = _context()
    try:
        if dry_run:
            report = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config, dry_run=True).run()
        else:
            with command_run(ctx, "sync-items", metrics_file=OPTS.metrics_file) as run:
                report = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config, run_id=run.id).run()
                run.summary = report.summary()
                run.outcome = "failed" if report.failed else "ok"
        if not OPTS.json and not OPTS.quiet:
            for o in report.outcomes:
                if o.result not in ("unchanged",):
                    out.print(
                        f"{o.result:>12} {o.number} {getattr(o, 'message', '') or ''}",
                        highlight=False,
                        markup=False,
                    )
        for o in report.outcomes:
            if o.result in ("failed", "on_hold") and (OPTS.quiet or OPTS.json):
                err.print(
                    f"item {o.number}: {o.result}: {getattr(o, 'message', '')}", highlight=False, markup=False
                )
        title = "sync-items --dry-run (nothing written)" if dry_run else "sync-items"
        emit(title, _flatten(report.summary()), report.summary())
        if report.failed:
            raise typer.Exit(1)
    finally:
        ctx.close()


@app.command()
def reconcile(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the differences; write nothing.")] = False,
    orders: Annotated[
        bool, typer.Option("--orders", help="Also check the order side for the period.")
    ] = False,
    since: Annotated[str | None, typer.Option("--since", help="With --orders: the period's start.")] = None,
) -> None:
    """Compare every BC item with the store and write only the differences."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.reconcile import Reconciler

    ctx = _context()
    try:
        if dry_run:
            report = Reconciler(ctx.woo, ctx.bc, ctx.state, ctx.config, dry_run=True).run(
                orders=orders, since=_since(since)
            )
        else:
            from wcbc.core.lock import run_lock

            # Reconcile writes the same products and bookmarks as sync-items: wait for it, then hold both.
            from wcbc.ops.progress import progress

            with (
                command_run(ctx, "reconcile", metrics_file=OPTS.metrics_file) as run,
                run_lock(ctx.config.state.path, "sync-items", wait=600),
                progress(None, "reconcile: store products", console=err, enabled=_show_progress()) as advance,
            ):
                report = Reconciler(
                    ctx.woo, ctx.bc, ctx.state, ctx.config, run_id=run.id, on_progress=advance
                ).run(orders=orders, since=_since(since))
                run.summary = report.summary()
                run.outcome = "failed" if report.failed else "ok"
        if OPTS.json:
            print(json.dumps(report.as_dict(), indent=2, default=str))
        elif not OPTS.quiet:
            for diff in report.differences:
                out.print(f"{diff.result:>12} {diff.as_dict()}", highlight=False, markup=False)
            emit(
                "reconcile --dry-run (nothing written)" if dry_run else "reconcile",
                _flatten(report.summary()),
            )
        if report.failed:
            raise typer.Exit(1)
    finally:
        ctx.close()


# --------------------------------------------------------------------------- webhooks & subscriptions


def _public_url(ctx: Any) -> str:
    from wcbc.core.errors import ConfigError

    url = ctx.config.serve.public_url
    if not url:
        raise ConfigError(
            "not set: where `wcbc serve` is reachable from WooCommerce and BC",
            file=str(ctx.config.path),
            key="serve.public_url",
        )
    return url


@app.command("renew-subscriptions")
def renew_subscriptions() -> None:
    """Create, renew or recreate the BC item subscription; then check the WooCommerce webhooks."""
    import datetime as dt

    from wcbc.ops.runs import command_run
    from wcbc.webhooks.health import check_webhooks
    from wcbc.webhooks.subscriptions import ensure_subscriptions

    ctx = _context()
    try:
        with command_run(ctx, "renew-subscriptions", metrics_file=OPTS.metrics_file) as run:
            report = ensure_subscriptions(
                ctx.bc,
                ctx.state,
                public_url=_public_url(ctx),
                client_state=ctx.vault.require("bc_client_state"),
                renew_before=dt.timedelta(hours=ctx.config.serve.renew_before_hours),
                verify=ctx.config.verify(),
            )
            health = check_webhooks(ctx.woo, ctx.state, public_url=_public_url(ctx), repair=False)
            run.summary = {**report.to_dict(), "webhooks_ok": health.ok}
            failed = [s for s in report.subscriptions if s.action == "failed"]
            run.outcome = "failed" if failed or not health.ok else "ok"
        emit(
            "renew-subscriptions",
            [(s.resource, f"{s.action}, expires {s.expires_at}") for s in report.subscriptions]
            + [("woocommerce webhooks", "ok" if health.ok else f"{len(health.problems)} problem(s)")],
            {"subscriptions": report.to_dict(), "webhooks": health.to_dict()},
        )
        _alert_problems(
            ctx,
            [f"subscription {s.resource}: {s.error}" for s in failed]
            + [f"webhook {p.kind}: {p.detail}" for p in health.problems if not p.repaired],
        )
        if failed or not health.ok:
            raise typer.Exit(1)
    finally:
        ctx.close()


def _alert_problems(ctx: Any, problems: list[str]) -> None:
    """Problems go to stderr (cron mails them) and to the configured alert channels."""
    if not problems:
        return
    for problem in problems:
        err.print(f"[red]alert:[/red] {escape(problem)}", highlight=False)
    from wcbc.adapters.alerts import send_alert

    send_alert(ctx.config.alerts, "wcbc needs attention", "\n".join(problems))


webhooks_app = typer.Typer(help="Install and check the WooCommerce order webhooks.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("install")
def webhooks_install() -> None:
    """Create order.created and order.updated webhooks pointing at serve.public_url (our own secret)."""
    from wcbc.webhooks.health import install_webhooks

    ctx = _context()
    try:
        results = install_webhooks(
            ctx.woo, public_url=_public_url(ctx), secret=ctx.vault.require("woo_webhook_secret")
        )
        emit(
            "webhooks install",
            [(f"{r['topic']} #{r['id']}", r["action"]) for r in results],
            {"webhooks": results},
        )
    finally:
        ctx.close()


@webhooks_app.command("check")
def webhooks_check(
    repair: Annotated[
        bool, typer.Option("--repair", help="Recreate disabled, paused or missing webhooks.")
    ] = False,
    reactivate: Annotated[
        bool,
        typer.Option(
            "--reactivate", help="With --repair: only set disabled ones active (keeps the failure count)."
        ),
    ] = False,
) -> None:
    """Alert when a webhook is disabled, paused, missing, pointing elsewhere, or has gone quiet."""
    from wcbc.ops.runs import command_run
    from wcbc.webhooks.health import check_webhooks

    ctx = _context()
    try:
        with command_run(ctx, "webhooks-check", metrics_file=OPTS.metrics_file) as run:
            health = check_webhooks(
                ctx.woo,
                ctx.state,
                public_url=_public_url(ctx),
                repair=repair,
                reactivate=reactivate,
                secret=ctx.vault.get("woo_webhook_secret") if repair else None,
            )
            run.summary = {"ok": health.ok, "problems": [p.to_dict() for p in health.problems]}
            run.outcome = "ok" if health.ok else "failed"
        rows: list[tuple[str, Any]] = [
            (f"#{w.get('id')} {w.get('topic')}", w.get("status")) for w in health.webhooks
        ]
        rows += [
            (f"problem: {p.kind}", p.detail + (f" -> {p.repaired}" if p.repaired else ""))
            for p in health.problems
        ]
        emit("webhooks check", rows or [("webhooks", "none")], health.to_dict())
        _alert_problems(ctx, [f"webhook {p.kind}: {p.detail}" for p in health.problems if not p.repaired])
        if not health.ok:
            raise typer.Exit(1)
    finally:
        ctx.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Listen address (default: serve.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Listen port (default: serve.port).")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Request threads (default: serve.workers).")
    ] = None,
) -> None:
    """Receive WooCommerce and BC webhooks (behind a TLS reverse proxy) and process them at once."""
    from wcbc.webhooks.service import service_from_context

    ctx = _context()
    service = service_from_context(ctx, host=host, port=port, workers=workers, metrics_file=OPTS.metrics_file)
    try:
        service.serve_forever()
    finally:
        ctx.close()


# --------------------------------------------------------------------------- replay & audit


@app.command()
def replay(
    record: Annotated[
        str | None, typer.Argument(help="order:<id>, item:<number>, inbox:<id> or an order id.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Replay every failed and held record.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="With --failed: only records updated since.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run a record that is already done.")] = False,
) -> None:
    """Re-run a failed or held record from a fresh read of its source."""
    from wcbc.sync.replay import replay_records

    if not record and not failed:
        raise UsageError("name a record (e.g. order:16) or use --failed")
    ctx = _context()
    try:
        result = replay_records(ctx, record=record, failed=failed, since=_since(since), force=force)
        emit("replay", list(result.rows()), result.as_dict())
        if result.failed:
            raise typer.Exit(1)
    finally:
        ctx.close()


@app.command()
def audit(
    record: Annotated[str, typer.Argument(help="order:<id>, item:<number>, inbox:<id>, customer:<key>")],
) -> None:
    """Show a record's journal in order (bodies redacted)."""
    ctx = _context()
    rid = record if ":" in record else f"order:{record}"
    rows = ctx.state.journal_for(rid)
    current = ctx.state.record_get(rid)
    if OPTS.json:
        print(json.dumps({"record": current, "journal": rows}, indent=2, default=str))
        return
    if not rows and not current:
        raise UsageError(f"no record {rid!r} in the state DB")
    table = Table(title=f"audit {rid}" + (f" — {current['status']}" if current else ""))
    for col in ("time", "step", "detail"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(str(row["ts"]), str(row["step"]), escape(str(row.get("detail") or "")[:2000]))
    out.print(table)


@app.command()
def failures() -> None:
    """List failed and held records with their causes."""
    ctx = _context()
    rows = ctx.state.records(status="failed") + ctx.state.records(status="on_hold")
    if OPTS.json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"{len(rows)} failed or held record(s)")
    for col in ("record", "status", "attempts", "updated", "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["id"],
            r["status"],
            str(r.get("attempts")),
            str(r.get("updated_at")),
            escape(str(r.get("last_error") or "")),
        )
    if not OPTS.quiet or rows:
        out.print(table)


# --------------------------------------------------------------------------- sandbox & demo


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Keep the demo's files here.")] = None,
) -> None:
    """Play the whole story on the built-in sandbox (no credentials, no network); exit 0 if all pass."""
    from wcbc.ops.demo import run_demo

    raise typer.Exit(run_demo(out, workdir))


@app.command()
def sandbox(
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the config, vault, CA and state go.")
    ] = Path("wcbc-sandbox"),
    serve_port: Annotated[int, typer.Option("--serve-port", help="The port `wcbc serve` will use.")] = 8787,
) -> None:
    """Run the simulated WooCommerce, Entra ID and BC until interrupted, with a ready config."""
    from wcbc.ops.playground import run_sandbox

    raise typer.Exit(run_sandbox(out, workdir.absolute(), serve_port=serve_port))


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the one place that maps errors to exit codes."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        code = app(args=argv, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except LockHeld as exc:
        if not OPTS.quiet:
            err.print(f"[yellow]{escape(str(exc))}[/yellow]")
        sys.exit(ExitCode.OK)
    except WcbcError as exc:
        if OPTS.debug:
            err.print_exception(show_locals=False)
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        if exc.hint:
            err.print(f"[dim]hint:[/dim] {escape(exc.hint)}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and genuine bugs
        # typer vendors its own click: recognise its exceptions by shape, not by class.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        if OPTS.debug:
            raise
        # The message is not printed: a library's exception text could carry a URL or a value.
        err.print(f"[red]internal error:[/red] {type(exc).__name__} (rerun with --debug for the traceback)")
        sys.exit(1)
