"""wcbc.core.lock: one run per command, across processes."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from wcbc.core.errors import LockHeld
from wcbc.core.lock import lock_path, run_lock


def _try_lock(state_path: str, command: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        with run_lock(Path(state_path), command):
            queue.put("acquired")
    except LockHeld as exc:
        queue.put(f"held: {exc} exit={exc.exit_code}")


def _in_child(state_path: Path, command: str) -> str:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_try_lock, args=(str(state_path), command, queue))
    proc.start()
    result = queue.get(timeout=30)
    proc.join(timeout=30)
    assert proc.exitcode == 0
    return result


def test_second_process_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state" / "wcbc.db"
    with run_lock(state, "sync"):
        result = _in_child(state, "sync")
        assert result.startswith("held: another `wcbc sync` is running (lock ")
        assert str(lock_path(state, "sync")) in result
        assert result.endswith("exit=0")
        # another command is independent
        assert _in_child(state, "items") == "acquired"
    # released: the next run gets it
    assert _in_child(state, "sync") == "acquired"


def test_same_process_second_holder_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "wcbc.db"
    with run_lock(state, "serve"), pytest.raises(LockHeld), run_lock(state, "serve"):
        pass
    with run_lock(state, "serve"):
        pass


def test_lock_file_is_private_and_named_after_command(tmp_path: Path) -> None:
    state = tmp_path / "new" / "wcbc.db"
    with run_lock(state, "sync"):
        path = tmp_path / "new" / "wcbc.db.sync.lock"
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_released_when_the_block_raises(tmp_path: Path) -> None:
    state = tmp_path / "wcbc.db"
    with pytest.raises(RuntimeError), run_lock(state, "sync"):
        raise RuntimeError("boom")
    assert _in_child(state, "sync") == "acquired"


def test_bad_command_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError), run_lock(tmp_path / "wcbc.db", "../x"):
        pass


def test_wait_acquires_once_the_holder_releases(tmp_path) -> None:
    import threading
    import time as _time

    from wcbc.core.lock import run_lock

    state = tmp_path / "state.db"
    released, held = threading.Event(), threading.Event()

    def hold() -> None:
        with run_lock(state, "sync-items"):
            held.set()
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(5)
    threading.Timer(0.5, released.set).start()
    started = _time.monotonic()
    with run_lock(state, "sync-items", wait=5):
        waited = _time.monotonic() - started
    holder.join()
    assert waited >= 0.2  # it waited for the holder instead of failing at once
