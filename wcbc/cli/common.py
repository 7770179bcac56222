"""What the commands share: the global options, the context they run in, and option values parsed into
library types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from wcbc.core.errors import ConfigError, ExitCode, UsageError, WcbcError


@dataclass
class Options:
    """The root options (``wcbc --json ... <command>``), set by the root callback for each invocation."""

    config: Path | None = None
    debug: bool = False
    quiet: bool = False
    json: bool = False
    allow_http: bool = False
    log_format: str = "text"
    metrics_file: Path | None = None


OPTS = Options()


def context():  # noqa: ANN201 - imported lazily so `wcbc --help` stays fast
    """The command's :class:`wcbc.ops.context.Context`; its secrets are masked in every log line."""
    from wcbc.ops.context import open_context

    ctx = open_context(OPTS.config, allow_http=OPTS.allow_http)
    try:
        from wcbc.core.logs import set_redactor

        set_redactor(ctx.redactor)
    except (ImportError, WcbcError):
        pass
    return ctx


@contextmanager
def opened_context() -> Iterator[Any]:
    """:func:`context`, closed (state, clients) when the command ends."""
    ctx = context()
    try:
        yield ctx
    finally:
        ctx.close()


def exit_failed_if(failed: bool) -> None:
    """Some records failed (they are kept for replay): exit 1 once the summary is printed."""
    if failed:
        raise typer.Exit(ExitCode.RECORDS_FAILED)


def show_progress() -> bool:
    return not (OPTS.quiet or OPTS.json)


def parse_since(value: str | None) -> datetime | None:
    """``--since``: an ISO-8601 date or timestamp (bare = UTC)."""
    if value is None:
        return None
    from wcbc.core.time import parse_strict

    try:
        return parse_strict(value, "--since")
    except ValueError as exc:
        raise UsageError(f"--since {value!r} is not an ISO-8601 date or timestamp") from exc


def public_url(ctx: Any) -> str:
    """``[serve] public_url``, required by the webhook commands."""
    url = ctx.config.serve.public_url
    if not url:
        raise ConfigError(
            "not set: where `wcbc serve` is reachable from WooCommerce and BC",
            file=str(ctx.config.path),
            key="serve.public_url",
        )
    return url
