"""WooCommerce REST API (wc/v3) client: the only code that talks HTTP to the store.

* HTTP Basic auth (consumer key and secret) on every call, over HTTPS only. WooCommerce ignores the key
  over plain http (every call would come back 401 ``woocommerce_rest_cannot_view``), so an ``http://`` URL
  is refused unless ``allow_http=True`` *and* the host is a loopback address (the sandbox).
* URLs are ``{url}/wp-json/wc/v3/...``; query strings are built by requests (never credentials in them).
* Lists page through ``X-WP-TotalPages`` (falling back to the ``Link: rel="next"`` page number), 100 a page.
* :meth:`WooClient.iter_orders` sends ``modified_after``/``modified_before`` as bare UTC timestamps
  ``YYYY-MM-DDTHH:MM:SS`` with ``dates_are_gmt=true``: a ``Z`` or ``+00:00`` suffix makes a store whose
  time zone is not UTC ignore the filter silently (seen on a real store).
* Batch endpoints are sent in chunks of at most 100 items; an item that fails comes back as
  ``BatchResult(ok=False, error={code, message, data})``: the whole call does not raise for it.
* Money stays as WooCommerce sends it: string fields stay strings. JSON numbers (a line item's ``price``)
  are Python floats whose repr is the wire text: convert with ``Decimal(str(x))``.
* ``calls``/``retries`` count requests by ``"METHOD /route"`` with ids replaced by ``{id}``,
  e.g. ``"GET /orders/{id}"``; ``calls.total()`` is the number of requests sent.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from wcbc.adapters.http import DEFAULT_MAX_TOTAL_WAIT, HttpClient, json_of, path_of
from wcbc.adapters.woo.wire import (
    API_PREFIX,
    next_page_from_link,
    route,
    store_url,
    woo_error_decoder,
)
from wcbc.core.errors import ConfigError, RemoteError
from wcbc.core.time import bare_utc

SYSTEM = "woocommerce"
BATCH_LIMIT = 100
MAX_PER_PAGE = 100
# Keep the encoded ?sku= value of one request under this many characters.
SKU_QUERY_BUDGET = 1500

@dataclass
class BatchResult:
    """One item of a batch call: the resource written (ok) or the item's own error."""

    id: int | str | None
    ok: bool
    item: dict | None
    error: dict | None


