"""Logging set-up: stderr only, text or JSON lines, every record passed through the redactor.

Tracebacks are the standard ones (no local variables are ever rendered). Both the message and
any extra string fields are redacted, and so is the rendered traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from wcbc.core.errors import UsageError
from wcbc.core.redact import Redactor

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
FORMATS = ("text", "json")

# attributes every LogRecord has; anything else was passed through extra=
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime"}

_HANDLER_FLAG = "_wcbc_handler"


class _Swappable:
    """The redact callable shared by a handler's filter and formatter; replaced by set_redactor()."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self.redact = redact

    def __call__(self, text: str) -> str:
        return self.redact(text)


class RedactFilter(logging.Filter):
    """Renders the message with its args, redacts it, and redacts string ``extra`` fields."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not kill the program
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message`` (local time), traceback redacted."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, Z), level, logger, message, extra fields, exc."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        out: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name.startswith("_") or name in out:
                continue
            out[name] = self._clean(value)
        if record.exc_info:
            out["exc"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return self.redact(repr(value))
        redacted = self.redact(text)
        try:
            return json.loads(redacted)
        except ValueError:
            return redacted


def setup_logging(
    level: str = "info",
    fmt: str = "text",
    quiet: bool = False,
    redactor: Redactor | Callable[[str], str] | None = None,
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send wcbc's (and its libraries') logs to stderr, redacted; returns the handler installed.

    ``level`` is debug|info|warning|error; ``quiet`` shows warnings and errors only. Calling it
    again replaces the previous wcbc handler (safe in tests and for the CLI's --log-format).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown log format {fmt!r}; use text or json")
    try:
        numeric = LEVELS[level.lower()]
    except KeyError:
        raise UsageError(f"unknown log level {level!r}; use {', '.join(LEVELS)}") from None
    if quiet:
        numeric = max(numeric, logging.WARNING)
    # without a redactor yet (before the vault is open) the patterns still apply: Authorization headers,
    # Basic/Bearer credentials, ck_/cs_ keys, credential fields
    redact = _Swappable(redactor if redactor is not None else Redactor())

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_FLAG, redact)
    handler.addFilter(RedactFilter(redact))
    formatter: logging.Formatter = JSONFormatter(redact) if fmt == "json" else TextFormatter(redact)
    formatter.converter = time.localtime
    handler.setFormatter(formatter)
    handler.setLevel(numeric)

    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_FLAG, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    # chatty libraries: their debug output may carry URLs and headers; keep them at warning unless debug
    for name in ("urllib3", "msal", "requests", "waitress"):
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)
    return handler


def set_redactor(redactor: Redactor | Callable[[str], str]) -> int:
    """Use ``redactor`` in the handlers installed by :func:`setup_logging` (e.g. once the vault is
    open and the secrets are known). Returns the number of handlers updated."""
    updated = 0
    for handler in logging.getLogger().handlers:
        holder = getattr(handler, _HANDLER_FLAG, None)
        if isinstance(holder, _Swappable):
            holder.redact = redactor
            updated += 1
    return updated
