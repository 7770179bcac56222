"""`wcbc doctor`'s accounting checks (issue 13): the tax-code table, the rounding account and the currency,
each against what BC holds. Read-only: nothing is created in BC."""

from __future__ import annotations

from typing import Any

from wcbc.core.errors import ConfigError
from wcbc.ops.doctor import Check, _attempt


def _codes(bc: Any, entity: str) -> set[str]:
    return {str(row.get("code") or "").upper() for row in bc.iter(entity, {"$select": "code"})}


def tax_codes(ctx: Any) -> str:
    """Every code of ``[orders.tax_codes]`` is a BC tax group (VAT product posting group under VAT)."""
    table = dict(ctx.config.orders.tax_codes or {})
    if not table:
        return "no [orders.tax_codes]: lines keep their item's or account's tax group"
    known = _codes(ctx.bc, "taxGroups")
    missing = sorted({f"{k} = {v}" for k, v in table.items() if str(v).strip().upper() not in known})
    if missing:
        raise ConfigError(f"not tax groups in BC: {', '.join(missing)}", key="orders.tax_codes",
                          hint=f"BC's tax groups: {', '.join(sorted(known)) or 'none'}")
    return f"{len(table)} tax classes mapped to BC tax groups"


def rounding_account(ctx: Any) -> str:
    """The rounding account exists, is a posting account and not blocked, and its lines are sent untaxed."""
    number = ctx.config.orders.rounding_account
    if not number:
        return "no rounding_account: any difference beyond total_tolerance fails the order"
    from wcbc.adapters.bc import odata

    found = list(ctx.bc.iter("accounts", {"$filter": odata.eq("number", number)}))
    if not found:
        raise ConfigError(f"G/L account {number} does not exist in BC", key="orders.rounding_account")
    account = found[0]
    if account.get("blocked") or account.get("accountType") not in (None, "Posting"):
        raise ConfigError(f"G/L account {number} is blocked or not a posting account",
                          key="orders.rounding_account")
    untaxed = (ctx.config.orders.tax_codes or {}).get("untaxed")
    cap = ctx.config.orders.rounding_cap
    if not untaxed:
        # The v2.0 accounts page does not show the account's tax group: say so rather than guess. A taxed
        # rounding line changes the document's tax, which the read-back check refuses.
        return (f"G/L account {number}, capped at {cap}; its tax group is not visible through the API: map "
                "untaxed = \"<a 0 % group>\" under [orders.tax_codes] to send rounding lines untaxed")
    return f"G/L account {number}, capped at {cap}, rounding lines sent with tax group {untaxed}"


def currency(ctx: Any) -> str:
    """``local_currency`` is set and is not a BC Currency record (the LCY never is); ``customer_currency``,
    when it is not the local one, is."""
    orders = ctx.config.orders
    if not orders.local_currency:
        raise ConfigError("orders.local_currency is not set", key="orders.local_currency",
                          hint="set it to BC's LCY Code (General Ledger Setup), e.g. USD")
    known = _codes(ctx.bc, "currencies")
    local = orders.local_currency.upper()
    if local in known:
        raise ConfigError(f"{local} is a foreign currency in BC, not its local currency",
                          key="orders.local_currency", hint="set BC's LCY Code (General Ledger Setup)")
    other = (orders.customer_currency or "").upper()
    if other and other != local and other not in known:
        raise ConfigError(f"{other} is not a currency in BC", key="orders.customer_currency")
    return f"local currency {local}; BC currencies: {', '.join(sorted(known)) or 'none'}"


def accounting_checks(ctx: Any) -> list[Check]:
    """Each check as a doctor line; the sandbox's default config passes the tax and currency checks."""
    return [
        _attempt("tax codes", lambda: tax_codes(ctx)),
        _attempt("rounding account", lambda: rounding_account(ctx)),
        _attempt("currency", lambda: currency(ctx)),
    ]
