"""Which BC tax code each booked line carries: ``[orders] tax_codes``, WooCommerce tax class -> BC code.

BC computes a line's tax from the customer (tax liable, tax area / VAT business group: nothing on the
document, business-central.md §10.6) and the line's ``taxCode`` (Tax Group under US Sales Tax, VAT Product
Posting Group under VAT; writable on every line, §3.4). So the one per-line lever is ``taxCode``, chosen here
from what the store charged:

* a line on which the store charged no tax (``total_tax`` 0: a tax-exempt buyer, a zero-rate or non-taxable
  product, untaxed shipping or fee) gets the ``untaxed`` code;
* an item or fee line gets the code of its ``tax_class`` (``""`` is the class ``standard``);
* a shipping line gets the code of the class its tax was computed with: the class of the item lines that
  share its tax rate (WooCommerce's shipping tax class "inherit"), else ``standard``.

An empty table sends no ``taxCode`` at all (BC takes the item's or account's own group, as before). A
non-empty table that lacks the class a line needs fails the order, naming the line and the key to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.mapping.orders.text import order_label

UNTAXED = "untaxed"
STANDARD = "standard"


def class_slug(value: Any) -> str:
    """A WooCommerce tax class as the table's key: ``""``/``standard``/``parent`` -> ``standard``."""
    text = str(value or "").strip().lower()
    return STANDARD if text in ("", "standard", "parent") else text


def _charged(line: Mapping[str, Any]) -> bool:
    try:
        return parse_money(line.get("total_tax") or 0) != 0
    except MoneyError:
        return True  # the amount check of the mapping names the bad value


def _rate_ids(line: Mapping[str, Any]) -> set[str]:
    ids = set()
    for tax in line.get("taxes") or []:
        try:
            if parse_money(tax.get("total") or 0) != 0:
                ids.add(str(tax.get("id")))
        except (MoneyError, AttributeError):
            continue
    return ids


def shipping_class(order: Mapping[str, Any], line: Mapping[str, Any]) -> str:
    """The tax class a taxed shipping line was computed with: the class of an item line taxed at the same
    rate (standard first), else ``standard``."""
    rates = _rate_ids(line)
    classes = [class_slug(item.get("tax_class")) for item in order.get("line_items") or []
               if rates & _rate_ids(item)]
    if not classes or STANDARD in classes:
        return STANDARD
    return classes[0]


def line_class(order: Mapping[str, Any], line: Mapping[str, Any], kind: str) -> str:
    """The table key a line needs: ``untaxed``, or its tax class (``kind``: item, shipping or fee)."""
    if not _charged(line):
        return UNTAXED
    if kind == "shipping":
        return shipping_class(order, line)
    return class_slug(line.get("tax_class"))


def tax_code(order: Mapping[str, Any], line: Mapping[str, Any], kind: str, codes: Mapping[str, str],
             what: str) -> str | None:
    """The ``taxCode`` for a line, or None when no table is configured. ``what`` names the line."""
    if not codes:
        return None
    key = line_class(order, line, kind)
    code = codes.get(key)
    if code is None:
        raise RecordError(
            f"{order_label(order)}: {what} has tax class {key!r}, which orders.tax_codes does not map",
            hint=f'add {key} = "<BC tax group or VAT product posting group>" under [orders.tax_codes]',
        )
    return code


def with_tax_code(result: dict[str, Any], order: Mapping[str, Any], line: Mapping[str, Any], kind: str,
                  codes: Mapping[str, str], what: str) -> dict[str, Any]:
    """``result`` (a mapped BC line) with its ``taxCode`` when the table gives one."""
    code = tax_code(order, line, kind, codes, what)
    if code is not None:
        result["taxCode"] = code
    return result
