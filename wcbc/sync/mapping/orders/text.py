"""Text as BC stores it: field lengths (UTF-16 code units), :func:`clip`, blanks and HTML entities."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

EXTERNAL_DOCUMENT_NUMBER_MAX = 35
ITEM_NUMBER_MAX = 20
DESCRIPTION_MAX = 100

# BC field lengths (Customer / Sales Header table fields behind the API pages).
CUSTOMER_LENGTHS = {
    "displayName": 100,
    "addressLine1": 100,
    "addressLine2": 50,
    "city": 30,
    "state": 30,
    "country": 10,
    "postalCode": 20,
    "phoneNumber": 30,
    "email": 80,
}
SHIP_TO_LENGTHS = {
    "shipToName": 100,
    "shipToContact": 100,
    "shipToAddressLine1": 100,
    "shipToAddressLine2": 50,
    "shipToCity": 30,
    "shipToState": 30,
    "shipToCountry": 10,
    "shipToPostCode": 20,
}
SELL_TO_LENGTHS = {
    "sellToAddressLine1": 100,
    "sellToAddressLine2": 50,
    "sellToCity": 30,
    "sellToState": 30,
    "sellToCountry": 10,
    "sellToPostCode": 20,
}

_BLANKS = re.compile(r"\s+")
_JOINERS = {"\u200d", "\u200c"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_attached(char: str) -> bool:
    """True for a character that belongs to the one before it (combining mark, joiner, selector...)."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in _JOINERS
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (flag sequences)
    )


def clip(text: Any, limit: int) -> str:
    """Tidy ``text`` (blanks collapsed, trimmed) and cut it to ``limit`` UTF-16 code units.

    BC's Text[n]/Code[n] lengths count .NET characters (UTF-16 code units): an emoji outside the BMP counts
    as 2. The cut never splits a surrogate pair and never leaves a base character without the combining marks,
    joiners or modifiers that follow it (the whole cluster is dropped instead).
    """
    if text is None:
        return ""
    value = _BLANKS.sub(" ", str(text)).strip()
    if _utf16_len(value) <= limit:
        return value
    kept: list[str] = []
    used = 0
    for char in value:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit:
            break
        kept.append(char)
        used += width
    rest = value[len(kept):]
    if rest and _is_attached(rest[0]):
        # drop the cluster the cut went through
        while kept and _is_attached(kept[-1]):
            kept.pop()
        if kept:
            kept.pop()
    while kept and (kept[-1] in _JOINERS or kept[-1].isspace()):
        kept.pop()
    return "".join(kept)


def _text(value: Any) -> str:
    return _BLANKS.sub(" ", str(value)).strip() if value is not None else ""


def _name_text(value: Any) -> str:
    """WooCommerce item/fee/method names may carry HTML entities (``&ndash;``): decode them."""
    return _text(html.unescape(_text(value)))


def order_label(order: Mapping[str, Any]) -> str:
    """``order #16`` (the display number, else the id) for messages."""
    number = _text(order.get("number")) or _text(order.get("id")) or "?"
    return f"order #{number}"

