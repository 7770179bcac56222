"""The bookmark rule, in one place: never past the run's start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def capped(newest: Iterable[datetime | None], started: datetime) -> datetime:
    """The newest committed moment, but never past ``started`` (changes made during the run are read by
    the next run); ``started`` when nothing has a moment."""
    moments = [m for m in newest if m is not None]
    return min(max(moments), started) if moments else started
