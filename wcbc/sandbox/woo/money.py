"""Money, tax and coupon arithmetic of the WooCommerce simulator, and PHP-style JSON encoding.

Its own Decimal maths (nothing shared with the connector). The rules follow what a real
WooCommerce 10.0.2 produced (see contracts/woocommerce/real-store):

- line ``subtotal`` = price x quantity, ``total`` = subtotal - the line's share of every coupon;
- coupons follow ``WC_Discounts`` in cents (woocommerce.md errata, corrected 2026-12-04 against a real
  store): a percentage coupon is taken per line from the line's undiscounted price (floor), the cart's
  wanted total rounded half *down* (``WC_DISCOUNT_ROUNDING_MODE`` = ``PHP_ROUND_HALF_DOWN``), the
  leftover cents handed out one per unit of quantity, line by line; a fixed-cart coupon is split per
  unit of quantity (amount // units each, floored, repeated on what is left, then one cent per unit);
- shipping is taxed with the cart's tax class when the shipping tax class is ``inherit`` (see
  ``shipping_tax_class``);
- tax is computed per line and per rate and rounded per line (half up), shipping and fees likewise;
- ``coupon_lines[].discount`` is unformatted (``"8.2"``, ``"5"``), ``discount_tax`` is the per-line rounded
  tax on the discount amounts;
- order totals satisfy ``total = sum(line.total) + sum(shipping.total) + sum(fee.total) + total_tax``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    """Parse a money value as WooCommerce would (empty/None -> 0)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return ZERO


def round_money(value: Decimal, dp: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)


def fmt(value: Decimal | str | int | float, dp: int) -> str:
    """``wc_format_decimal(value, dp)``: rounded to ``dp`` and padded (``"10.00"``; ``"10"`` when dp=0)."""
    q = round_money(dec(value), dp)
    if q == 0:
        q = abs(q)
    return f"{q:.{dp}f}"


def fmt_trim(value: Decimal | str | int | float) -> str:
    """``wc_format_decimal(value)`` without dp: trailing zeros trimmed (``"8.2"``, ``"5"``)."""
    q = dec(value)
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def php_number(value: Decimal | int | float) -> int | float:
    """A money number as WooCommerce writes it: whole as an int (18), others shortest (37.8)."""
    d = dec(value)
    if d == d.to_integral_value():
        return int(d)
    return float(d)


def stored_price(value: Any) -> str:
    """A price as WooCommerce stores what it was sent: strings as-is, numbers as PHP casts them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def php_json(obj: Any) -> bytes:
    """``wp_json_encode``: compact, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


# --------------------------------------------------------------------------- tax


@dataclass(frozen=True)
class TaxRate:
    rate_id: int
    label: str
    rate: Decimal  # percent, e.g. Decimal("7.25")
    tax_class: str = ""  # "" = standard, "reduced-rate", ...
    shipping: bool = True
    country: str = "US"
    state: str = "CA"
    priority: int = 1

    @property
    def rate_code(self) -> str:
        parts = [self.country, self.state, self.label.upper(), str(self.priority)]
        return "-".join(parts)

    @property
    def percent_number(self) -> int | float:
        return php_number(self.rate)


def tax_on(amount: Decimal, rate: TaxRate, *, inclusive: bool) -> Decimal:
    """Unrounded tax of ``amount`` (exclusive: on top; inclusive: contained in it)."""
    if inclusive:
        return amount - amount / (1 + rate.rate / 100)
    return amount * rate.rate / 100


# --------------------------------------------------------------------------- order totals


@dataclass
class LineCalc:
    """Input: unit price and quantity; output: the line's money fields (Decimals, ex tax)."""

    price: Decimal
    quantity: int
    rates: list[TaxRate]
    taxable: bool = True
    subtotal: Decimal = ZERO
    total: Decimal = ZERO
    subtotal_taxes: dict[int, Decimal] = field(default_factory=dict)
    total_taxes: dict[int, Decimal] = field(default_factory=dict)
    discounts: dict[str, Decimal] = field(default_factory=dict)  # coupon code -> gross discount
    discount_taxes: dict[str, Decimal] = field(default_factory=dict)  # coupon code -> rounded tax

    @property
    def subtotal_tax(self) -> Decimal:
        return sum(self.subtotal_taxes.values(), ZERO)

    @property
    def total_tax(self) -> Decimal:
        return sum(self.total_taxes.values(), ZERO)


@dataclass(frozen=True)
class CouponSpec:
    code: str
    discount_type: str  # percent | fixed_cart | fixed_product
    amount: Decimal


def _remainder(remaining: list[int], quantities: list[int], amount: int) -> list[int]:
    """``apply_coupon_remainder``: one cent per unit of quantity, line by line, until ``amount`` is
    reached (a line with nothing left to discount gets nothing)."""
    shares = [0 for _ in remaining]
    given = 0
    for i, qty in enumerate(quantities):
        for _ in range(qty):
            if given >= amount:
                return shares
            if remaining[i] - shares[i] > 0:
                shares[i] += 1
                given += 1
    return shares


