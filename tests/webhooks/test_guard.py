"""wcbc.webhooks.guard on its own: which connections the sweep closes, how room is made at the limit, the
open-file limit, and the [serve] keys reaching waitress. (Real sockets: tests/reliability/
test_serve_hostile_clients.py.)"""

from __future__ import annotations

import logging
import resource
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.core.test_config import MINIMAL, write
from wcbc.core.config import load_config
from wcbc.webhooks import guard as guard_module
from wcbc.webhooks.guard import Guard, Limits, fit_open_files

NOW = 10_000.0


def channel(*, idle_since: float | None = None, request_since: float | None = None, busy: bool = False,
            closing: bool = False) -> Any:
    """A stand-in for waitress' channel with just what the guard reads."""
    return SimpleNamespace(
        will_close=closing,
        requests=["a request being answered"] if busy else [],
        request=object() if request_since is not None else None,
        request_started=request_since,
        last_activity=idle_since if idle_since is not None else (request_since or NOW),
    )


def test_sweep_cuts_slow_requests_and_idle_connections_only() -> None:
    guard = Guard(Limits(request_timeout=10, channel_timeout=15))
    slow = channel(request_since=NOW - 11, idle_since=NOW - 0.1)  # drips: active 0.1 s ago, began 11 s ago
    young = channel(request_since=NOW - 9, idle_since=NOW - 0.1)
    idle = channel(idle_since=NOW - 16)
    quiet = channel(idle_since=NOW - 14)
    busy = channel(request_since=NOW - 100, idle_since=NOW - 100, busy=True)
    busy_idle = channel(idle_since=NOW - 100, busy=True)
    guard.sweep([slow, young, idle, quiet, busy, busy_idle], NOW)
    assert [c.will_close for c in (slow, young, idle, quiet, busy, busy_idle)] == [
        True, False, True, False, False, False]
    assert guard.dropped == {"slow": 1, "idle": 1, "evicted": 0}


def test_make_room_closes_the_stalest_and_never_a_busy_one() -> None:
    guard = Guard(Limits(connection_limit=20))
    channels = [channel(idle_since=NOW - n) for n in range(1, 17)]  # 16 idle, the last one oldest
    oldest_request = channel(request_since=NOW - 50, idle_since=NOW)
    busy = channel(idle_since=NOW - 1000, busy=True)
    all_channels = [*channels, oldest_request, busy]
    # 18 channels + a listening socket + waitress' trigger = 20 sockets: at the limit
    guard.make_room(all_channels, open_sockets=20)
    # at the limit: the margin, max(1, 5 % of 20), goes: the stalest (the oldest unfinished request)
    assert [c for c in all_channels if c.will_close] == [oldest_request]
    # the one being closed counts as gone: at the same count nothing more is closed
    guard.make_room(all_channels, open_sockets=20)
    assert guard.dropped["evicted"] == 1
    # two more sockets: 22 - 1 closing - 20 = 1 over, plus the margin: the next two stalest
    guard.make_room(all_channels, open_sockets=22)
    assert [c for c in all_channels if c.will_close] == [channels[-2], channels[-1], oldest_request]
    assert busy.will_close is False and guard.dropped["evicted"] == 3


def test_make_room_does_nothing_below_the_limit() -> None:
    guard = Guard(Limits(connection_limit=100))
    channels = [channel(idle_since=NOW - 5) for _ in range(10)]
    guard.make_room(channels, open_sockets=12)
    assert not any(c.will_close for c in channels)


def test_waitress_options_poll_and_carry_every_limit() -> None:
    options = Limits(connection_limit=321, channel_timeout=7, request_timeout=3, backlog=99,
                     threads=6).waitress_options()
    assert options["asyncore_use_poll"] is True  # select() breaks above 1,024 descriptors
    assert options["connection_limit"] == 321 and options["channel_timeout"] == 7
    assert options["backlog"] == 99 and options["threads"] == 6
    assert options["max_request_header_size"] == 65_536


def test_the_open_file_limit_is_raised_or_the_connection_limit_lowered(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: calls.append(value))
    assert fit_open_files(Limits(connection_limit=1000)).connection_limit == 1000
    assert calls == [(1064, 4096)]

    def refuse(which: int, value: tuple[int, int]) -> None:
        raise ValueError("not permitted")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    with caplog.at_level(logging.WARNING, logger="wcbc.server"):
        fitted = fit_open_files(Limits(connection_limit=1000, request_timeout=4))
    assert fitted.connection_limit == 256 - 64 and fitted.request_timeout == 4
    assert "LimitNOFILE" in caplog.text


def test_serve_keys_are_read_and_reach_the_service(tmp_path: Path) -> None:
    from wcbc.webhooks.service import service_from_context

    text = MINIMAL + ("\n[serve]\nconnection_limit = 300\nchannel_timeout = 9\nrequest_timeout = 4\n"
                      "backlog = 64\nworkers = 3\n")
    config = load_config(write(tmp_path, text))
    assert (config.serve.connection_limit, config.serve.channel_timeout, config.serve.request_timeout,
            config.serve.backlog) == (300, 9, 4, 64)
    defaults = load_config(write(tmp_path, MINIMAL, "defaults.toml")).serve
    assert (defaults.connection_limit, defaults.channel_timeout, defaults.request_timeout,
            defaults.backlog) == (1000, 15, 10, 1024)
    ctx = SimpleNamespace(config=config, vault=SimpleNamespace(get=lambda name: None), redactor=None)
    service = service_from_context(ctx)
    assert service.limits == Limits(connection_limit=300, channel_timeout=9, request_timeout=4, backlog=64,
                                    threads=3)


def test_bad_serve_limits_are_config_errors(tmp_path: Path) -> None:
    from wcbc.core.errors import ConfigError

    for key, value in (("connection_limit", 0), ("request_timeout", 0), ("channel_timeout", -1),
                       ("backlog", 0)):
        with pytest.raises(ConfigError, match=key):
            load_config(write(tmp_path, MINIMAL + f"\n[serve]\n{key} = {value}\n"))


def test_the_guard_module_says_the_proxy_is_required() -> None:
    assert "REQUIRED" in (guard_module.__doc__ or "")
