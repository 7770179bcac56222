"""What the commands share: the global options, the context they run in, and option values parsed into
library types."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    take_over: bool = False
    # set once the command's context is open: its redactor (knowing the vault's secrets) and state file
    redactor: Callable[[str], str] | None = None
    state_path: Path | None = None


OPTS = Options()


def redact(text: str) -> str:
    """``text`` as it may be printed: every known secret and credential-looking form masked. Before a
    command has opened its context, the redactor knows no secret values but still masks Authorization
    headers, Basic/Bearer credentials, WooCommerce keys and credential fields."""
    if OPTS.redactor is None:
        from wcbc.core.redact import Redactor

        OPTS.redactor = Redactor()
    return OPTS.redactor(text)


def redact_data(data: Any) -> Any:
    """A copy of ``data`` (dicts, lists, tuples) with every string passed through :func:`redact`."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k) if isinstance(k, str) else k: redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return data


def context():  # noqa: ANN201 - imported lazily so `wcbc --help` stays fast
    """The command's :class:`wcbc.ops.context.Context`; its secrets are masked in every log line."""
    from wcbc.ops.context import open_context

    ctx = open_context(OPTS.config, allow_http=OPTS.allow_http)
    ctx.take_over = OPTS.take_over  # before anything opens the state
    OPTS.state_path = ctx.config.state.path
    from wcbc.core.logs import set_redactor

    try:
        redactor = ctx.redactor
    except WcbcError:
        # No vault to read the secrets from (yet): logs still mask credential patterns; the command
        # that needs the vault fails with its own message when it opens it.
        return ctx
    set_redactor(redactor)
    OPTS.redactor = redactor
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
