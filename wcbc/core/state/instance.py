"""Who uses this state file: an instance id, and a row per host and path with its last activity.

Two installations running on copies of one state file (or on one file shared between hosts) would
book every order twice. Each open and each run records this host's identity (host id + the file's
real path) with a timestamp; opening the file while *another* identity was active within the copy
window is refused (``[state] on_copy = "refuse"``, the default) or only warned about (``"warn"``).
A deliberate move is made with ``take_over=True`` (the CLI's ``--take-over``), which forgets the others.

The host id is ``$WCBC_HOST_ID`` when set (containers whose host name changes on every deploy), else
the machine id (/etc/machine-id), else the host name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from wcbc.core.config.model import ON_COPY_CHOICES
from wcbc.core.errors import StateError
from wcbc.core.state.base import StateBase
from wcbc.core.time import age_s

log = logging.getLogger("wcbc.state")

HOST_ID_ENV = "WCBC_HOST_ID"
TAKE_OVER_HINT = (
    "if the other one is a copy still running, stop it first: two copies book every order twice. Then take "
    "the file over deliberately: run the command once with --take-over (State(..., take_over=True)). "
    "If both are one installation whose host name changes (a container), set $WCBC_HOST_ID to a fixed "
    'name instead, or set [state] on_copy = "warn"'
)
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def host_identity() -> tuple[str, str]:
    """(host id, host name) of this machine: $WCBC_HOST_ID, else a hash of the machine id, else the name."""
    name = socket.gethostname() or "localhost"
    explicit = os.environ.get(HOST_ID_ENV, "").strip()
    if explicit:
        return explicit, name
    for candidate in _MACHINE_ID_FILES:
        try:
            machine = Path(candidate).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if machine:
            return "machine:" + hashlib.sha256(machine.encode()).hexdigest()[:16], name
    return "host:" + name, name


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{max(int(seconds), 0)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


class Instance(StateBase):
    _me: tuple[str, str, str]  # host id, real path, host name

    def _claim_instance(self, on_copy: str, window: timedelta, take_over: bool) -> None:
        if on_copy not in ON_COPY_CHOICES:
            raise ValueError(f"on_copy must be one of {', '.join(ON_COPY_CHOICES)} (got {on_copy!r})")
        host_id, host_name = host_identity()
        self._me = (host_id, str(self.path.resolve()), host_name)
        if not self._has_table("hosts"):  # a file at an older schema (only in tests of the migrations)
            return
        now = self._clock()
        with self._tx():
            if not self._rows("SELECT value FROM meta WHERE key = 'instance_id'"):
                self.db.execute("INSERT INTO meta (key, value) VALUES ('instance_id', ?)", [uuid.uuid4().hex])
            others = [row for row in self._rows("SELECT * FROM hosts ORDER BY last_seen DESC")
                      if (row["host_id"], row["path"]) != self._me[:2]]
            if take_over:
                for row in others:
                    log.warning("state file %s: taken over from %s (%s), last active %s", self.path,
                                row["host_name"], row["path"], row["last_seen"])
                self.db.execute("DELETE FROM hosts WHERE NOT (host_id = ? AND path = ?)", list(self._me[:2]))
            else:
                for row in others:
                    age = age_s(row["last_seen"], now)
                    if age is not None and age < window.total_seconds():
                        self._refuse_or_warn(row, on_copy, age)
                        break
            self._seen()

    def _refuse_or_warn(self, other: dict[str, Any], on_copy: str, age: float) -> None:
        them, me = other["host_name"], self._me[2]
        if them == me:  # one name for two hosts (containers, clones): the ids tell them apart
            them, me = f"{them} (host id {other['host_id']})", f"{me} (host id {self._me[0]})"
        message = (f"state file {self.path} is in use elsewhere: {them} used it as {other['path']} "
                   f"{_age(age)} ago; this is {me} with {self._me[1]}")
        if on_copy == "refuse":
            raise StateError(message, hint=TAKE_OVER_HINT)
        log.warning("%s. Two copies of one state file book every order twice (on_copy = \"warn\")", message)

    def _seen(self) -> None:
        """Record this host's activity (on open and at each run's start and end)."""
        if not getattr(self, "_me", None) or not self._has_table("hosts"):
            return
        now = self._now()
        with self._tx():
            self.db.execute(
                """INSERT INTO hosts (host_id, path, host_name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (host_id, path) DO UPDATE SET host_name = excluded.host_name,
                   last_seen = excluded.last_seen""",
                [*self._me, now, now],
            )

    def heartbeat(self) -> None:
        """Tell copies of this file that this host is active (each run does it; `serve` may call it)."""
        self._seen()

    def instance(self) -> dict[str, Any]:
        """The file's instance id, this host's identity and every host and path that used it (for doctor)."""
        has = self._has_table("hosts")
        rows = self._rows("SELECT value FROM meta WHERE key = 'instance_id'") if has else []
        hosts = self._rows("SELECT * FROM hosts ORDER BY last_seen DESC") if has else []
        me = getattr(self, "_me", ("", "", ""))
        for row in hosts:
            row["this"] = (row["host_id"], row["path"]) == tuple(me[:2])
        return {"instance_id": rows[0]["value"] if rows else None, "host_id": me[0], "path": me[1],
                "host_name": me[2], "hosts": hosts}

