"""Checks of single values (GUIDs, tenant, time zone, dates, URLs): each returns the value or raises Bad."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from wcbc.core import time as wtime
from wcbc.core.config.model import ON_COPY_CHOICES, ORDER_TARGETS

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")


class Bad(Exception):
    """A value is wrong; the message says what (the caller adds file and key)."""


def type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def to_decimal(value: Any) -> Decimal:
    """A finite decimal from a TOML number or string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Bad(f"must be a decimal number or a string such as \"0.01\" (got {type_name(value)})")
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise Bad(f"must be a decimal number such as \"0.01\" (got {value!r})") from exc
    if not out.is_finite():
        raise Bad("must be a finite decimal number")
    return out


def check_tax_rates(value: dict[str, str]) -> dict[str, Decimal]:
    """``{tax group code: percent}``: codes upper-cased, each rate from 0 to 1000."""
    rates = {k.strip().upper(): to_decimal(v) for k, v in value.items()}
    if any(r < 0 or r > 1000 for r in rates.values()):
        raise Bad("each rate must be a percent from 0 to 1000")
    return rates


def check_guid(value: str) -> str:
    if not _GUID_RE.match(value):
        raise Bad(f"must be a GUID like 00000000-0000-0000-0000-000000000000 (got {value!r})")
    return value


def check_tenant(value: str) -> str:
    if _GUID_RE.match(value) or _DOMAIN_RE.match(value):
        return value
    raise Bad(f"must be the tenant GUID or its domain name, e.g. contoso.onmicrosoft.com (got {value!r})")


def check_environment(value: str) -> str:
    if not _ENVIRONMENT_RE.match(value):
        raise Bad(f"must be a Business Central environment name such as Production (got {value!r})")
    return value


def check_time_zone(value: str) -> str:
    if value in ("UTC", "Etc/UTC"):  # valid even where the system has no time zone database
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Bad(f"is not a known IANA time zone such as Europe/Paris (got {value!r})") from exc
    return value


def one_of(*choices: str) -> Callable[[str], str]:
    """A check that the value is one of ``choices``."""

    def check(value: str) -> str:
        if value not in choices:
            raise Bad(f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    return check


check_target = one_of(*ORDER_TARGETS)


def check_start_date(value: str) -> str:
    text = value.strip()
    if wtime.parse(text) is None:
        raise Bad(f"must be an ISO date such as 2026-01-31 (got {value!r})")
    return text


def check_currency(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9]{1,10}$", value):
        raise Bad(f"must be a Business Central currency code such as EUR (got {value!r})")
    return value.upper()


def check_web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Bad("must be an http(s) URL")
    return value


def check_nonempty(value: str) -> str:
    if not value.strip():
        raise Bad("must not be empty")
    return value


check_on_copy = one_of(*ON_COPY_CHOICES)
