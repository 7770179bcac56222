"""What the commands print: summaries (a table, JSON with ``--json``, nothing with ``--quiet``), outcome
lines and the tables of doctor, audit and failures. Everything printed here goes through
:func:`wcbc.cli.common.redact` first (cells before a table folds them, each string of JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wcbc.cli.common import OPTS, redact, redact_data

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """``data`` as JSON, each string redacted on its own (redacting the JSON text could break it)."""
    plain = json.loads(json.dumps(data, default=str))
    print(json.dumps(redact_data(plain), indent=2))


def cell(value: Any) -> str:
    """A table cell: redacted, then escaped for rich markup."""
    return escape(redact(str(value)))


def emit(title: str, rows: list[tuple[str, Any]], data: dict | None = None) -> None:
    """Print a two-column summary table (or JSON with --json; nothing with --quiet)."""
    if OPTS.json:
        print_json(data if data is not None else dict(rows))
        return
    if OPTS.quiet:
        return
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key, value in rows:
        table.add_row(cell(key), cell(value))
    out.print(table)


def flatten(summary: dict) -> list[tuple[str, Any]]:
    """The scalar entries of a summary, as table rows."""
    return [(k, v) for k, v in summary.items() if not isinstance(v, dict | list)]


def order_rows(report: Any) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [(k, v) for k, v in sorted(report.counts.items())]
    rows.append(("customers created", report.customers_created))
    return rows


def print_order_outcomes(report: Any) -> None:
    """One coloured line per order that changed; with --quiet/--json only failures, on stderr."""
    if OPTS.json or OPTS.quiet:
        for o in report.outcomes:
            if o.result in ("failed", "on_hold") and not OPTS.json:
                err.print(redact(f"order {o.number}: {o.result}: {o.message}"), highlight=False, markup=False)
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
        out.print(f"[{colour}]{o.result:>9}[/{colour}] order {cell(o.number)}{cell(doc + msg)}",
                  highlight=False)


def print_item_outcomes(report: Any) -> None:
    """One line per item that changed; with --quiet/--json only failures, on stderr."""
    if not OPTS.json and not OPTS.quiet:
        for o in report.outcomes:
            if o.result not in ("unchanged",):
                out.print(
                    redact(f"{o.result:>12} {o.number} {getattr(o, 'message', '') or ''}"),
                    highlight=False,
                    markup=False,
                )
    for o in report.outcomes:
        if o.result in ("failed", "on_hold") and (OPTS.quiet or OPTS.json):
            err.print(
                redact(f"item {o.number}: {o.result}: {getattr(o, 'message', '')}"), highlight=False,
                markup=False,
            )


RESULTS = {"pass": "[green]pass[/green]", "warn": "[yellow]warn[/yellow]", "FAIL": "[red]FAIL[/red]"}


def doctor_table(checks: list[Any]) -> None:
    table = Table(title="wcbc doctor")
    for col in ("check", "result", "detail", "hint"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(cell(c.name), RESULTS[c.result], cell(c.detail), cell(c.hint or ""))
    (out if all(c.ok for c in checks) else err).print(table)


def audit_table(rid: str, rows: list[dict], current: dict | None) -> None:
    table = Table(title=f"audit {rid}" + (f" — {current['status']}" if current else ""))
    for col in ("time", "step", "detail"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(cell(row["ts"]), cell(row["step"]), cell(redact(str(row.get("detail") or ""))[:2000]))
    out.print(table)


def failures_table(rows: list[dict]) -> None:
    table = Table(title=f"{len(rows)} failed or held record(s)")
    for col in ("record", "status", "attempts", "updated", "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            cell(r["id"]),
            cell(r["status"]),
            cell(r.get("attempts")),
            cell(r.get("updated_at")),
            cell(r.get("last_error") or ""),
        )
    if not OPTS.quiet or rows:
        out.print(table)
