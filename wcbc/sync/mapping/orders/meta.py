"""Our own order meta: the BC document number written back (:data:`DOCUMENT_META_KEY`), and its echo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.sync.mapping.orders.fingerprint import order_fingerprint

OWN_META_PREFIX = "_wcbc_"
# The BC document number the order sync writes back onto each booked order (defined here only).
DOCUMENT_META_KEY = "_wcbc_bc_document"


def meta_value(order: Mapping[str, Any], key: str) -> Any:
    """The value of the order meta ``key`` (last one wins), or ``None``."""
    value = None
    for entry in order.get("meta_data") or []:
        if isinstance(entry, Mapping) and entry.get("key") == key:
            value = entry.get("value")
    return value


def has_document_meta(order: Mapping[str, Any], number: str | None = None) -> bool:
    """True when the order carries our write-back (with the value ``number``, when given)."""
    for entry in order.get("meta_data") or []:
        if (isinstance(entry, Mapping) and entry.get("key") == DOCUMENT_META_KEY
                and (number is None or entry.get("value") == number)):
            return True
    return False


def is_own_echo(order: Mapping[str, Any], stored_fingerprint: str | None) -> bool:
    """True when the order carries our :data:`DOCUMENT_META_KEY` meta and its fingerprint equals the one
    stored when it was booked: the change that triggered this delivery was our own write-back (or nothing
    that matters to BC)."""
    if not stored_fingerprint or meta_value(order, DOCUMENT_META_KEY) in (None, ""):
        return False
    return order_fingerprint(order) == stored_fingerprint


