"""The syncs: ``wcbc sync-orders``, ``sync-items``, ``reconcile`` and ``replay``, each around a library call
under :func:`wcbc.ops.runs.command_run`; a dry run prints what would be written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wcbc.cli.common import (
    OPTS,
    exit_failed_if,
    opened_context,
    parse_since,
    redact,
    redact_data,
    show_progress,
)
from wcbc.cli.output import (
    emit,
    err,
    flatten,
    order_rows,
    out,
    print_item_outcomes,
    print_json,
    print_order_outcomes,
)
from wcbc.core.errors import UsageError

if TYPE_CHECKING:
    from wcbc.sync.orders.report import Report


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

    with opened_context() as ctx:
        if dry_run:
            report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, dry_run=True).run(
                since=parse_since(since), order_ids=order, limit=limit
            )
            if OPTS.json:
                print_json({"would": report.preview, "outcomes": [o.__dict__ for o in report.outcomes]})
            else:
                for item in report.preview:
                    out.print_json(data=redact_data(item), default=str)
                emit("sync-orders --dry-run (nothing written)", order_rows(report))
            return
        from wcbc.ops.progress import progress

        with (
            command_run(ctx, "sync-orders", metrics_file=OPTS.metrics_file) as run,
            progress(limit, "sync-orders: orders", console=err, enabled=show_progress()) as advance,
        ):
            sync = OrderSync(
                woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, run_id=run.id, on_progress=advance
            )
            report = sync.run(since=parse_since(since), order_ids=order, limit=limit)
            run.finish({**report.counts, "customers_created": report.customers_created,
                        **_clock(report)}, failed=report.failed)
        print_order_outcomes(report)
        for warning in report.warnings:
            err.print(redact(f"warning: {warning}"), highlight=False, markup=False)
        emit(
            "sync-orders",
            order_rows(report),
            {"counts": report.counts, "outcomes": [o.__dict__ for o in report.outcomes], **_clock(report)},
        )
        exit_failed_if(report.failed)


def _clock(report: Report) -> dict[str, object]:
    """The store's clock as the run saw it, for the run summary and ``--json`` (only what is known)."""
    out: dict[str, object] = {}
    if report.clock_skew is not None:
        out["clock_skew_s"] = report.clock_skew
    if report.warnings:
        out["warnings"] = report.warnings
    return out


def sync_items(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Push BC prices and stock to WooCommerce (BC notifications, item and ledger-entry polls)."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.items.sync import ItemSync

    with opened_context() as ctx:
        if dry_run:
            report = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config, dry_run=True).run()
        else:
            with command_run(ctx, "sync-items", metrics_file=OPTS.metrics_file) as run:
                report = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config, run_id=run.id).run()
                run.finish(report.summary(), failed=report.failed)
        print_item_outcomes(report)
        title = "sync-items --dry-run (nothing written)" if dry_run else "sync-items"
        emit(title, flatten(report.summary()), report.summary())
        exit_failed_if(report.failed)


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

    with opened_context() as ctx:
        if dry_run:
            report = Reconciler(ctx.woo, ctx.bc, ctx.state, ctx.config, dry_run=True).run(
                orders=orders, since=parse_since(since)
            )
        else:
            from wcbc.core.lock import run_lock

            # Reconcile writes the same products and bookmarks as sync-items: wait for it, then hold both.
            from wcbc.ops.progress import progress

            with (
                command_run(ctx, "reconcile", metrics_file=OPTS.metrics_file) as run,
                run_lock(ctx.config.state.path, "sync-items", wait=600),
                progress(None, "reconcile: store products", console=err, enabled=show_progress()) as advance,
            ):
                report = Reconciler(
                    ctx.woo, ctx.bc, ctx.state, ctx.config, run_id=run.id, on_progress=advance
                ).run(orders=orders, since=parse_since(since))
                run.finish(report.summary(), failed=report.failed)
        if OPTS.json:
            print_json(report.as_dict())
        elif not OPTS.quiet:
            for diff in report.differences:
                out.print(redact(f"{diff.result:>12} {diff.as_dict()}"), highlight=False, markup=False)
            emit(
                "reconcile --dry-run (nothing written)" if dry_run else "reconcile",
                flatten(report.summary()),
            )
        exit_failed_if(report.failed)


def replay(
    record: Annotated[
        str | None, typer.Argument(help="order:<id>, item:<no>, inbox:<id>, shipment:<no>, payment:<id>.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Replay every failed and held record.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="With --failed: only records updated since.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run a record that is already done.")] = False,
) -> None:
    """Re-run a failed or held record from a fresh read of its source."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.replay import replay_records

    if not record and not failed:
        raise UsageError("name a record (e.g. order:16) or use --failed")
    with opened_context() as ctx:
        result = replay_records(ctx, record=record, failed=failed, since=parse_since(since), force=force,
                                run=command_run)
        emit("replay", list(result.rows()), result.as_dict())
        exit_failed_if(result.failed)


def register(app: typer.Typer) -> None:
    app.command("sync-orders")(sync_orders)
    app.command("sync-items")(sync_items)
    app.command()(reconcile)
    app.command()(replay)
