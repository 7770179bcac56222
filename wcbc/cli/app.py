"""The `wcbc` command line: the root app, its global options, and :func:`main`, the one place that turns
errors into messages and exit codes (:class:`wcbc.core.errors.ExitCode`).

Nothing in ``wcbc.cli`` knows how to sync anything; each command is a few lines around a library call,
one module per command group: :mod:`~wcbc.cli.setup` (init, credentials), :mod:`~wcbc.cli.sync`
(sync-orders, sync-items, reconcile, replay), :mod:`~wcbc.cli.webhooks` (serve, renew-subscriptions,
webhooks), :mod:`~wcbc.cli.ops` (doctor, status, audit, failures, demo, sandbox); what they print is in
:mod:`~wcbc.cli.output`.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wcbc import __version__
from wcbc.cli import fulfilment, setup, sync, webhooks
from wcbc.cli import ops as ops_commands
from wcbc.cli.common import OPTS, redact
from wcbc.cli.output import err, out
from wcbc.core.errors import ExitCode, LockHeld, WcbcError

__all__ = ["OPTS", "app", "err", "main", "out"]

app = typer.Typer(
    name="wcbc",
    help="Keeps a WooCommerce store and Microsoft Dynamics 365 Business Central aligned.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
log = logging.getLogger("wcbc")


def _version(value: bool) -> None:
    if value:
        print(f"wcbc {__version__}")
        raise typer.Exit(ExitCode.OK)


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
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over",
            help="Make this host the state file's only user (after stopping a copy running elsewhere).",
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    if log_format not in ("text", "json"):
        raise typer.BadParameter("--log-format must be text or json")
    OPTS.config, OPTS.debug, OPTS.quiet, OPTS.json = config, debug, quiet, json_out
    OPTS.allow_http, OPTS.log_format = allow_http, log_format
    OPTS.metrics_file, OPTS.take_over = metrics_file, take_over
    OPTS.redactor, OPTS.state_path = None, None
    from wcbc.core.logs import setup_logging

    setup_logging("debug" if debug else "info", log_format, quiet=quiet)


for _group in (setup, sync, webhooks, ops_commands, fulfilment):
    _group.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the one place that maps errors to exit codes and messages."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        code = app(args=argv, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except LockHeld as exc:  # another run of the command is busy: not a failure
        if not OPTS.quiet:
            err.print(f"[yellow]{escape(redact(str(exc)))}[/yellow]")
        sys.exit(exc.exit_code)
    except WcbcError as exc:
        if OPTS.debug:
            err.print(redact(traceback.format_exc()), highlight=False, markup=False)
        err.print(f"[red]error:[/red] {escape(redact(str(exc)))}", highlight=False)
        if exc.hint:
            err.print(f"[dim]hint:[/dim] {escape(redact(exc.hint))}", highlight=False)
        sys.exit(exc.exit_code)
    except sqlite3.Error as exc:  # the state DB failed by a path that did not wrap it in StateError
        where = f"state file {OPTS.state_path}" if OPTS.state_path else "the state file"
        first_line = (str(exc).splitlines() or [""])[0][:200]
        err.print(f"[red]error:[/red] {escape(redact(f'{where}: {type(exc).__name__}: {first_line}'))}",
                  highlight=False)
        err.print("[dim]hint:[/dim] is the disk full, or the file or its directory read-only? "
                  "(df -h; ls -l)", highlight=False)
        sys.exit(ExitCode.CONFIG)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # click usage errors and genuine bugs
        # typer vendors its own click: recognise its exceptions by shape, not by class.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)  # click's usage errors exit 2 (ExitCode.CONFIG)
        if type(exc).__name__ == "Abort":
            sys.exit(ExitCode.RECORDS_FAILED)
        if OPTS.debug:
            raise
        # The message is not printed: a library's exception text could carry a URL or a value.
        err.print(f"[red]internal error:[/red] {type(exc).__name__} (rerun with --debug for the traceback)")
        sys.exit(ExitCode.RECORDS_FAILED)
