"""The check after booking: WooCommerce's total against the BC document's, and the rounding line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wcbc.core.errors import ConfigError, RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money, to_json_number
from wcbc.sync.mapping.orders.fields import _money
from wcbc.sync.mapping.orders.options import MappingOptions
from wcbc.sync.mapping.orders.text import DESCRIPTION_MAX, clip, order_label


@dataclass(frozen=True)
class TotalCheck:
    """WooCommerce's order total against the BC document's ``totalAmountIncludingTax``.

    ``difference`` = ``woo_total - bc_total`` (what a rounding line must add in BC).
    """

    woo_total: Decimal
    bc_total: Decimal
    difference: Decimal
    within_tolerance: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (amounts as strings) for the journal."""
        return {"woo_total": str(self.woo_total), "bc_total": str(self.bc_total),
                "difference": str(self.difference), "within_tolerance": self.within_tolerance}


def expected_total(order: Mapping[str, Any]) -> Decimal:
    """WooCommerce's order ``total`` (including tax, shipping and fees), exactly."""
    return _money(order, order.get("total"), "total")


def compare_totals(order: Mapping[str, Any], bc_document: Mapping[str, Any],
                   tolerance: Decimal | str | float = Decimal("0.01")) -> TotalCheck:
    """Compare :func:`expected_total` with BC's ``totalAmountIncludingTax``.

    ``within_tolerance`` is ``abs(difference) <= tolerance``.
    """
    woo = expected_total(order)
    if "totalAmountIncludingTax" not in bc_document or bc_document.get("totalAmountIncludingTax") is None:
        raise RecordError(f"{order_label(order)}: the BC document carries no totalAmountIncludingTax")
    try:
        bc = parse_money(bc_document["totalAmountIncludingTax"])
        limit = abs(parse_money(tolerance))
    except MoneyError:
        raise RecordError(f"{order_label(order)}: unreadable BC total "
                          f"{bc_document.get('totalAmountIncludingTax')!r}") from None
    difference = woo - bc
    return TotalCheck(woo_total=woo, bc_total=bc, difference=difference,
                      within_tolerance=abs(difference) <= limit)


def rounding_line(difference: Decimal | str | float, account: str, *,
                  description: str = "Rounding difference to the WooCommerce total") -> dict[str, Any]:
    """An Account line that adds ``difference`` (positive or negative) on ``account``.

    Shape: ``{"lineType": "Account", "lineObjectNumber": account, "description", "quantity": 1,
    "unitPrice": difference}``. The account should carry no tax group, else BC adds tax on top.
    """
    if not account or not str(account).strip():
        raise ConfigError("no rounding account configured", key="orders.rounding_account")
    return {
        "lineType": "Account",
        "lineObjectNumber": str(account).strip(),
        "description": clip(description, DESCRIPTION_MAX),
        "quantity": 1,
        "unitPrice": to_json_number(parse_money(difference)),
    }


def prices_include_tax_mismatch(bc_document: Mapping[str, Any], options: MappingOptions) -> str | None:
    """A message when the created BC document's ``pricesIncludeTax`` is not what the mapping assumed.

    Matters for invoices, where the flag is read-only and follows the customer card; ``None`` when it matches
    or BC did not return the field.
    """
    value = bc_document.get("pricesIncludeTax")
    if value is None or bool(value) == bool(options.prices_include_tax):
        return None
    want = "including" if options.prices_include_tax else "excluding"
    got = "including" if value else "excluding"
    return (f"the BC document prices are {got} tax but orders.prices_include_tax says {want}; "
            "set the customer's Prices Including VAT accordingly or change orders.prices_include_tax")

