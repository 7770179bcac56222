from datetime import UTC, datetime, timedelta, timezone

import pytest

from wcbc.core import time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T20:15:00", datetime(2026, 11, 26, 20, 15, tzinfo=UTC)),  # Woo *_gmt: bare UTC
        ("2026-11-26T20:15:00Z", datetime(2026, 11, 26, 20, 15, tzinfo=UTC)),
        ("2026-11-26T21:15:00+01:00", datetime(2026, 11, 26, 20, 15, tzinfo=UTC)),
        ("2026-12-01T10:00:00.1234567Z", datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),  # BC: 7 digits
        ("  2026-11-26T20:15:00z ", datetime(2026, 11, 26, 20, 15, tzinfo=UTC)),
    ],
)
def test_parse_reads_every_wire_form_as_aware_utc(text: str, expected: datetime) -> None:
    assert time.parse(text) == expected
    assert time.parse(text).tzinfo is UTC


@pytest.mark.parametrize("bad", [None, "", "   ", "yesterday", "2026-13-01T00:00:00", 12])
def test_parse_gives_none_for_missing_or_malformed(bad: object) -> None:
    assert time.parse(bad) is None


def test_parse_strict_names_what_was_malformed() -> None:
    with pytest.raises(ValueError, match="date_modified_gmt: not an ISO-8601 timestamp: 'x'"):
        time.parse_strict("x", "date_modified_gmt")


def test_wire_forms() -> None:
    moment = datetime(2026, 11, 26, 21, 15, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert time.iso_z(moment) == "2026-11-26T20:15:00Z"
    assert time.iso_micro(moment) == "2026-11-26T20:15:00.123456Z"
    assert time.bare_utc(moment) == "2026-11-26T20:15:00"
    assert time.bare_utc(moment, round_up=True) == "2026-11-26T20:15:01"
    assert time.bare_utc(moment.replace(microsecond=0), round_up=True) == "2026-11-26T20:15:00"
    assert time.odata_literal(moment) == "2026-11-26T20:15:00.123Z"
    assert time.odata_literal(moment.replace(microsecond=0)) == "2026-11-26T20:15:00Z"


def test_naive_datetimes_are_utc() -> None:
    assert time.iso_z(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"


def test_age_and_now() -> None:
    now = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert time.age_s("2026-01-01T00:00:00Z", now) == 60.0
    assert time.age_s("garbage", now) is None
    assert time.utcnow_s().microsecond == 0
    assert time.utcnow().tzinfo is UTC
