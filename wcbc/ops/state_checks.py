"""`wcbc doctor`'s checks of the state file beyond opening it: SQLite's own integrity check, and who uses
the file (its instance id, this host, and any other host or path that used it, with when)."""

from __future__ import annotations

from typing import Any

from wcbc.core.errors import StateError
from wcbc.core.state.failures import RESTORE_HINT
from wcbc.core.state.instance import TAKE_OVER_HINT
from wcbc.core.time import age_s


def integrity(state: Any) -> str:
    """``PRAGMA quick_check`` through ``State.integrity_check()``: a damaged file fails with what to do."""
    problems = state.integrity_check()
    if problems:
        found = "; ".join(problems[:3])
        raise StateError(f"state file {state.path} is damaged (SQLite quick_check: {found})",
                         hint=RESTORE_HINT)
    return "SQLite quick_check: ok"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{max(int(seconds), 0)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.0f} days"


def owner(state: Any, window_hours: float) -> str:
    """The instance id and the hosts of ``State.instance()``. Another host or path active within the copy
    window (possible with ``[state] on_copy = "warn"``) is a warning: two copies book every order twice."""
    from wcbc.ops.doctor import Warn

    info = state.instance()
    me = f"{info['host_name']} ({info['path']})"
    detail = f"instance {info['instance_id']}; this host: {me}"
    recent, earlier = [], []
    for row in info["hosts"]:
        if row.get("this"):
            continue
        age = age_s(row.get("last_seen"))
        who = f"{row.get('host_name')} (host id {row.get('host_id')}, {row.get('path')})"
        if age is not None and age < window_hours * 3600:
            recent.append(f"{who} {_age(age)} ago")
        else:
            earlier.append(f"{who} {_age(age) + ' ago' if age is not None else 'at an unknown time'}")
    if earlier:
        detail += "; earlier also used by " + ", ".join(earlier)
    if recent:
        raise Warn(f"{detail}; ALSO IN USE by " + ", ".join(recent)
                   + ": two copies of one state file book every order twice", TAKE_OVER_HINT)
    return detail + ("" if earlier else "; no other host or path has used it")
