"""How values are stored: JSON text, fixed SELECTs, which inbox headers are kept, the known statuses."""

from __future__ import annotations

import json
from typing import Any

RECORD_STATUSES = ("pending", "done", "failed", "on_hold", "skipped", "conflict")
INBOX_STATUSES = ("pending", "claimed", "done", "failed")
LINK_KINDS = ("order", "customer", "product", "item")

# headers never stored with an inbox delivery (credentials and signatures)
_DROPPED_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-wc-webhook-signature")
_DROPPED_HEADER_WORDS = ("signature", "secret", "token", "clientstate", "api-key", "apikey", "password")


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def select(table: str, clauses: list[str], order: str) -> str:
    """SELECT * from fixed SQL fragments (values always go through ? placeholders)."""
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return f"SELECT * FROM {table}{where} ORDER BY {order}"  # noqa: S608 - no user text in here


def equal(**columns: Any) -> tuple[list[str], list[Any]]:
    """``column = ?`` clauses and their values for the filters that are given (None = no filter)."""
    given = {name: value for name, value in columns.items() if value is not None}
    return [f"{name} = ?" for name in given], list(given.values())


def keep_header(name: str) -> bool:
    lower = name.lower()
    if lower in _DROPPED_HEADERS:
        return False
    return not any(word in lower for word in _DROPPED_HEADER_WORDS)
