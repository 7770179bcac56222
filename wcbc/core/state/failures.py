"""What a SQLite failure means for the operator: each known cause becomes a StateError (exit 2) naming the
file and what to do; anything else (a bug) is left as it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wcbc.core.errors import StateError

RESTORE_HINT = (
    'stop wcbc, move the damaged file (and its -wal and -shm files) aside, restore the last backup '
    '(README "Backups") and run again: the polls re-read what changed since the backup, and BC\'s '
    "externalDocumentNumber keeps any order from being booked twice"
)

# (SQLite error names, words of the message, what it means, what to do)
_CAUSES: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str], ...] = (
    (("SQLITE_FULL",), ("database or disk is full",),
     "the disk is full; the write was rolled back",
     "free space on the file system that holds the state file, then run again"),
    (("SQLITE_READONLY",), ("readonly database", "read-only"),
     "it cannot be written: the file, its directory or the file system is read-only",
     "give wcbc's user write access to the file, its -wal and -shm files and their directory "
     "(chown to that user, chmod 600; the directory 700), or remount the file system read-write"),
    (("SQLITE_CANTOPEN",), ("unable to open",),
     "it cannot be opened",
     "check that the path is right and that wcbc's user can create files in its directory "
     "(SQLite's WAL needs the -wal and -shm files beside it)"),
    (("SQLITE_CORRUPT", "SQLITE_NOTADB"), ("malformed", "not a database"),
     "it is damaged", RESTORE_HINT),
    (("SQLITE_IOERR",), ("disk i/o error",),
     "it could not be read or written (disk I/O error)",
     "check the disk and the file system (dmesg); if the file is damaged, " + RESTORE_HINT),
    (("SQLITE_BUSY", "SQLITE_LOCKED"), ("database is locked", "database table is locked"),
     "it stayed locked by another process for longer than the 30 s busy timeout",
     "look for a stuck wcbc process (or a tool holding the file open) and stop it"),
)


def translate(exc: BaseException, path: Path) -> StateError | None:
    """The StateError for a SQLite failure with a known cause, else None (re-raise the original)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    for names, words, meaning, hint in _CAUSES:
        if any(name == n or name.startswith(n + "_") for n in names) or any(w in text for w in words):
            return StateError(f"state file {path}: {meaning} (SQLite: {exc})", hint=hint)
    return None
