"""The schema as named migrations, applied once each and in order (recorded in the ``migrations`` table)."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _m0001_core(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE links (
            kind TEXT NOT NULL, woo_id TEXT NOT NULL, bc_id TEXT NOT NULL, bc_number TEXT,
            data TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (kind, woo_id))""")
    db.execute("CREATE INDEX idx_links_kind_bc ON links (kind, bc_id)")
    db.execute("""
        CREATE TABLE records (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, data TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_records_status ON records (status)")
    db.execute("""
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, run_id INTEGER,
            ts TEXT NOT NULL, step TEXT NOT NULL, detail TEXT)""")
    db.execute("CREATE INDEX idx_journal_record ON journal (record_id)")
    db.execute("CREATE INDEX idx_journal_ts ON journal (ts)")
    db.execute("CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, outcome TEXT, summary TEXT)""")
    db.execute("CREATE INDEX idx_runs_command ON runs (command)")


def _m0002_inbox(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, topic TEXT NOT NULL,
            resource_id TEXT, body BLOB NOT NULL, body_hash TEXT NOT NULL, headers TEXT,
            received_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', claimed_by TEXT,
            lease_until TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, processed_at TEXT)""")
    db.execute("CREATE INDEX idx_inbox_status_source ON inbox (status, source)")
    db.execute("CREATE INDEX idx_inbox_body_hash ON inbox (body_hash)")


def _m0003_subscriptions_conflicts(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY, resource TEXT NOT NULL, notification_url TEXT NOT NULL,
            expiration TEXT NOT NULL, etag TEXT, updated_at TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, detected_at TEXT NOT NULL,
            detail TEXT, resolved_at TEXT)""")
    db.execute("CREATE INDEX idx_conflicts_record ON conflicts (record_id)")


def _m0004_meta_hosts(db: sqlite_utils.Database) -> None:
    """meta: this file's instance id and its last integrity check; hosts: who used it, from where, when."""
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE hosts (
            host_id TEXT NOT NULL, path TEXT NOT NULL, host_name TEXT NOT NULL, first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL, PRIMARY KEY (host_id, path))""")


Migration = tuple[str, Callable[[sqlite_utils.Database], None]]

MIGRATIONS: list[Migration] = [
    ("0001_core", _m0001_core),
    ("0002_inbox", _m0002_inbox),
    ("0003_subscriptions_conflicts", _m0003_subscriptions_conflicts),
    ("0004_meta_hosts", _m0004_meta_hosts),

]
