"""`wcbc doctor`: check the config, the vault and the state DB, then ping both systems for real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wcbc.core.errors import ConfigError, ExitCode, NotFoundError, WcbcError


@dataclass
class Check:
    """One line of the doctor's table. ``warning``: it passed, but something needs attention (the exit
    code stays 0)."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None
    exit_code: ExitCode = ExitCode.OK
    warning: bool = False

    @property
    def result(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warning else "pass"


class Warn(Exception):
    """Raised by a check that passes with a warning."""

    def __init__(self, detail: str, hint: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


def _attempt(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Warn as warning:
        return Check(name, True, warning.detail, warning.hint, warning=True)
    except WcbcError as exc:
        return Check(name, False, str(exc), exc.hint, exc.exit_code)


def run_checks(config_path: Path | None, *, allow_http: bool = False, take_over: bool = False) -> list[Check]:
    """Each check runs even when an earlier one failed, unless it depends on it. Every detail and hint
    is passed through the installation's redactor (or, without a readable vault, the pattern-only one)."""
    holder: dict[str, Any] = {}
    try:
        checks = _run(config_path, allow_http, take_over, holder)
    finally:
        if "ctx" in holder:
            holder["ctx"].close()
    redact = _redactor(holder.get("ctx"))
    for check in checks:
        check.detail = redact(check.detail)
        check.hint = redact(check.hint) if check.hint else check.hint
    return checks


def _redactor(ctx: Any) -> Callable[[str], str]:
    from wcbc.core.redact import Redactor

    if ctx is not None:
        try:
            return ctx.redactor  # type: ignore[no-any-return]
        except WcbcError:
            pass
    return Redactor()


def _run(config_path: Path | None, allow_http: bool, take_over: bool, holder: dict[str, Any]) -> list[Check]:
    from wcbc.core.config import load_config
    from wcbc.ops.context import Context

    checks: list[Check] = []

    def config() -> str:
        holder["ctx"] = Context(load_config(config_path, allow_http=allow_http), take_over=take_over)
        return str(holder["ctx"].config.path)

    checks.append(_attempt("config", config))
    if "ctx" not in holder:
        return checks
    ctx = holder["ctx"]

    def vault() -> str:
        status = ctx.vault.status()
        needed = ("woo_consumer_key", "woo_consumer_secret", "bc_client_secret")
        missing = [name for name in needed if status.get(name) == "missing"]
        if missing:
            raise ConfigError(
                f"secrets not set: {', '.join(missing)}",
                hint="wcbc credentials set woocommerce / wcbc credentials set business-central",
            )
        later = [n for n in ("woo_webhook_secret", "bc_client_state") if status.get(n) == "missing"]
        note = f"; not set yet (needed by serve): {', '.join(later)}" if later else ""
        return f"credentials set (key from {ctx.vault.key_source}){note}"

    checks.append(_attempt("vault", vault))

    def state() -> str:
        counts = ctx.state.counts()
        return f"{ctx.config.state.path} ({sum(counts.values())} records)"

    checks.append(_attempt("state", state))
    if checks[-1].ok:
        from wcbc.ops import state_checks

        checks.append(_attempt("state integrity", lambda: state_checks.integrity(ctx.state)))
        checks.append(_attempt("state owner", lambda: state_checks.owner(
            ctx.state, ctx.config.state.copy_window_hours)))
    if not checks[1].ok:
        return checks

    def woo() -> str:
        ctx.woo.ping()
        return f"authenticated read OK at {ctx.config.woocommerce.url}"

    checks.append(_attempt("woocommerce", woo))

    def token() -> str:
        ctx.tokens.token()
        return "client-credentials token acquired"

    token_check = _attempt("entra token", token)
    checks.append(token_check)
    if token_check.ok:

        def company() -> str:
            try:
                data = ctx.bc.company()
            except NotFoundError:
                listed = ", ".join(f"{c.get('id')} ({c.get('name')})" for c in ctx.bc.companies())
                raise ConfigError(
                    f"company {ctx.config.business_central.company_id} is not a company of environment "
                    f"{ctx.config.business_central.environment!r}",
                    file=str(ctx.config.path),
                    key="business_central.company_id",
                    hint=f"the environment's companies: {listed or 'none'}",
                ) from None
            return f"company {data.get('name') or data.get('displayName')} ({data.get('id')})"

        checks.append(_attempt("business central", company))
        if checks[-1].ok:
            from wcbc.ops.checks_accounting import accounting_checks

            checks.extend(accounting_checks(ctx))
        from wcbc.ops.doctor_o2c import o2c_checks

        checks.extend(_attempt(name, fn) for name, fn in o2c_checks(ctx))
    checks.append(_attempt("clock", lambda: _clock(ctx)))
    return checks


def _clock(ctx: Any) -> str:
    """The skew against the Date headers of the answers just received (WooCommerce, then BC). Only the
    clients the checks above built are read (``functools.cached_property`` keeps them in ``vars(ctx)``)."""
    from wcbc.ops.clock import skew_of, verdict

    built = vars(ctx)
    skews = [skew_of("WooCommerce", built.get("woo")), skew_of("Business Central", built.get("bc"))]
    ok, detail, hint = verdict(skews, ctx.config.orders.overlap_seconds)
    if not ok:
        raise Warn(detail, hint)
    return detail


def exit_code(checks: list[Check]) -> ExitCode:
    """The worst failed check's code; a failed check without one counts as RECORDS_FAILED (a warning
    is not a failure)."""
    worst = max((c.exit_code for c in checks if not c.ok), default=ExitCode.OK)
    if worst == ExitCode.OK and any(not c.ok for c in checks):
        return ExitCode.RECORDS_FAILED
    return ExitCode(worst)
