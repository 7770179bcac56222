"""The read step of item sync: what Business Central says, through the adapters only.

* :class:`BCItem`: a BC item reduced to the fields item sync compares (``$select``: no more is read);
* :func:`wanted_from_inbox`: which items the BC notifications name (pure: a notification carries no data);
* :class:`ItemReader`: items by id, by number, modified after the bookmark, and the numbers of items whose
  stock moved (item ledger entries after the bookmark); every read batched, no per-item GETs.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from wcbc.adapters.bc import odata
from wcbc.core.time import odata_literal, parse
from wcbc.sync.common import cursors
from wcbc.sync.items.catalog import sku_key

log = logging.getLogger("wcbc.items")

# `type` is read too: a Service or Non-Inventory item has no stock to push (its inventory reads 0);
# `taxGroupCode` picks the rate that converts its price (the VAT product posting group under VAT).
ITEM_FIELDS = ("id,number,displayName,type,unitPrice,inventory,blocked,priceIncludesTax,taxGroupCode,"
               "lastModifiedDateTime")
NO_STOCK_TYPES = frozenset({"Service", "Non-Inventory", "Non_x002D_Inventory"})
_ITEM_RESOURCE = re.compile(r"/items\(([0-9A-Fa-f-]{36})\)\s*$")
# A collection notification reaching back before this is not BC's (it would re-read every item).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_COLLECTION_TIME = re.compile(r"lastModifiedDateTime\s+gt\s+([0-9T:.\-]+Z?)", re.IGNORECASE)


@dataclass(slots=True)
class BCItem:
    """A BC item, reduced to what item sync needs. Values are kept as read (a wrong type included): the
    planner checks them, so a bad one fails this item alone."""

    id: str
    number: str
    name: str
    type: str
    unit_price: Any
    inventory: Any
    blocked: Any  # true or false; anything else fails the item
    price_includes_tax: Any
    modified: str
    tax_group: Any = ""

    @property
    def key(self) -> str:
        return sku_key(self.number)

    @property
    def modified_at(self) -> datetime | None:
        return parse(self.modified)

    @property
    def has_stock(self) -> bool:
        return self.type not in NO_STOCK_TYPES

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> BCItem:
        return cls(
            id=str(data.get("id") or ""),
            number=str(data.get("number") or ""),
            name=str(data.get("displayName") or ""),
            type=str(data.get("type") or "Inventory"),
            unit_price=data.get("unitPrice"),
            inventory=data.get("inventory"),
            blocked=_flag(data.get("blocked")),
            price_includes_tax=_flag(data.get("priceIncludesTax")),
            modified=str(data.get("lastModifiedDateTime") or ""),
            tax_group=data.get("taxGroupCode") if data.get("taxGroupCode") is not None else "",
        )


def _flag(value: Any) -> Any:
    """A BC boolean: missing or null is false; any other non-boolean is kept for the planner to refuse."""
    return False if value is None else value


def read_items(bc: Any, flt: str | None = None, *, orderby: str | None = None) -> Iterator[BCItem]:
    """Items (only the fields item sync needs), in BC's largest pages."""
    params: dict[str, str] = {"$select": ITEM_FIELDS}
    if flt:
        params["$filter"] = flt
    if orderby:
        params["$orderby"] = orderby
    for data in bc.iter("items", params):
        yield BCItem.from_api(data)


def newest_ledger_entry(bc: Any) -> int | None:
    """The highest item ledger entry number (one call), or None when the ledger is empty."""
    params = {"$select": "entryNumber", "$orderby": "entryNumber desc", "$top": "1"}
    rows = list(bc.iter("itemLedgerEntries", params, page_size=1))
    return int(rows[0]["entryNumber"]) if rows else None


# ---------------------------------------------------------------------------- what a run reads


@dataclass
class Wanted:
    """What the inbox, the polls and the failed records ask for in one run."""

    ids: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    since: datetime | None = None
    deleted: list[str] = field(default_factory=list)
    ledger_max: int | None = None
    ledger_entries: int = 0
    bad: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (inbox row, cause)


def wanted_from_inbox(rows: Iterable[dict[str, Any]], started: datetime) -> Wanted:
    """The items BC notifications name: ``items(<id>)`` to read back, ``deleted`` ids, and for a
    ``collection`` notification (over 1,000 changes) the time the modified poll must reach back to.

    Each row is read on its own: one that cannot be (a hostile time, say) goes to ``wanted.bad`` with its
    cause and the others are read as usual."""
    wanted = Wanted()
    for row in rows:
        try:
            _read_row(row, started, wanted)
        except (ValueError, ArithmeticError, TypeError, AttributeError) as exc:
            wanted.bad.append((row, f"BC notification inbox:{row.get('id')} cannot be read: {exc}"))
    return wanted


