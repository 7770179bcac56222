"""Which tax rate converts an item's price between net and gross: its tax group's (pure).

BC items carry ``taxGroupCode`` under US sales tax and under VAT alike (under VAT the API's tax groups are
the VAT product posting groups). ``[items] tax_rates`` maps a group code to its rate in percent;
``[items] tax_rate`` is the rate of every group not in that table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def tax_rate_for(group: Any, items_config: Any) -> tuple[Decimal | None, str | None]:
    """``(rate, None)``, or ``(None, reason)`` when the table is set and neither it nor ``tax_rate`` has a
    rate for ``group``. With neither key set the rate is None and no reason: the price conversion raises
    the configuration error (every item would need it)."""
    rates: dict[str, Decimal] = dict(getattr(items_config, "tax_rates", None) or {})
    if not isinstance(group, str):
        raise TypeError(f"taxGroupCode: not text: {group!r:.40}")
    code = group.strip().upper()
    if code and code in rates:
        return rates[code], None
    fallback = items_config.tax_rate
    if fallback is not None or not rates:
        return fallback, None
    shown = code or "(none)"
    return None, (f"no tax rate for tax group {shown}: add it to [items] tax_rates "
                  f"(e.g. {code or 'GROUP'} = \"7.25\") or set items.tax_rate for every other group")
