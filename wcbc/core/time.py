"""Every timestamp wcbc reads or writes, in one place.

All moments inside wcbc are aware UTC datetimes. The wire forms differ per system:

* WooCommerce's ``*_gmt`` fields and its ``modified_after``/``modified_before`` filters (with
  ``dates_are_gmt=true``) are bare UTC, ``2026-11-26T20:15:00``: a ``Z`` makes a non-UTC store ignore the
  filter (contracts README);
* BC's OData literals and fields end in ``Z`` and may carry up to 7 fraction digits;
* the state DB stores ISO-8601 UTC with microseconds and a ``Z`` (sortable as text);
* bookmarks and human output use whole seconds with a ``Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_FRACTION = re.compile(r"(\.\d{6})\d+")


def utcnow() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)


def utcnow_s() -> datetime:
    """Now, aware UTC, whole seconds (a run's start: bookmarks and filters have whole seconds)."""
    return utcnow().replace(microsecond=0)


def parse(value: object) -> datetime | None:
    """Any ISO-8601 timestamp (``...Z``, an offset, bare = UTC, up to 7 fraction digits) as aware UTC.

    None, an empty or malformed value gives None: callers decide whether that is an error.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_strict(value: object, what: str = "timestamp") -> datetime:
    """Like :func:`parse`, but a missing or malformed value raises ValueError naming ``what``."""
    parsed = parse(value)
    if parsed is None:
        raise ValueError(f"{what}: not an ISO-8601 timestamp: {value!r}")
    return parsed


def iso_z(moment: datetime) -> str:
    """Whole seconds with a Z: ``2026-11-26T20:15:00Z`` (bookmarks, output). Naive = UTC."""
    return parse(moment).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


def iso_micro(moment: datetime) -> str:
    """Microseconds with a Z: the state DB's form (sorts as text)."""
    return parse(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[union-attr]


def bare_utc(moment: datetime, *, round_up: bool = False) -> str:
    """WooCommerce's GMT form ``2026-11-26T20:15:00``: UTC, no suffix, whole seconds.

    ``round_up`` moves a moment with a fraction to the next second (for exclusive upper bounds).
    """
    value = parse(moment).replace(tzinfo=None)  # type: ignore[union-attr]
    if round_up and value.microsecond:
        value += timedelta(seconds=1)
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def odata_literal(moment: datetime) -> str:
    """A BC OData datetime literal: ``2026-11-26T20:15:00.123Z`` (milliseconds only when there are any)."""
    value = parse(moment)
    assert value is not None
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def age_s(value: object, now: datetime | None = None) -> float | None:
    """Seconds from ``value`` to ``now`` (negative when in the future); None when unparseable."""
    moment = parse(value)
    if moment is None:
        return None
    return ((now or utcnow()) - moment).total_seconds()


def normalise_ts(value: str | datetime) -> str:
    """Any ISO-8601 timestamp (naive = UTC) in the state DB's form; a malformed one raises ValueError."""
    return iso_micro(parse_strict(value))
