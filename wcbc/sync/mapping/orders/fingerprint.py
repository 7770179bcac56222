"""What the BC document is built from, as a fingerprint and a small summary stored with the link."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, canonical, parse_money
from wcbc.sync.mapping.orders.customers import buyer_key
from wcbc.sync.mapping.orders.text import _name_text, _text

ADDRESS_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
                "country")
BILLING_KEYS = (*ADDRESS_KEYS, "email", "phone")
SHIPPING_KEYS = (*ADDRESS_KEYS, "phone")


def _canon(value: Any) -> str:
    try:
        return canonical(value)
    except MoneyError:
        return _text(value)


def _shown(value: Any) -> str:
    """Money as WooCommerce wrote it, for people (``"36.00"``); unreadable values as text."""
    try:
        return str(parse_money(value))
    except MoneyError:
        return _text(value)


def _block(block: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    block = block or {}
    result = {k: _text(block.get(k)) for k in keys}
    if "email" in result:
        result["email"] = result["email"].lower()
    return result


def _items(order: Mapping[str, Any]) -> list[list[str]]:
    return [
        [_text(li.get("sku")), _canon(li.get("quantity")), _canon(li.get("subtotal")),
         _canon(li.get("total")), _canon(li.get("subtotal_tax")), _canon(li.get("total_tax"))]
        for li in order.get("line_items") or []
    ]


def _others(order: Mapping[str, Any], key: str, name_key: str) -> list[list[str]]:
    return [
        [_name_text(line.get(name_key)), _canon(line.get("total")), _canon(line.get("total_tax"))]
        for line in order.get(key) or []
    ]


def _digest(material: Any) -> str:
    data = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _material(order: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "currency": _text(order.get("currency")).upper(),
        "customer_id": _text(order.get("customer_id") or 0),
        "billing": _block(order.get("billing"), BILLING_KEYS),
        "shipping": _block(order.get("shipping"), SHIPPING_KEYS),
        "items": _items(order),
        "shipping_lines": _others(order, "shipping_lines", "method_title"),
        "fees": _others(order, "fee_lines", "name"),
        "total": _canon(order.get("total")),
    }


def order_fingerprint(order: Mapping[str, Any]) -> str:
    """A stable SHA-256 (hex) of what the BC document is built from.

    Covers currency, customer id, billing and shipping address, items (SKU, quantity, subtotal, total and
    their taxes), shipping and fee lines and the order total, with money compared as numbers
    (``"5"`` == ``"5.00"``).
    Excludes status, dates (``date_modified``), ``meta_data`` (our own ``_wcbc_*`` keys included), notes,
    payment fields and refunds, so a write-back echo keeps the fingerprint and a real change does not.
    """
    return _digest(_material(order))


def _customer_key(order: Mapping[str, Any]) -> str:
    try:
        kind, key = buyer_key(order)
    except RecordError:
        return "guest:"
    return f"{kind}:{key}"


def summarize(order: Mapping[str, Any]) -> dict[str, Any]:
    """A small JSON-able summary stored with the order's record (enough for :func:`diff_orders`).

    ``{"id", "number", "status", "total", "currency", "fingerprint", "lines" (number of line items),
    "customer" ("customer:2" | "guest:<email>"), "items": [[sku, quantity, total, total_tax], ...],
    "shipping": [[title, total, total_tax]], "fees": [[name, total, total_tax]], "billing": <hash>,
    "ship_to": <hash>}``. Addresses are kept as short hashes only.
    """
    material = _material(order)
    return {
        "id": order.get("id"),
        "number": _text(order.get("number")),
        "status": _text(order.get("status")),
        "total": _shown(order.get("total")),
        "currency": material["currency"],
        "fingerprint": _digest(material),
        "lines": len(order.get("line_items") or []),
        "customer": _customer_key(order),
        "items": [
            [_text(li.get("sku")), _shown(li.get("quantity")), _shown(li.get("total")),
             _shown(li.get("total_tax"))]
            for li in order.get("line_items") or []
        ],
        "shipping": [
            [_name_text(sl.get("method_title")), _shown(sl.get("total")), _shown(sl.get("total_tax"))]
            for sl in order.get("shipping_lines") or []
        ],
        "fees": [
            [_name_text(fl.get("name")), _shown(fl.get("total")), _shown(fl.get("total_tax"))]
            for fl in order.get("fee_lines") or []
        ],
        "billing": _digest(material["billing"])[:16],
        "ship_to": _digest(material["shipping"])[:16],
    }

