"""The order fields a document header is built from: amounts, externalDocumentNumber, currency, date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from wcbc.core.errors import RecordError
from wcbc.core.time import parse
from wcbc.sync.mapping.money import BC_DECIMAL_MAX, MoneyError, parse_money, quantum
from wcbc.sync.mapping.orders.options import MappingOptions
from wcbc.sync.mapping.orders.text import EXTERNAL_DOCUMENT_NUMBER_MAX, _text, _utf16_len, order_label


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _money(order: Mapping[str, Any], value: Any, what: str, *, decimals: int | None = None) -> Decimal:
    """An amount (or a quantity) of the order: finite, within BC's Decimal range (:data:`BC_DECIMAL_MAX`)
    and, with ``decimals``, no finer than that; else :class:`RecordError` naming the field and the value."""
    try:
        amount = parse_money(value)
    except MoneyError:
        raise RecordError(f"{order_label(order)}: {what} is not an amount: {_shown(value)}") from None
    if abs(amount) > BC_DECIMAL_MAX:
        raise RecordError(f"{order_label(order)}: {what} {_shown(value)} is beyond BC's range "
                          f"(at most {BC_DECIMAL_MAX:,} either way)")
    if decimals is not None and amount != amount.quantize(quantum(decimals), rounding=ROUND_HALF_UP):
        raise RecordError(f"{order_label(order)}: {what} {_shown(value)} has more than {decimals} decimals "
                          f"(BC keeps {decimals})")
    return amount


def document_number(order: Mapping[str, Any], prefix: str = "") -> str:
    """The BC ``externalDocumentNumber``: ``prefix`` + the WooCommerce order ``number`` (not its id).

    Upper-cased and trimmed as BC stores a Code[35] field; longer than 35 -> :class:`RecordError`.
    """
    number = _text(order.get("number"))
    if not number:
        raise RecordError(f"{order_label(order)} has no order number")
    value = f"{prefix or ''}{number}".strip().upper()
    if _utf16_len(value) > EXTERNAL_DOCUMENT_NUMBER_MAX:
        raise RecordError(
            f"{order_label(order)}: external document number {value!r} is longer than BC's "
            f"{EXTERNAL_DOCUMENT_NUMBER_MAX} characters",
            hint="shorten orders.number_prefix",
        )
    return value


def currency_code(order: Mapping[str, Any], options: MappingOptions) -> str:
    """The document's ``currencyCode``, always sent: ``""`` for ``orders.local_currency`` (BC's LCY),
    else the order's ISO code (BC also stores its own LCY code as blank, §10.6; a code BC does not know
    fails the order). Never left out: a document without it would take the customer's currency."""
    code = _text(order.get("currency")).upper()
    if not code:
        raise RecordError(f"{order_label(order)} has no currency")
    local = (options.local_currency or "").upper()
    return "" if code == local else code


def customer_currency(options: MappingOptions) -> str | None:
    """A new customer card's ``currencyCode``: ``orders.customer_currency`` (``""`` when it is the local
    currency), else the local currency when one is configured, else not sent (BC's default: LCY). Never the
    first order's currency."""
    local = (options.local_currency or "").upper()
    if options.customer_currency:
        code = options.customer_currency.upper()
        return "" if code == local else code
    return "" if local else None


POSTING_DATES = ("order", "paid", "run")


def posting_date(order: Mapping[str, Any], options: MappingOptions) -> str | None:
    """The document's ``postingDate`` by ``orders.posting_date``: ``order`` the order's date, ``paid`` the
    date it was paid (``date_paid_gmt``, the order's date while unpaid), ``run`` None (not sent: BC takes
    its work date, the day of the run). Dates are the store's (``time_zone``)."""
    if options.posting_date == "run":
        return None
    if options.posting_date == "paid" and order.get("date_paid_gmt"):
        paid = parse(str(order.get("date_paid_gmt")))
        if paid is None:
            raise RecordError(f"{order_label(order)}: unreadable payment date {order.get('date_paid_gmt')!r}")
        return paid.astimezone(ZoneInfo(options.time_zone)).date().isoformat()
    return document_date(order, options.time_zone)


def document_date(order: Mapping[str, Any], time_zone: str) -> str:
    """The order's creation date in the store's time zone, ``YYYY-MM-DD``.

    Uses ``date_created_gmt`` (UTC, no offset on the wire) converted to ``time_zone``; falls back to
    ``date_created`` (already store-local) when the GMT field is missing.
    """
    zone = ZoneInfo(time_zone)
    gmt = order.get("date_created_gmt")
    local = order.get("date_created")
    if gmt:
        moment = parse(str(gmt))  # bare = UTC
        if moment is None:
            raise RecordError(f"{order_label(order)}: unreadable creation date {gmt!r}")
        return moment.astimezone(zone).date().isoformat()
    if local:
        try:  # store-local wall time: a bare value is NOT UTC, so core.time.parse does not apply
            moment = datetime.fromisoformat(str(local).strip())
        except ValueError:
            raise RecordError(f"{order_label(order)}: unreadable creation date {local!r}") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment.date().isoformat()
    raise RecordError(f"{order_label(order)} has no creation date")

