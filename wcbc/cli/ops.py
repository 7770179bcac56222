"""Checks, status, the journal and the sandbox: ``wcbc doctor``, ``status``, ``audit``, ``failures``,
``demo``, ``sandbox``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wcbc.cli.common import OPTS, context, redact_data
from wcbc.cli.output import audit_table, doctor_table, failures_table, out, print_json
from wcbc.core.errors import UsageError


def doctor() -> None:
    """Check config, vault and state, then ping WooCommerce and Business Central for real."""
    from wcbc.ops.doctor import exit_code, run_checks

    checks = run_checks(OPTS.config, allow_http=OPTS.allow_http, take_over=OPTS.take_over)
    if OPTS.json:
        print_json([{**c.__dict__, "result": c.result} for c in checks])
    else:
        doctor_table(checks)
    code = exit_code(checks)
    if code:
        raise typer.Exit(code)


def status() -> None:
    """Backlog, failures, held records, conflicts, last runs, bookmarks, subscription expiry."""
    from wcbc.ops.status import collect, render

    data = redact_data(collect(context()))
    if OPTS.json:
        print_json(data)
        return
    render(data, out)


def audit(
    record: Annotated[str, typer.Argument(help="order:<id>, item:<number>, inbox:<id>, customer:<key>")],
) -> None:
    """Show a record's journal in order (bodies redacted)."""
    ctx = context()
    rid = record if ":" in record else f"order:{record}"
    rows = ctx.state.journal_for(rid)
    current = ctx.state.record_get(rid)
    if OPTS.json:
        print_json({"record": current, "journal": rows})
        return
    if not rows and not current:
        raise UsageError(f"no record {rid!r} in the state DB")
    audit_table(rid, rows, current)


def failures() -> None:
    """List failed and held records with their causes."""
    ctx = context()
    rows = ctx.state.records(status="failed") + ctx.state.records(status="on_hold")
    if OPTS.json:
        print_json(rows)
        return
    failures_table(rows)


def demo(
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Keep the demo's files here.")] = None,
) -> None:
    """Play the whole story on the built-in sandbox (no credentials, no network); exit 0 if all pass."""
    from wcbc.ops.demo import run_demo

    raise typer.Exit(run_demo(out, workdir))


def sandbox(
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the config, vault, CA and state go.")
    ] = Path("wcbc-sandbox"),
    serve_port: Annotated[int, typer.Option("--serve-port", help="The port `wcbc serve` will use.")] = 8787,
) -> None:
    """Run the simulated WooCommerce, Entra ID and BC until interrupted, with a ready config."""
    from wcbc.ops.playground import run_sandbox

    raise typer.Exit(run_sandbox(out, workdir.absolute(), serve_port=serve_port))


def register(app: typer.Typer) -> None:
    for command in (doctor, status, audit, failures, demo, sandbox):
        app.command()(command)