def _read_row(row: dict[str, Any], started: datetime, wanted: Wanted) -> None:
    resource = unquote(str(row.get("resource_id") or ""))
    topic = str(row.get("topic") or "")
    if "/items" not in resource:
        log.debug("inbox:%s is not about items (%s): ignored", row.get("id"), resource[:80])
        return
    if topic == "collection":
        match = _COLLECTION_TIME.search(resource)
        moment = parse(match.group(1)) if match else None
        if moment is None:
            # No filter (a delete was among the changes): go back a little before the notice.
            noticed = parse(_json(row.get("body")).get("lastModifiedDateTime")) or started
            moment = noticed - timedelta(minutes=5)
        if moment < EARLIEST:
            raise ValueError(f"collection time {moment.isoformat()} is before {EARLIEST.year}: not BC's")
        wanted.since = moment if wanted.since is None else min(wanted.since, moment)
        return
    match = _ITEM_RESOURCE.search(resource)
    if not match:
        return
    item_id = match.group(1).lower()
    if topic == "deleted":
        wanted.deleted.append(item_id)
    else:
        wanted.ids.add(item_id)


class ItemReader:
    """The BC reads of one sync-items run; ``items`` collects what was read, by item key."""

    def __init__(self, bc: Any, state: Any, started: datetime) -> None:
        self.bc = bc
        self.state = state
        self.started = started

    def by_ids(self, ids: set[str], items: dict[str, BCItem]) -> None:
        guids = [uuid.UUID(i) for i in sorted(ids) if _is_guid(i)]
        for flt in odata.any_of_chunks("id", guids):  # type: ignore[arg-type]
            for item in read_items(self.bc, flt):
                items[item.key] = item

    def by_numbers(self, numbers: set[str], items: dict[str, BCItem]) -> None:
        missing = sorted({str(n).strip() for n in numbers if str(n).strip() and sku_key(n) not in items})
        for flt in odata.any_of_chunks("number", missing):
            for item in read_items(self.bc, flt):
                items[item.key] = item

    def modified(self, since: datetime | None, items: dict[str, BCItem]) -> datetime | None:
        """Items modified after the bookmark (or an earlier collection time). Returns the newest seen."""
        cursor = parse(self.state.cursor_get(cursors.ITEMS_MODIFIED_AFTER))
        if cursor is None:
            cursor = self.started - timedelta(days=1)
            log.info("no %s bookmark: polling items modified in the last 24 hours "
                     "(run `wcbc reconcile` once for a full initial load)", cursors.ITEMS_MODIFIED_AFTER)
        start = cursor if since is None else min(cursor, since)
        newest: datetime | None = None
        for item in read_items(self.bc, f"lastModifiedDateTime gt {odata_literal(start)}"):
            items[item.key] = item
            moment = item.modified_at
            if moment and (newest is None or moment > newest):
                newest = moment
        return newest

    def ledger(self, wanted: Wanted) -> None:
        """The numbers of the items whose stock moved since the ledger bookmark, into ``wanted``."""
        last = self.state.cursor_get(cursors.ITEMS_LEDGER_ENTRY)
        if last is None or not str(last).lstrip("-").isdigit():
            # First run: start from the newest entry; earlier movements are in `inventory` already.
            wanted.ledger_max = newest_ledger_entry(self.bc) or 0
            return
        highest = int(last)
        for entry in self.bc.iter("itemLedgerEntries", {"$filter": f"entryNumber gt {int(last)}",
                                                         "$select": "entryNumber,itemNumber"}):
            wanted.ledger_entries += 1
            highest = max(highest, int(entry.get("entryNumber") or 0))
            if entry.get("itemNumber"):
                wanted.numbers.add(str(entry["itemNumber"]))
        if highest > int(last):
            wanted.ledger_max = highest


def ids_of(items: dict[str, BCItem]) -> set[str]:
    """The ids of items read, as the inbox writes them (lower-case GUIDs)."""
    ids = set()
    for item in items.values():
        try:
            ids.add(str(uuid.UUID(item.id)))
        except ValueError:
            ids.add(item.id.lower())
    return ids


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return body if isinstance(body, dict) else {}
