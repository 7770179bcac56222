"""sync-orders, pure decisions taken after BC answered a booking: the totals' follow-up (a rounding line or a
warning) and what the order's link keeps. Split from :mod:`.plan`, which re-exports both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wcbc.sync.mapping import orders as mapping

if TYPE_CHECKING:
    from wcbc.sync.orders.plan import Policy


@dataclass(frozen=True)
class TotalsFollowUp:
    """What the totals check asks for once BC answered: a rounding line, or a warning (or nothing)."""

    difference: Decimal | None
    rounding_line: dict[str, Any] | None = None
    warning: str | None = None
    prices_include_tax: str | None = None  # the document's pricesIncludeTax is not what the mapping assumed


def follow_up_totals(order: Mapping[str, Any], doc: Mapping[str, Any], policy: Policy,
                     options: mapping.MappingOptions) -> TotalsFollowUp:
    """WooCommerce's total against BC's: within ``orders.total_tolerance`` nothing; else a rounding line
    on ``orders.rounding_account``, or a warning when none is configured. Also warns when the document's
    ``pricesIncludeTax`` (read-only on invoices: it follows the customer) contradicts
    ``orders.prices_include_tax``."""
    check = mapping.compare_totals(order, doc, policy.total_tolerance)
    tax = mapping.prices_include_tax_mismatch(doc, options)
    if check.within_tolerance:
        return TotalsFollowUp(check.difference or None, prices_include_tax=tax)
    if policy.rounding_account:
        line = mapping.rounding_line(check.difference, policy.rounding_account)
        return TotalsFollowUp(check.difference, line, prices_include_tax=tax)
    warning = (
        f"BC total {check.bc_total} differs from WooCommerce total {check.woo_total} by {check.difference} "
        "(set orders.rounding_account to add a rounding line)"
    )
    return TotalsFollowUp(check.difference, warning=warning, prices_include_tax=tax)


def booked_link_data(order: Mapping[str, Any], entity: str | None, **extra: Any) -> dict[str, Any]:
    """What the order's link keeps: the entity and the summary later runs compare the order with."""
    return {"entity": entity, "summary": mapping.summarize(order), **extra}