def _percent(prices: list[int], remaining: list[int], quantities: list[int], pct: Decimal) -> list[int]:
    """``apply_coupon_percent`` (discounts not sequential, the store default): per line floor(price x pct)
    of the line's undiscounted price, capped by what is left; the cart's discount rounded half down;
    the difference handed out by ``_remainder``."""
    shares = [
        min(r, int((Decimal(p) * pct / 100).to_integral_value(ROUND_FLOOR)))
        for p, r in zip(prices, remaining, strict=True)
    ]
    wanted = int((Decimal(sum(prices)) * pct / 100).to_integral_value(ROUND_HALF_DOWN))
    if sum(shares) < wanted:
        left = [r - s for r, s in zip(remaining, shares, strict=True)]
        extra = _remainder(left, quantities, wanted - sum(shares))
        shares = [s + e for s, e in zip(shares, extra, strict=True)]
    return shares


def _fixed_cart(remaining: list[int], quantities: list[int], amount: int) -> list[int]:
    """``apply_coupon_fixed_cart``: every unit of quantity of a line with something left to discount gets
    ``amount // units`` (capped by the line); what is left is split again the same way, and when less
    than a cent per unit remains, one cent per unit (``_remainder``)."""
    shares = [0 for _ in remaining]
    left_to_give = amount
    while left_to_give > 0:
        left = [r - s for r, s in zip(remaining, shares, strict=True)]
        units = sum(q for q, r in zip(quantities, left, strict=True) if r > 0)
        if not units:
            break
        per_unit = left_to_give // units
        if per_unit > 0:
            given = [min(r, per_unit * q) if r > 0 else 0 for r, q in zip(left, quantities, strict=True)]
            if sum(given) == 0:
                break
            shares = [s + g for s, g in zip(shares, given, strict=True)]
            left_to_give -= sum(given)
        else:
            extra = _remainder(left, quantities, left_to_give)
            shares = [s + e for s, e in zip(shares, extra, strict=True)]
            break
    return shares


def apply_coupons(lines: list[LineCalc], coupons: list[CouponSpec], dp: int, *, inclusive: bool) -> None:
    """Fill ``discounts`` on each line (gross amounts in the price basis), coupons in sequence."""
    unit = 10**dp
    prices = [int((ln.price * ln.quantity * unit).to_integral_value(ROUND_HALF_UP)) for ln in lines]
    quantities = [ln.quantity for ln in lines]
    remaining = list(prices)
    for coupon in coupons:
        if coupon.discount_type == "percent":
            shares = _percent(prices, remaining, quantities, coupon.amount)
        elif coupon.discount_type == "fixed_product":
            shares = [
                min(r, int((coupon.amount * ln.quantity * unit).to_integral_value(ROUND_HALF_UP)))
                for r, ln in zip(remaining, lines, strict=True)
            ]
        else:  # fixed_cart
            cents = int((coupon.amount * unit).to_integral_value(ROUND_HALF_UP))
            shares = _fixed_cart(remaining, quantities, cents)
        for i, share in enumerate(shares):
            remaining[i] -= share
            lines[i].discounts[coupon.code] = (
                lines[i].discounts.get(coupon.code, ZERO) + Decimal(share) / unit
            )


def shipping_tax_class(line_classes: list[str], class_slugs: list[str]) -> str | None:
    """The class shipping is taxed with when its tax class is ``inherit`` (``WC_Abstract_Order::
    calculate_taxes``): the first of standard ("") then the store's classes in their order that a taxable
    line item has; None when no line item is taxable (shipping is then untaxed)."""
    for slug in ["", *class_slugs]:
        if slug in line_classes:
            return slug
    return None


def calc_line(line: LineCalc, dp: int, *, inclusive: bool) -> None:
    gross_sub = line.price * line.quantity
    gross_total = gross_sub - sum(line.discounts.values(), ZERO)
    line.subtotal_taxes = {}
    line.total_taxes = {}
    line.discount_taxes = {}
    if line.taxable:
        for rate in line.rates:
            line.subtotal_taxes[rate.rate_id] = round_money(tax_on(gross_sub, rate, inclusive=inclusive), dp)
            line.total_taxes[rate.rate_id] = round_money(tax_on(gross_total, rate, inclusive=inclusive), dp)
            for code, disc in line.discounts.items():
                line.discount_taxes[code] = line.discount_taxes.get(code, ZERO) + round_money(
                    tax_on(disc, rate, inclusive=inclusive), dp
                )
    if inclusive:
        line.subtotal = round_money(gross_sub - line.subtotal_tax, dp)
        line.total = round_money(gross_total - line.total_tax, dp)
    else:
        line.subtotal = round_money(gross_sub, dp)
        line.total = round_money(gross_total, dp)


def coupon_ex_tax_discount(lines: list[LineCalc], code: str, *, inclusive: bool) -> Decimal:
    """The coupon's discount excluding tax (what ``coupon_lines[].discount`` shows)."""
    total = ZERO
    for ln in lines:
        disc = ln.discounts.get(code, ZERO)
        if inclusive:
            disc -= ln.discount_taxes.get(code, ZERO)
        total += disc
    return total
