"""Every bookmark (cursor) name, defined once. A bookmark moves only past committed records and never
past the run's start (:func:`wcbc.sync.common.bookmark.capped`)."""

from __future__ import annotations

ORDERS_MODIFIED_AFTER = "orders.modified_after"
ORDERS_LAST_SEEN = "orders.last_seen_modified"
ITEMS_MODIFIED_AFTER = "items.modified_after"
ITEMS_LEDGER_ENTRY = "items.ledger_entry"
SERVE_LAST_PROCESSED = "serve.last_processed_at"
SHIPMENTS_MODIFIED_AFTER = "shipments.modified_after"
