"""The local state database: links, records, journal, cursors, webhook inbox, subscriptions, runs.

One SQLite file (WAL, busy timeout, mode 0600), opened through sqlite-utils. The schema is a list
of named migrations recorded in the ``migrations`` table: a newer wcbc upgrades an older file; an
older wcbc refuses a file that holds a migration it does not know.

One connection is shared by every thread of the process (``wcbc serve`` stores deliveries from
request threads while workers drain the inbox); a re-entrant lock serialises its use and every
write runs in ``BEGIN IMMEDIATE`` so that several processes can share the file safely.

Timestamps are ISO-8601 UTC with a ``Z`` (``2026-01-31T12:00:00.123456Z``): they sort as text.

Parts: :mod:`.base` (connection, transactions, failures as StateError), :mod:`.migrations`,
:mod:`.links`, :mod:`.records`, :mod:`.journal`, :mod:`.cursors`, :mod:`.inbox`, :mod:`.runs`
(runs, subscriptions, conflicts), :mod:`.integrity` (quick_check), :mod:`.instance` (copies on
other hosts), assembled in :mod:`.store`.
"""

from wcbc.core.state.base import BUSY_TIMEOUT_MS
from wcbc.core.state.codec import INBOX_STATUSES, LINK_KINDS, RECORD_STATUSES
from wcbc.core.state.instance import HOST_ID_ENV, TAKE_OVER_HINT, host_identity
from wcbc.core.state.migrations import MIGRATIONS, Migration
from wcbc.core.state.store import State, take_over
from wcbc.core.time import iso_micro as iso
from wcbc.core.time import normalise_ts
from wcbc.core.time import utcnow as utc_now

__all__ = [
    "BUSY_TIMEOUT_MS", "HOST_ID_ENV", "INBOX_STATUSES", "LINK_KINDS", "MIGRATIONS", "RECORD_STATUSES",
    "TAKE_OVER_HINT", "Migration", "State", "host_identity", "iso", "normalise_ts", "take_over", "utc_now",
]
