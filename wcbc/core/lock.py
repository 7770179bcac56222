"""One run at a time per command: a non-blocking flock next to the state file."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wcbc.core.errors import LockHeld

_COMMAND_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def lock_path(state_path: Path, command: str) -> Path:
    """``<state path>.<command>.lock``."""
    if not _COMMAND_RE.match(command):
        raise ValueError(f"not a command name: {command!r}")
    return Path(f"{state_path}.{command}.lock")


@contextmanager
def run_lock(state_path: Path, command: str, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the run lock of ``command`` for the duration of the block.

    Raises LockHeld (exit 0) when another process holds it, at once or after ``wait`` seconds. The
    lock is released by the kernel if the process dies; the lock file itself is left in place
    (removing it would race).
    """
    path = lock_path(Path(state_path), command)
    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (BlockingIOError, PermissionError):
                if time.monotonic() >= deadline:
                    raise LockHeld(f"another `wcbc {command}` is running (lock {path})") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
