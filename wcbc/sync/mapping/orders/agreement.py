"""The read-back check: the BC document, line by line and in total, against the store's order. Pure.

:func:`expected_lines` lists, in the order the document's non-comment lines are sent, what the store
charged on each (net amount and tax). :func:`compare` sets them against the lines and totals BC computed
and :meth:`Agreement.verdict` decides: ``agree`` (within ``orders.total_tolerance``), ``round`` (the totals
differ by no more than ``orders.rounding_cap``, the tax agrees within the cap, and a rounding account is
set: one rounding line closes it) or ``disagree`` (the draft is deleted and the order fails with
:meth:`Agreement.message`: a table of the lines that differ and the likely cause).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.mapping.orders.document import _fee_line, _item_line, _shipping_line
from wcbc.sync.mapping.orders.fields import _money
from wcbc.sync.mapping.orders.options import MappingOptions
from wcbc.sync.mapping.orders.text import order_label

ZERO = Decimal(0)


@dataclass(frozen=True)
class Expected:
    """One booked line as the store charged it: ``label`` (SKU, shipping or fee name), ``kind``."""

    label: str
    kind: str
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class LineDifference:
    label: str
    kind: str
    store_net: Decimal
    bc_net: Decimal | None
    store_tax: Decimal
    bc_tax: Decimal | None

    @property
    def tax_difference(self) -> Decimal:
        return self.store_tax - (self.bc_tax or ZERO)


@dataclass
class Agreement:
    """The store's total and tax against BC's; ``lines``: the lines whose amount or tax differ."""

    store_total: Decimal
    bc_total: Decimal
    store_tax: Decimal
    bc_tax: Decimal
    lines: list[LineDifference] = field(default_factory=list)
    extra_lines: int = 0  # BC lines beyond the ones sent (e.g. a rounding line)

    @property
    def difference(self) -> Decimal:
        """What a rounding line must add in BC."""
        return self.store_total - self.bc_total

    @property
    def tax_difference(self) -> Decimal:
        return self.store_tax - self.bc_tax

    def verdict(self, tolerance: Decimal, cap: Decimal, rounding_account: str | None) -> str:
        if abs(self.difference) <= tolerance and abs(self.tax_difference) <= max(tolerance, cap):
            return "agree"
        if rounding_account and abs(self.difference) <= cap and abs(self.tax_difference) <= cap:
            return "round"
        return "disagree"

    def as_dict(self) -> dict[str, Any]:
        return {"store_total": str(self.store_total), "bc_total": str(self.bc_total),
                "store_tax": str(self.store_tax), "bc_tax": str(self.bc_tax),
                "lines": [{"line": d.label, "store_tax": str(d.store_tax), "bc_tax": str(d.bc_tax),
                           "store_net": str(d.store_net), "bc_net": str(d.bc_net)} for d in self.lines]}

    def hint(self) -> str:
        """The likely cause, from the shape of the differences."""
        if self.store_tax and not self.bc_tax:
            return ("BC charged no tax where the store did: is the customer tax liable in BC (taxLiable, tax "
                    "area), and do orders.tax_codes name taxed groups?")
        if self.bc_tax and not self.store_tax:
            return ("BC charged tax where the store charged none (a tax-exempt buyer or untaxed lines): map "
                    "untaxed = \"<a 0 % group>\" in orders.tax_codes, or make the customer not tax liable")
        kinds = {d.kind for d in self.lines if d.tax_difference}
        if kinds == {"shipping"}:
            return "only shipping differs: check the tax group of orders.shipping_account and tax_codes"
        if any(d.bc_net is not None and d.bc_net != d.store_net for d in self.lines):
            return ("line amounts differ: check orders.prices_include_tax against the customer's Prices "
                    "Including VAT in BC")
        return "check orders.tax_codes against the rates of the store's tax classes and the items' tax groups"

    def message(self, order: Mapping[str, Any]) -> str:
        rows = [f"{'line':<24} {'store tax':>10} {'BC tax':>10} {'difference':>10}"]
        for d in self.lines:
            bc_tax = "-" if d.bc_tax is None else str(d.bc_tax)
            rows.append(f"{d.label[:24]:<24} {d.store_tax!s:>10} {bc_tax:>10} {d.tax_difference!s:>10}")
        total = f"{self.store_tax!s:>10} {self.bc_tax!s:>10} {self.tax_difference!s:>10}"
        rows.append(f"{'total tax':<24} {total}")
        return (f"{order_label(order)}: the BC document (total {self.bc_total}) does not agree with the "
                f"store (total {self.store_total}); the draft was deleted and nothing was booked\n"
                + "\n".join(rows))


def expected_lines(order: Mapping[str, Any], options: MappingOptions) -> list[Expected]:
    """The store's net amount and tax of each line the document books, in the document's order."""
    found: list[Expected] = []
    for line in order.get("line_items") or []:
        mapped = _item_line(order, line, options, None)
        if mapped is not None:
            found.append(_expected(order, line, str(mapped["lineObjectNumber"]), "item"))
    for line in order.get("shipping_lines") or []:
        if _shipping_line(order, line, options) is not None:
            found.append(_expected(order, line, str(line.get("method_title") or "Shipping"), "shipping"))
    for line in order.get("fee_lines") or []:
        if _fee_line(order, line, options) is not None:
            found.append(_expected(order, line, str(line.get("name") or "Fee"), "fee"))
    return found


def _expected(order: Mapping[str, Any], line: Mapping[str, Any], label: str, kind: str) -> Expected:
    return Expected(label, kind, _money(order, line.get("total"), f"{label} total"),
                    _money(order, line.get("total_tax") or 0, f"{label} total_tax"))


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_money(value)
    except MoneyError:
        return None


def compare(order: Mapping[str, Any], expected: Sequence[Expected], document: Mapping[str, Any],
            bc_lines: Sequence[Mapping[str, Any]]) -> Agreement:
    """The store's order (``expected`` per line) against BC's ``document`` and its lines (by sequence)."""
    booked = [ln for ln in sorted(bc_lines, key=lambda ln: int(ln.get("sequence") or 0))
              if ln.get("lineType") != "Comment"]
    differences = []
    for index, want in enumerate(expected):
        got = booked[index] if index < len(booked) else {}
        net = _amount(got.get("netAmount", got.get("amountExcludingTax")))
        tax = _amount(got.get("netTaxAmount", got.get("totalTaxAmount")))
        if net != want.net or tax != want.tax:
            differences.append(LineDifference(want.label, want.kind, want.net, net, want.tax, tax))
    return Agreement(
        store_total=_money(order, order.get("total"), "total"),
        bc_total=_amount(document.get("totalAmountIncludingTax")) or ZERO,
        store_tax=_money(order, order.get("total_tax") or 0, "total_tax"),
        bc_tax=_amount(document.get("totalTaxAmount")) or ZERO,
        lines=differences,
        extra_lines=max(0, len(booked) - len(expected)),
    )
