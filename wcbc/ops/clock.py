"""How far this host's clock is from WooCommerce's and Business Central's, read from their answers'
``Date`` headers (``HttpClient.last_date``), and whether that is too far for ``[orders]
overlap_seconds``: each poll re-reads that window, so a skew of more than half of it risks orders
modified meanwhile being skipped. Used by ``wcbc doctor``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skew:
    """``seconds``: the remote clock minus this host's (positive: the remote is ahead)."""

    system: str
    seconds: float | None  # None: no usable Date header was seen

    def describe(self) -> str:
        if self.seconds is None:
            return f"{self.system}: not measured (no Date header)"
        return f"{self.system} {round(self.seconds):+d} s"


def skew_of(system: str, client: Any) -> Skew:
    """The skew measured by a client's last answer (``client.http.clock_skew()``); None when the client
    was not used or has no such reading."""
    http = getattr(client, "http", None)
    reading = getattr(http, "clock_skew", None)
    return Skew(system, reading() if callable(reading) else None)


def verdict(skews: list[Skew], overlap_seconds: int) -> tuple[bool, str, str | None]:
    """(ok, detail, hint): not ok when a measured skew exceeds half of ``overlap_seconds``."""
    limit = overlap_seconds / 2
    detail = ", ".join(s.describe() for s in skews) + f" (vs this host; warn above ±{limit:.0f} s, half " \
        "of orders.overlap_seconds)"
    too_far = [s for s in skews if s.seconds is not None and abs(s.seconds) > limit]
    if not too_far:
        return True, detail, None
    worst = max(abs(s.seconds or 0.0) for s in too_far)
    hint = (f"set this host's clock right (timedatectl set-ntp true, or chrony/ntpd) and, if the store's "
            f"own clock is off, ask its host to; until then raise [orders] overlap_seconds above "
            f"{int(worst * 2) + 60} so that polls still re-read far enough back")
    return False, detail, hint
