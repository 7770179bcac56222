"""``wcbc serve`` facing a hostile internet: waitress' connection limits, timeouts and a sweep that drops
the connections an attacker uses to starve it.

waitress reads every request (headers and body) in its event loop before a thread runs the app, so slow
clients never hold a request thread; they hold *connections*. Out of the box waitress stops accepting
at ``connection_limit`` (100) and closes a connection only after ``channel_timeout`` (120 s) without a
single byte, checked every 30 s: 100 idle connections blocked deliveries for about a minute, and 98
clients dripping one byte a second blocked them for as long as they dripped.

Here, checked every second in waitress' own event loop (:meth:`Guard.sweep`):

* a request whose headers and body have not all arrived ``request_timeout`` seconds after its first
  byte is dropped, however steadily it drips;
* a connection with no request under way is closed after ``channel_timeout`` seconds of silence;
* at ``connection_limit`` open connections the stalest ones (idle the longest, or with the oldest
  unfinished request) are closed to make room, so a new delivery is accepted within a second or so
  instead of waiting in the listen queue; a connection whose request is being answered is never cut;
* waitress polls with ``poll()`` (``select()`` fails above 1,024 descriptors) and the process' open
  file limit is raised to fit ``connection_limit``.

This bounds the damage; it does not make a plain-HTTP Python server fit for the open internet. A
buffering reverse proxy in front (nginx ``proxy_request_buffering on``, Caddy ``request_buffers``) is
REQUIRED: it terminates TLS and absorbs slow clients, so that only whole requests ever reach wcbc.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

log = logging.getLogger("wcbc.server")

# descriptors kept free for the state DB, the listening sockets, outbound HTTPS and logs
_SPARE_FDS = 64
# at the limit, make room for this share of connection_limit (at least one)
_HEADROOM = 0.05
_LOG_EVERY_S = 60.0


@dataclass(frozen=True)
class Limits:
    """The ``[serve]`` keys that bound connections (see README "Webhooks, serve and subscriptions")."""

    connection_limit: int = 1000
    channel_timeout: int = 15
    request_timeout: int = 10
    backlog: int = 1024
    threads: int = 4
    max_header_bytes: int = 65_536

    def waitress_options(self) -> dict[str, Any]:
        """The keyword arguments for ``waitress.create_server``."""
        return {
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.channel_timeout,
            "backlog": self.backlog,
            "max_request_header_size": self.max_header_bytes,
            "asyncore_use_poll": True,
        }


def fit_open_files(limits: Limits) -> Limits:
    """Raise the soft open-file limit to fit ``connection_limit`` (up to the hard limit); if it cannot
    fit, lower ``connection_limit`` and say so."""
    needed = limits.connection_limit + _SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.debug("cannot raise the open file limit", exc_info=True)
    if soft != resource.RLIM_INFINITY and soft < needed:
        fitted = max(10, soft - _SPARE_FDS)
        log.warning("serve.connection_limit %d lowered to %d: the open file limit is %d (raise it with "
                    "LimitNOFILE= in the systemd unit)", limits.connection_limit, fitted, soft)
        return Limits(fitted, limits.channel_timeout, limits.request_timeout, limits.backlog,
                      limits.threads, limits.max_header_bytes)
    return limits


class GuardedChannel(HTTPChannel):
    """waitress' channel, remembering when the request it is receiving began."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        before = self.request
        result = super().received(data)
        if self.request is None:
            self.request_started = None
        elif self.request is not before:
            self.request_started = time.time()
        return bool(result)


class Guard:
    """Installed on waitress' server(s) by :meth:`install`: it takes over their ``readable()``, which
    waitress' event loop calls on every pass before polling."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.dropped = {"slow": 0, "idle": 0, "evicted": 0}
        self._logged = dict(self.dropped)
        self._logged_at = 0.0

    def install(self, server: Any) -> None:
        """Hook every listening server of ``server`` (one per address, or a multi-socket server)."""
        socket_map = getattr(server, "_map", None) or getattr(server, "map", None) or {}
        servers = [s for s in socket_map.values() if isinstance(s, BaseWSGIServer)] or [server]
        for one in servers:
            one.channel_class = GuardedChannel
            one.readable = self._readable_of(one)

    def _readable_of(self, server: Any) -> Callable[[], bool]:
        def readable() -> bool:
            """waitress' own stops accepting at the limit; this one makes room and keeps accepting."""
            now = time.time()
            if now >= server.next_channel_cleanup:
                server.next_channel_cleanup = now + 1.0
                self.sweep(server.active_channels.values(), now)
            if not server.accepting:
                return False
            if len(server._map) >= self.limits.connection_limit:
                self.make_room(server.active_channels.values(), len(server._map))
            return True

        return readable

    def sweep(self, channels: Iterable[Any], now: float) -> None:
        """Close the requests slower than ``request_timeout`` and the connections idle longer than
        ``channel_timeout`` (never one whose request is being answered)."""
        for channel in list(channels):
            if channel.will_close or channel.requests:
                continue
            started = getattr(channel, "request_started", None)
            if channel.request is not None:
                if started is not None and now - started > self.limits.request_timeout:
                    self._close(channel, "slow")
            elif now - channel.last_activity > self.limits.channel_timeout:
                self._close(channel, "idle")
        self._report(now)

    def make_room(self, channels: Iterable[Any], open_sockets: int) -> None:
        """At ``connection_limit``: close the stalest connections (idle the longest, or with the oldest
        unfinished request) to get a margin of 5 % of the limit below it."""
        candidates: list[tuple[float, Any]] = []
        closing = 0
        for channel in list(channels):
            if channel.will_close:
                closing += 1
            elif not channel.requests:
                started = getattr(channel, "request_started", None)
                stale_since = started if channel.request is not None and started else channel.last_activity
                candidates.append((stale_since, channel))
        limit = self.limits.connection_limit
        excess = open_sockets - closing - limit
        if excess < 0:
            return
        candidates.sort(key=lambda c: c[0])
        for _, channel in candidates[: excess + max(1, int(limit * _HEADROOM))]:
            self._close(channel, "evicted")

    def _close(self, channel: Any, why: str) -> None:
        channel.will_close = True  # waitress closes it on its next pass (writable() -> handle_close)
        self.dropped[why] += 1

    def _report(self, now: float) -> None:
        if now - self._logged_at < _LOG_EVERY_S or self.dropped == self._logged:
            return
        new = {k: v - self._logged[k] for k, v in self.dropped.items()}
        self._logged, self._logged_at = dict(self.dropped), now
        log.warning("closed connections: %d with a request slower than %d s, %d idle over %d s, %d to "
                    "stay under %d connections (is the buffering reverse proxy in front?)",
                    new["slow"], self.limits.request_timeout, new["idle"], self.limits.channel_timeout,
                    new["evicted"], self.limits.connection_limit)
