"""wcbc.ops.progress: bar on a terminal, log lines off one, silence when disabled."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from wcbc.ops.progress import progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=100, color_system=None), buffer


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wcbc.progress"]


def test_disabled_prints_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for terminal in (True, False):
        console, buffer = _console(terminal)
        with progress(50, "reconcile", console=console, enabled=False) as advance:
            for _ in range(50):
                advance()
            advance(10)
        assert buffer.getvalue() == ""
    assert _messages(caplog) == []


def test_terminal_shows_a_bar_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    console, buffer = _console(True)
    with progress(40, "reconcile: products", console=console, enabled=True) as advance:
        for _ in range(30):
            advance()
        advance(10)
    text = buffer.getvalue()
    assert "reconcile: products" in text
    assert "40/40" in text
    assert _messages(caplog) == []  # the bar replaces the log lines


def test_terminal_without_total_counts_up(caplog: pytest.LogCaptureFixture) -> None:
    console, buffer = _console(True)
    with progress(None, "backfill orders", console=console, enabled=True) as advance:
        advance(7)
    assert "backfill orders" in buffer.getvalue()
    assert "7" in buffer.getvalue()


def test_not_a_terminal_logs_every_tenth_and_a_final_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wcbc.progress")
    console, buffer = _console(False)
    clock = FakeClock()
    with progress(100, "reconcile", console=console, enabled=True, clock=clock) as advance:
        for _ in range(100):
            advance()
    assert buffer.getvalue() == ""  # nothing on the console: the log handler owns stderr
    messages = _messages(caplog)
    expected = [f"reconcile: {n}/100 ({n}%)" for n in range(10, 101, 10)]
    assert [m.split(",")[0] for m in messages[:-1]] == expected
    assert messages[-1].startswith("reconcile: 100/100 (100%), finished")


def test_not_a_terminal_logs_on_the_interval_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wcbc.progress")
    console, _ = _console(False)
    clock = FakeClock()
    with progress(None, "backfill", console=console, enabled=True, every=1000, interval_s=30,
                  clock=clock) as advance:
        advance(5)  # neither 1000 records nor 30 s: nothing
        clock.now += 31
        advance(2)  # 31 s later: a line
        clock.now += 5
        advance(1)  # 5 s after that line: nothing
    messages = _messages(caplog)
    assert messages[0] == "backfill: 7, 31 s"
    assert len(messages) == 2
    assert messages[1] == "backfill: 8, finished in 36 s"


def test_explicit_every(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wcbc.progress")
    console, _ = _console(False)
    with progress(None, "items", console=console, enabled=True, every=3, clock=FakeClock()) as advance:
        for _ in range(7):
            advance()
    assert [m.split(",")[0] for m in _messages(caplog)] == ["items: 3", "items: 6", "items: 7"]


def test_an_exception_ends_with_a_stopped_line_and_propagates(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wcbc.progress")
    console, _ = _console(False)
    with (
        pytest.raises(RuntimeError, match="boom"),
        progress(10, "reconcile", console=console, enabled=True, clock=FakeClock()) as advance,
    ):
        advance(4)
        raise RuntimeError("boom")
    assert _messages(caplog)[-1].startswith("reconcile: 4/10 (40%), stopped")