class WooClient:
    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        verify: str | bool = True,
        timeout: float = 30.0,
        allow_http: bool = False,
        per_page: int = 100,
        session: requests.Session | None = None,
        max_retries: int = 5,
        max_total_wait: float = DEFAULT_MAX_TOTAL_WAIT,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not consumer_key or not consumer_secret:
            raise ConfigError("the WooCommerce consumer key or secret is empty",
                              hint="wcbc credentials set woocommerce")
        self.url = store_url(url, allow_http)
        self.api_url = self.url + API_PREFIX
        self.per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        self.http = HttpClient(
            SYSTEM,
            verify=verify,
            timeout=timeout,
            max_retries=max_retries,
            max_total_wait=max_total_wait,
            session=session,
            auth=requests.auth.HTTPBasicAuth(consumer_key, consumer_secret),
            error_decoder=woo_error_decoder,
            route=route,
            secrets=[consumer_key, consumer_secret],
            sleep=sleep,
            now=now,
        )
        self.calls: collections.Counter[str] = self.http.calls
        self.retries: collections.Counter[str] = self.http.retries

    # ------------------------------------------------------------------ plumbing
    def _url(self, path: str) -> str:
        return f"{self.api_url}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, idempotent: bool | None = None) -> requests.Response:
        return self.http.request(method, self._url(path), params=params, json_body=body,
                                 idempotent=idempotent)

    def store_now(self) -> datetime | None:
        """The store's current time from its last answer's ``Date`` header (None before any)."""
        return self.http.remote_now()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return json_of(response, system=SYSTEM, call=f"{method} {path_of(response.url or self._url(path))}")

    def _dict(self, method: str, path: str, **kwargs: Any) -> dict:
        result = self._json(method, path, **kwargs)
        if not isinstance(result, dict):
            raise RemoteError("expected a JSON object", system=SYSTEM, call=f"{method} {API_PREFIX}/{path}")
        return result

    def _paginate(self, path: str, params: Mapping[str, Any] | None = None,
                  per_page: int | None = None) -> Iterator[dict]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query["per_page"] = max(1, min(int(per_page or query.get("per_page") or self.per_page), MAX_PER_PAGE))
        page = int(query.pop("page", 1) or 1)
        while True:
            response = self._request("GET", path, params={**query, "page": page})
            call = f"GET {API_PREFIX}/{path}"
            items = json_of(response, system=SYSTEM, call=call)
            if not isinstance(items, list):
                raise RemoteError("expected a JSON list", system=SYSTEM, call=call)
            yield from items
            if not items:
                return
            total_pages = response.headers.get("X-WP-TotalPages")
            if total_pages is not None and total_pages.strip().isdigit():
                if page >= int(total_pages):
                    return
                page += 1
                continue
            next_page = next_page_from_link(response.headers.get("Link"))
            if next_page is None or next_page <= page:
                return
            page = next_page

    @staticmethod
    def _batch_results(response: Any, key: str, sent: list[dict]) -> list[BatchResult]:
        items = response.get(key) if isinstance(response, dict) else None
        items = items if isinstance(items, list) else []
        results: list[BatchResult] = []
        for index, wanted in enumerate(sent):
            if index >= len(items) or not isinstance(items[index], dict):
                results.append(BatchResult(
                    id=wanted.get("id"), ok=False, item=None,
                    error={"code": "wcbc_batch_item_missing",
                           "message": "the batch answer has no entry for this item", "data": {}}))
                continue
            item = items[index]
            error = item.get("error")
            if isinstance(error, dict):
                results.append(BatchResult(id=item.get("id", wanted.get("id")), ok=False, item=None,
                                           error={"code": error.get("code"), "message": error.get("message"),
                                                  "data": error.get("data") or {}}))
            else:
                results.append(BatchResult(id=item.get("id"), ok=True, item=item, error=None))
        return results

    def _batch_update(self, path: str, update: list[dict]) -> list[BatchResult]:
        results: list[BatchResult] = []
        for start in range(0, len(update), BATCH_LIMIT):
            chunk = list(update[start:start + BATCH_LIMIT])
            # Updates set values: repeating one is harmless, so the call may be retried after a lost answer.
            answer = self._json("POST", path, body={"update": chunk}, idempotent=True)
            results.extend(self._batch_results(answer, "update", chunk))
        return results

    # ------------------------------------------------------------------ orders
    def get_order(self, order_id: int | str) -> dict:
        return self._dict("GET", f"orders/{quote(str(order_id), safe='')}")

    def iter_orders(self, *, modified_after: datetime | None = None, modified_before: datetime | None = None,
                    status: str | Iterable[str] | None = None, per_page: int = 100) -> Iterator[dict]:
        """Orders by date modified, oldest first; the bounds are exclusive (WooCommerce's rule)."""
        params: dict[str, Any] = {"orderby": "modified", "order": "asc"}
        if modified_after is not None or modified_before is not None:
            params["dates_are_gmt"] = "true"
        if modified_after is not None:
            params["modified_after"] = bare_utc(modified_after)
        if modified_before is not None:
            params["modified_before"] = bare_utc(modified_before, round_up=True)
        if status:
            params["status"] = status if isinstance(status, str) else ",".join(status)
        return self._paginate("orders", params, per_page)

    def update_order(self, order_id: int | str, data: dict) -> dict:
        return self._dict("PUT", f"orders/{quote(str(order_id), safe='')}", body=data)

    def batch_orders(self, update: list[dict]) -> list[BatchResult]:
        return self._batch_update("orders/batch", update)

    def add_order_note(self, order_id: int | str, note: str, *, customer_note: bool = False) -> dict:
        """A private order note (fires no webhook). Retried after a lost answer: a repeat is only cosmetic."""
        return self._dict("POST", f"orders/{quote(str(order_id), safe='')}/notes",
                          body={"note": note, "customer_note": customer_note}, idempotent=True)

    # ------------------------------------------------------------------ products
    def find_products_by_sku(self, skus: Iterable[str]) -> list[dict]:
        """Products and variations whose SKU is one of ``skus`` (exact, case-insensitive match).

        Sent as ``?sku=a,b,c`` in chunks that keep the URL short; a SKU containing a comma is asked alone.
        Each product appears once.
        """
        wanted: list[str] = []
        seen: set[str] = set()
        alone: list[str] = []
        for sku in skus:
            if not sku or not str(sku).strip():
                continue
            sku = str(sku)
            if sku.lower() in seen:
                continue
            seen.add(sku.lower())
            (alone if "," in sku else wanted).append(sku)
        chunks: list[str] = []
        current: list[str] = []
        size = 0
        for sku in wanted:
            cost = len(quote(sku, safe="")) + 3  # plus an encoded comma
            if current and (size + cost > SKU_QUERY_BUDGET or len(current) >= MAX_PER_PAGE):
                chunks.append(",".join(current))
                current, size = [], 0
            current.append(sku)
            size += cost
        if current:
            chunks.append(",".join(current))
        chunks.extend(alone)
        found: dict[Any, dict] = {}
        for chunk in chunks:
            for product in self._paginate("products", {"sku": chunk}):
                found.setdefault(product.get("id"), product)
        return list(found.values())

    def iter_products(self, **params: Any) -> Iterator[dict]:
        return self._paginate("products", params)

    def iter_variations(self, product_id: int | str, **params: Any) -> Iterator[dict]:
        return self._paginate(f"products/{quote(str(product_id), safe='')}/variations", params)

    def batch_products(self, update: list[dict]) -> list[BatchResult]:
        return self._batch_update("products/batch", update)

    def batch_variations(self, product_id: int | str, update: list[dict]) -> list[BatchResult]:
        return self._batch_update(f"products/{quote(str(product_id), safe='')}/variations/batch", update)

    # ------------------------------------------------------------------ webhooks
    def list_webhooks(self) -> list[dict]:
        return list(self._paginate("webhooks"))

    def create_webhook(self, data: dict) -> dict:
        """POST /webhooks (not repeated after a lost answer: list the webhooks to see whether it exists)."""
        return self._dict("POST", "webhooks", body=data)

    def update_webhook(self, webhook_id: int | str, data: dict) -> dict:
        return self._dict("PUT", f"webhooks/{quote(str(webhook_id), safe='')}", body=data)

    def delete_webhook(self, webhook_id: int | str) -> dict:
        return self._dict("DELETE", f"webhooks/{quote(str(webhook_id), safe='')}", params={"force": "true"})

    # ------------------------------------------------------------------ health
    def ping(self) -> dict:
        """An authenticated cheap read (GET /orders?per_page=1): proves URL, TLS, key and read permission."""
        response = self._request("GET", "orders", params={"per_page": 1})
        json_of(response, system=SYSTEM, call=f"GET {API_PREFIX}/orders")
        total = response.headers.get("X-WP-Total")
        orders_total = int(total) if total and total.isdigit() else None
        return {"ok": True, "url": self.url, "orders_total": orders_total}

    def order_refunds(self, order_id: int | str) -> list[dict]:
        """Every refund of an order (``GET /orders/{id}/refunds``), with its lines."""
        return list(self._paginate(f"orders/{quote(str(order_id), safe='')}/refunds", {}, 100))

    def iter_refunds(self, *, after: datetime | None = None) -> Iterator[dict]:
        """Every refund of the store created after ``after`` (``GET /refunds``, WC >= 9.0; ``parent_id``)."""
        params: dict[str, Any] = {"orderby": "date", "order": "asc"}
        if after is not None:
            params.update(after=bare_utc(after), dates_are_gmt="true")
        return self._paginate("refunds", params, 100)

    def orders_by_ids(self, ids: Iterable[int]) -> list[dict]:
        """The orders with these ids (``include``, 100 a page)."""
        wanted = sorted({int(i) for i in ids})
        found: list[dict] = []
        for start in range(0, len(wanted), 100):
            chunk = ",".join(str(i) for i in wanted[start:start + 100])
            found += self._paginate("orders", {"include": chunk, "status": "any"}, 100)
        return found

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ fulfilment (§8.4, §8.5)
    def add_customer_note(self, order_id: int | str, note: str) -> dict:
        """A note e-mailed to the buyer: NOT repeated after a lost answer (a second e-mail cannot be
        recalled); the caller looks it up in :meth:`customer_notes` instead."""
        return self._dict("POST", f"orders/{quote(str(order_id), safe='')}/notes",
                          body={"note": note, "customer_note": True}, idempotent=False)

    def customer_notes(self, order_id: int | str) -> list[dict]:
        """The order's notes to the buyer (to send one only once: its e-mail cannot be recalled)."""
        return list(self._paginate(f"orders/{quote(str(order_id), safe='')}/notes", {"type": "customer"}))

    def _tracking_url(self, order_id: int | str) -> str:
        # The Shipment Tracking EXTENSION's route, not WooCommerce core (§8.5): 404 rest_noroute without it.
        order = quote(str(order_id), safe="")
        return f"{self.url}/wp-json/wc-shipment-tracking/v3/orders/{order}/shipment-trackings"

    def shipment_trackings(self, order_id: int | str) -> list[dict]:
        response = self.http.request("GET", self._tracking_url(order_id))
        items = json_of(response, system=SYSTEM, call="GET shipment-trackings")
        return items if isinstance(items, list) else []

    def add_shipment_tracking(self, order_id: int | str, item: dict) -> dict:
        """POST a tracking item (not repeated once sent: the next run looks it up by tracking number)."""
        response = self.http.request("POST", self._tracking_url(order_id), json_body=item, idempotent=False)
        result = json_of(response, system=SYSTEM, call="POST shipment-trackings")
        return result if isinstance(result, dict) else {}
