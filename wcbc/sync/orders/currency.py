"""The document's currency, checked against BC's currencies before anything is created.

BC's local currency (LCY) is not a Currency record (business-central.md §10.6): an order in
``orders.local_currency`` is sent with ``currencyCode: ""``. Any other code must be one of BC's
``currencies``, read once per run; an order in a currency BC does not know fails alone, before its customer
or document is created, naming the order, the field and the fix. Without ``orders.local_currency`` the
code is sent as it is and BC decides (it stores its own LCY code as blank, and refuses an unknown one).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.orders import MappingOptions, order_label


class Currencies:
    def __init__(self, bc: Any, options: MappingOptions) -> None:
        self.bc, self.options = bc, options
        self._codes: set[str] | None = None
        self._lock = threading.Lock()

    def codes(self) -> set[str]:
        with self._lock:
            if self._codes is None:
                self._codes = {str(c.get("code") or "").upper()
                               for c in self.bc.iter("currencies", {"$select": "code"})}
            return self._codes

    def check(self, order: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Raises RecordError when the document's currency is neither the local one nor a BC currency."""
        code = str(body.get("currencyCode") or "")
        if not code or not self.options.local_currency or code in self.codes():
            return
        raise RecordError(
            f"{order_label(order)}: currency {code} (the order's currency) is not a currency in Business "
            f"Central, and the local currency is {self.options.local_currency}",
            hint=f"add {code} with an exchange rate in BC (Currencies), or correct orders.local_currency",
        )
