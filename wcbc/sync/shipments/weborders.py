"""Which WooCommerce order a BC document belongs to.

First the state's order links (``bc_number`` is the BC order or invoice number, ``bc_id`` its id); with
a lost state DB, the document's ``externalDocumentNumber`` (``orders.number_prefix`` + the order number,
which is the order id in a default store) names a candidate, accepted only when that web order's
``_wcbc_bc_document`` meta (written back by sync-orders) names the same BC document: a shipment of an
order not booked by this connector is never written to a web order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wcbc.sync.mapping.orders import DOCUMENT_META_KEY
from wcbc.sync.mapping.orders.meta import meta_value


class OrderLinks:
    """The order links of the state, by BC number and by BC id (read once per run)."""

    def __init__(self, state: Any, number_prefix: str) -> None:
        self.prefix = (number_prefix or "").strip().upper()
        self.by_number: dict[str, int] = {}
        self.by_id: dict[str, int] = {}
        for link in state.links("order"):
            if not str(link["woo_id"]).isdigit():
                continue
            if link.get("bc_number"):
                self.by_number[str(link["bc_number"]).upper()] = int(link["woo_id"])
            if link.get("bc_id"):
                self.by_id[str(link["bc_id"]).lower()] = int(link["woo_id"])

    def candidate(self, numbers: Iterable[str | None], bc_id: str | None,
                  external: str | None) -> tuple[int, bool]:
        """(order id, linked) or (0, False); ``linked`` False means the meta must confirm it."""
        for number in numbers:
            if number and str(number).upper() in self.by_number:
                return self.by_number[str(number).upper()], True
        if bc_id and bc_id.lower() in self.by_id:
            return self.by_id[bc_id.lower()], True
        ext = str(external or "").strip().upper()
        if self.prefix and ext.startswith(self.prefix):
            ext = ext[len(self.prefix):]
        return (int(ext), False) if ext.isdigit() else (0, False)


def confirmed(order: Mapping[str, Any] | None, numbers: Iterable[str | None]) -> bool:
    """The web order's BC-document meta names one of ``numbers``."""
    if not order:
        return False
    value = str(meta_value(order, DOCUMENT_META_KEY) or "").upper()
    return bool(value) and value in {str(n).upper() for n in numbers if n}
