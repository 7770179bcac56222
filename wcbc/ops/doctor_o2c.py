"""`wcbc doctor`, the checks of sync-fulfilment's settings (only when they are set): the custom tracking
endpoint answers and has the configured fields; each payment journal exists and has a balancing account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wcbc.core.errors import ConfigError, NotFoundError, RemoteError


def o2c_checks(ctx: Any) -> list[tuple[str, Callable[[], str]]]:
    checks: list[tuple[str, Callable[[], str]]] = []
    if ctx.config.fulfilment.tracking_url:
        checks.append(("tracking endpoint", lambda: tracking(ctx)))
    if ctx.config.payments.journals:
        checks.append(("payment journals", lambda: journals(ctx)))
    return checks


def tracking(ctx: Any) -> str:
    f = ctx.config.fulfilment
    where = {"file": str(ctx.config.path), "key": "fulfilment.tracking_url"}
    try:
        rows = ctx.bc.get(ctx.bc.environment_url(f.tracking_url), {"$top": 1}).get("value") or []
    except (NotFoundError, RemoteError) as exc:
        raise ConfigError(f"the tracking endpoint does not answer: {exc}", **where,
                          hint="publish page 142 in BC's Web Services page (or install the custom API "
                               "page); README \"Fulfilment and payments\"") from None
    if not rows:
        return "answers (no posted shipment yet: field names not checked)"
    fields = (f.tracking_key_field, f.tracking_number_field, f.tracking_agent_field)
    missing = [name for name in fields if name not in rows[0]]
    if missing:
        raise ConfigError(f"the tracking endpoint has no field {', '.join(missing)}", **where,
                          hint=f"its fields: {', '.join(k for k in rows[0] if not k.startswith('@'))}")
    return f"answers with {', '.join(fields)}"


def journals(ctx: Any) -> str:
    found = []
    for method, code in sorted(ctx.config.payments.journals.items()):
        journal = ctx.bc.payment_journal(code)
        where = {"file": str(ctx.config.path), "key": "payments.journals"}
        if journal is None:
            raise ConfigError(f"no customer payment journal {code!r} (for {method})", **where,
                              hint="create the batch in BC's Cash Receipt Journals page")
        if not journal.get("balancingAccountNumber"):
            raise ConfigError(f"payment journal {code!r} has no balancing account: posting would fail",
                              **where, hint="set Bal. Account Type and No. on the journal batch")
        found.append(f"{method} -> {code} ({journal['balancingAccountNumber']})")
    return "; ".join(found)
