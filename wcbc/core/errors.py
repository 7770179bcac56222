"""The one exception tree of wcbc.

Every expected failure is a subclass of :class:`WcbcError`. ``wcbc.cli.app`` is the only place
that turns these into messages and exit codes (see README "Exit codes"):

* 0: all done (also: another run holds the lock, see :class:`LockHeld`)
* 1: some records failed; they are kept for replay
* 2: usage or configuration error (config, vault, state file)
* 3: a system is unreachable or rejected our credentials

Messages must never contain a secret: they are printed, logged and journaled.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The process exit codes of ``wcbc`` (README "Exit codes"); 130 is Ctrl-C, as every shell does."""

    OK = 0
    RECORDS_FAILED = 1
    CONFIG = 2
    REMOTE = 3
    INTERRUPTED = 130


class WcbcError(Exception):
    """Base of every expected wcbc error."""

    exit_code: ExitCode = ExitCode.RECORDS_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(WcbcError):
    """The command line was wrong."""

    exit_code = ExitCode.CONFIG


class ConfigError(WcbcError):
    """The configuration file is missing, unreadable or holds a bad value."""

    exit_code = ExitCode.CONFIG

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if file and key:
            where = f"{file}: [{key}] " if "." not in key else f"{file}: {key}: "
        elif file:
            where = f"{file}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}", hint=hint)
        self.file = file
        self.key = key


class VaultError(WcbcError):
    """The credential vault cannot be opened, decrypted or written."""

    exit_code = ExitCode.CONFIG


class StateError(WcbcError):
    """The state database cannot be used (for example: written by a newer wcbc)."""

    exit_code = ExitCode.CONFIG


class LockHeld(WcbcError):
    """Another run of the same command holds the run lock. Not a failure: exit 0."""

    exit_code = ExitCode.OK


class RemoteError(WcbcError):
    """A call to WooCommerce or Business Central failed.

    ``system`` is "woocommerce", "business_central" or "entra"; ``call`` names the request
    (for example ``GET /wp-json/wc/v3/orders/16``) without credentials or query secrets.
    """

    exit_code = ExitCode.RECORDS_FAILED

    def __init__(
        self,
        message: str,
        *,
        system: str,
        call: str = "",
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        prefix = f"{system}: {call}: " if call else f"{system}: "
        suffix = ""
        if status is not None or code:
            suffix = f" (HTTP {status}{', ' + code if code else ''})"
        super().__init__(f"{prefix}{message}{suffix}", hint=hint)
        self.system = system
        self.call = call
        self.status = status
        self.code = code
        self.detail = message


class NotFoundError(RemoteError):
    """The remote resource does not exist (HTTP 404)."""


class ValidationError(RemoteError):
    """The remote system refused the request's content (HTTP 400/409/412/422...)."""


class ThrottledError(RemoteError):
    """HTTP 429 kept coming after every retry."""

    exit_code = ExitCode.REMOTE


class AuthError(RemoteError):
    """Credentials were rejected (HTTP 401/403, or a token error)."""

    exit_code = ExitCode.REMOTE


class UnreachableError(RemoteError):
    """The system could not be reached (DNS, TLS, connection, timeout, or 5xx after retries)."""

    exit_code = ExitCode.REMOTE


class AmbiguousWriteError(UnreachableError):
    """A non-idempotent write may or may not have been applied.

    Raised when a POST was sent but its answer was lost (read timeout, connection dropped after sending)
    or was a 408/500/502/504. The document may exist: look it up (e.g. by externalDocumentNumber) before
    sending it again. ``exit_code`` is that of :class:`UnreachableError` (3).
    """


class RecordError(WcbcError):
    """One record cannot be processed (unknown SKU, missing account, bad payload...).

    The record is kept (failed, then on hold) for ``wcbc replay``.
    """

    exit_code = ExitCode.RECORDS_FAILED


class SignatureError(WcbcError):
    """A webhook delivery's signature is missing or does not match."""

    exit_code = ExitCode.RECORDS_FAILED


# Errors that concern the whole run, not one record: a sync stops (exit 3) instead of failing records.
SYSTEMIC: tuple[type[WcbcError], ...] = (AuthError, UnreachableError, ThrottledError)
