"""`wcbc sync-fulfilment`: BC shipments back to the store, then (when configured) web payments into BC.

One crontab step; each half is its own run (``sync-shipments``, ``sync-payments``: its own lock, its own
row in `wcbc status`). The library is :mod:`wcbc.sync.shipments` and :mod:`wcbc.sync.payments`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from wcbc.cli.common import OPTS, exit_failed_if, opened_context, parse_since
from wcbc.cli.output import emit, err, out


def _show(title: str, report: Any) -> None:
    if OPTS.json:
        print(json.dumps({"run": title, **report.as_dict()}, indent=2, default=str))
        return
    for item in report.preview:
        out.print_json(data=item, default=str)
    for o in report.outcomes:
        if o.result in ("failed", "on_hold") or (not OPTS.quiet and o.result != "unchanged"):
            (err if o.failed else out).print(
                f"{o.result:>10} {o.record}{' -> order ' + o.document if o.document else ''}"
                f"{' (' + o.message + ')' if o.message else ''}", highlight=False, markup=False)
    emit(title, sorted(report.counts.items()), report.as_dict())


def sync_fulfilment(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Shipments modified since (ISO-8601).")] = None,
    shipment: Annotated[list[str] | None, typer.Option("--shipment", help="Only this shipment.")] = None,
    order: Annotated[list[int] | None, typer.Option("--order", help="Payments: this order.")] = None,
    only: Annotated[str | None, typer.Option("--only", help="shipments or payments")] = None,
) -> None:
    """BC shipments complete WooCommerce orders; paid web orders settle their BC invoices."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.payments.sync import PaymentSync
    from wcbc.sync.shipments.sync import ShipmentSync

    if only not in (None, "shipments", "payments"):
        from wcbc.core.errors import UsageError

        raise UsageError("--only takes shipments or payments")
    failed = False
    with opened_context() as ctx:
        kw = {"woo": ctx.woo, "bc": ctx.bc, "state": ctx.state, "config": ctx.config}
        halves = [h for h in ("shipments", "payments") if only in (None, h)]
        if order and only is None:
            halves = ["payments"]
        if "payments" in halves and not ctx.config.payments.journals:
            halves.remove("payments")
            if only == "payments":
                err.print("payments are off: set [payments] journals (README \"Fulfilment and payments\")")
        for half in halves:
            cls: Any = ShipmentSync if half == "shipments" else PaymentSync
            args: dict[str, Any] = ({"since": parse_since(since), "numbers": shipment} if half == "shipments"
                                    else {"order_ids": order})
            if dry_run:
                report = cls(**kw, dry_run=True).run(**args)
                _show(f"sync-{half} --dry-run (nothing written)", report)
                continue
            with command_run(ctx, f"sync-{half}", metrics_file=OPTS.metrics_file) as run:
                report = cls(**kw, run_id=run.id).run(**args)
                run.summary = report.counts
                run.outcome = "failed" if report.failed else "ok"
            _show(f"sync-{half}", report)
            failed = failed or report.failed
    exit_failed_if(failed)


def register(app: typer.Typer) -> None:
    app.command("sync-fulfilment")(sync_fulfilment)
