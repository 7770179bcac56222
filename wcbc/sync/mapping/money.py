"""Exact money arithmetic for WooCommerce and Business Central values.

WooCommerce sends money as strings (``"10.00"``, unformatted ``"5"`` or ``"8.2"``), sometimes as JSON
numbers (a line's ``price`` can be ``4.248333333333333``), and ``""`` for "nothing". Business Central sends
and accepts JSON numbers. Everything here works on :class:`decimal.Decimal`; a float is converted through
``str()`` (its shortest round-trip form), never through binary arithmetic. Money is never compared as text.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)

# The largest amount BC holds: AL's Decimal type spans -999,999,999,999,999.99 .. +999,999,999,999,999.99
# (every Decimal field of the Sales Header and Sales Line tables: Quantity, Unit Price, Line Discount Amount,
# Amount Including VAT...). A value beyond it would be refused by BC, or lose digits on the way as a JSON
# number, so it is refused here, before anything is sent.
BC_DECIMAL_MAX = Decimal("999999999999999.99")
# Sales Line "Quantity" has DecimalPlaces 0:5: BC keeps at most 5 decimals of a quantity.
QUANTITY_DECIMALS = 5


class MoneyError(ValueError):
    """A value cannot be read as an amount of money."""


def parse_money(value: Any) -> Decimal:
    """Read a WooCommerce or BC money value exactly.

    Accepts ``str`` (surrounding blanks ignored; ``""`` is 0), ``int``, ``float`` (via ``str()``), ``Decimal``
    and ``None`` (0). Raises :class:`MoneyError` for anything else, for non-finite values and for text that is
    not a plain decimal number.
    """
    if value is None:
        return ZERO
    if isinstance(value, bool):
        raise MoneyError(f"not a money value: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return ZERO
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"not a money value: {value!r}") from None
    else:
        raise MoneyError(f"not a money value: {value!r}")
    if not result.is_finite():
        raise MoneyError(f"not a money value: {value!r}")
    return result


def quantum(decimals: int) -> Decimal:
    """The smallest step for ``decimals`` places: 2 -> ``Decimal("0.01")``, 0 -> ``Decimal("1")``."""
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    return Decimal(1).scaleb(-decimals)


def round_money(value: Any, decimals: int) -> Decimal:
    """Round half away from zero (BC's and WooCommerce's commercial rounding) to ``decimals`` places."""
    return parse_money(value).quantize(quantum(decimals), rounding=ROUND_HALF_UP)


def ceil_money(value: Any, decimals: int) -> Decimal:
    """Round towards +infinity to ``decimals`` places."""
    return parse_money(value).quantize(quantum(decimals), rounding=ROUND_CEILING)


def format_money(value: Any, decimals: int) -> str:
    """Fixed-point text with exactly ``decimals`` places (half-up): ``format_money("12.5", 2) == "12.50"``."""
    return f"{round_money(value, decimals):f}"


def canonical(value: Any) -> str:
    """A text form that is equal for equal amounts (``"5"``, ``"5.00"`` and ``5.0`` all give ``"5"``)."""
    d = parse_money(value)
    if d == 0:
        return "0"
    return f"{d.normalize():f}"


def money_equal(a: Any, b: Any) -> bool:
    """Compare two money values numerically (``"5" == "5.00"``)."""
    return parse_money(a) == parse_money(b)


def to_json_number(value: Decimal) -> int | float:
    """A JSON-serialisable number for a BC request body.

    Integral values become ``int``; others ``float``. BC amounts have at most a few decimals and far fewer
    than 15 significant digits, so ``float(str)`` round-trips exactly (``Decimal(str(result)) == value``).
    """
    d = parse_money(value)
    if d == d.to_integral_value():
        return int(d)
    result = float(d)
    if Decimal(str(result)) != d:
        raise MoneyError(f"amount {d} cannot be sent as a JSON number without losing precision")
    return result
