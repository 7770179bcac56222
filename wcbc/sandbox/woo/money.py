"""Money, tax and coupon arithmetic of the WooCommerce simulator, and PHP-style JSON encoding.

Its own Decimal maths (nothing shared with the connector). The rules follow what a real
WooCommerce 10.0.2 produced (see contracts/woocommerce/real-store):

- line ``subtotal`` = price x quantity, ``total`` = subtotal - the line's share of every coupon;
- a percentage coupon is taken per line (in cents, floor, the leftover cents handed out line by line),
  a fixed-cart coupon is spread over the lines in proportion to their subtotals;
- tax is computed per line and per rate and rounded per line (half up), shipping and fees likewise;
- ``coupon_lines[].discount`` is unformatted (``"8.2"``, ``"5"``), ``discount_tax`` is the per-line rounded
  tax on the discount amounts;
- order totals satisfy ``total = sum(line.total) + sum(shipping.total) + sum(fee.total) + total_tax``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
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


def _spread_cents(weights: list[int], amount: int) -> list[int]:
    """Split ``amount`` cents over ``weights`` proportionally (floor), leftover cents one by one."""
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0 for _ in weights]
    amount = min(amount, total)
    shares = [w * amount // total for w in weights]
    left = amount - sum(shares)
    i = 0
    while left > 0 and any(s < w for s, w in zip(shares, weights, strict=True)):
        if shares[i % len(shares)] < weights[i % len(shares)]:
            shares[i % len(shares)] += 1
            left -= 1
        i += 1
    return shares


def apply_coupons(lines: list[LineCalc], coupons: list[CouponSpec], dp: int, *, inclusive: bool) -> None:
    """Fill ``discounts`` on each line (gross amounts in the price basis), coupons in sequence."""
    unit = 10**dp
    remaining = [int((ln.price * ln.quantity * unit).to_integral_value(ROUND_HALF_UP)) for ln in lines]
    for coupon in coupons:
        if coupon.discount_type == "percent":
            pct = coupon.amount
            shares = [int((Decimal(r) * pct / 100).to_integral_value(ROUND_FLOOR)) for r in remaining]
            wanted = int((Decimal(sum(remaining)) * pct / 100).to_integral_value(ROUND_HALF_UP))
            left = wanted - sum(shares)
            idx = 0
            while left > 0 and idx < len(shares) * 2:
                j = idx % len(shares)
                if shares[j] < remaining[j]:
                    shares[j] += 1
                    left -= 1
                idx += 1
        elif coupon.discount_type == "fixed_product":
            shares = [
                min(r, int((coupon.amount * ln.quantity * unit).to_integral_value(ROUND_HALF_UP)))
                for r, ln in zip(remaining, lines, strict=True)
            ]
        else:  # fixed_cart
            amount = int((coupon.amount * unit).to_integral_value(ROUND_HALF_UP))
            shares = _spread_cents(remaining, amount)
        for i, share in enumerate(shares):
            remaining[i] -= share
            lines[i].discounts[coupon.code] = (
                lines[i].discounts.get(coupon.code, ZERO) + Decimal(share) / unit
            )


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
