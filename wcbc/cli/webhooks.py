"""The webhook side: ``wcbc serve``, ``renew-subscriptions`` and ``webhooks install|check``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from wcbc.cli.common import OPTS, exit_failed_if, opened_context, public_url, redact
from wcbc.cli.output import emit, err

webhooks_app = typer.Typer(help="Install and check the WooCommerce order webhooks.", no_args_is_help=True)


def renew_subscriptions() -> None:
    """Create, renew or recreate the BC item subscription; then check the WooCommerce webhooks."""
    import datetime as dt

    from wcbc.ops.runs import command_run
    from wcbc.webhooks.health import check_webhooks
    from wcbc.webhooks.subscriptions import ensure_subscriptions

    with opened_context() as ctx:
        with command_run(ctx, "renew-subscriptions", metrics_file=OPTS.metrics_file) as run:
            report = ensure_subscriptions(
                ctx.bc,
                ctx.state,
                public_url=public_url(ctx),
                client_state=ctx.vault.require("bc_client_state"),
                renew_before=dt.timedelta(hours=ctx.config.serve.renew_before_hours),
                verify=ctx.config.verify(),
            )
            health = check_webhooks(ctx.woo, ctx.state, public_url=public_url(ctx), repair=False)
            failed = [s for s in report.subscriptions if s.action == "failed"]
            run.finish({**report.to_dict(), "webhooks_ok": health.ok}, failed=bool(failed) or not health.ok)
        emit(
            "renew-subscriptions",
            [(s.resource, f"{s.action}, expires {s.expires_at}") for s in report.subscriptions]
            + [("woocommerce webhooks", "ok" if health.ok else f"{len(health.problems)} problem(s)")],
            {"subscriptions": report.to_dict(), "webhooks": health.to_dict()},
        )
        alert_problems(
            ctx,
            [f"subscription {s.resource}: {s.error}" for s in failed]
            + [f"webhook {p.kind}: {p.detail}" for p in health.problems if not p.repaired],
        )
        exit_failed_if(bool(failed) or not health.ok)


def alert_problems(ctx: Any, problems: list[str]) -> None:
    """Problems go to stderr (cron mails them) and to the configured alert channels."""
    if not problems:
        return
    problems = [redact(p) for p in problems]
    for problem in problems:
        err.print(f"[red]alert:[/red] {escape(problem)}", highlight=False)
    from wcbc.adapters.alerts import send_alert

    send_alert(ctx.config.alerts, "wcbc needs attention", "\n".join(problems))


def webhooks_install() -> None:
    """Create order.created and order.updated webhooks pointing at serve.public_url (our own secret)."""
    from wcbc.webhooks.health import install_webhooks

    with opened_context() as ctx:
        results = install_webhooks(
            ctx.woo, public_url=public_url(ctx), secret=ctx.vault.require("woo_webhook_secret")
        )
        emit(
            "webhooks install",
            [(f"{r['topic']} #{r['id']}", r["action"]) for r in results],
            {"webhooks": results},
        )


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

    with opened_context() as ctx:
        with command_run(ctx, "webhooks-check", metrics_file=OPTS.metrics_file) as run:
            health = check_webhooks(
                ctx.woo,
                ctx.state,
                public_url=public_url(ctx),
                repair=repair,
                reactivate=reactivate,
                secret=ctx.vault.get("woo_webhook_secret") if repair else None,
            )
            problems = [p.to_dict() for p in health.problems]
            run.finish({"ok": health.ok, "problems": problems}, failed=not health.ok)
        rows: list[tuple[str, Any]] = [
            (f"#{w.get('id')} {w.get('topic')}", w.get("status")) for w in health.webhooks
        ]
        rows += [
            (f"problem: {p.kind}", p.detail + (f" -> {p.repaired}" if p.repaired else ""))
            for p in health.problems
        ]
        emit("webhooks check", rows or [("webhooks", "none")], health.to_dict())
        alert_problems(ctx, [f"webhook {p.kind}: {p.detail}" for p in health.problems if not p.repaired])
        exit_failed_if(not health.ok)


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Listen address (default: serve.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Listen port (default: serve.port).")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Request threads (default: serve.workers).")
    ] = None,
) -> None:
    """Receive WooCommerce and BC webhooks (behind a TLS reverse proxy) and process them at once."""
    from wcbc.webhooks.service import service_from_context

    with opened_context() as ctx:
        service_from_context(
            ctx, host=host, port=port, workers=workers, metrics_file=OPTS.metrics_file
        ).serve_forever()


def register(app: typer.Typer) -> None:
    app.command("renew-subscriptions")(renew_subscriptions)
    webhooks_app.command("install")(webhooks_install)
    webhooks_app.command("check")(webhooks_check)
    app.add_typer(webhooks_app, name="webhooks")
    app.command()(serve)
