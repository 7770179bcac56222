"""EXTENSION, not WooCommerce core: the WooCommerce Shipment Tracking extension's REST routes.

Off unless the store is built with ``shipment_tracking=True`` (or switched on through the admin API);
off, every route below answers 404 ``rest_no_route`` as WordPress does for an unknown route
(woocommerce.md §8.5). Namespace ``wc-shipment-tracking/v3``; WooCommerce's key authentication covers it
(third-party ``wc-`` namespaces use it too).

- ``POST|GET /orders/{order_id}/shipment-trackings``, ``GET|DELETE …/shipment-trackings/{tracking_id}``,
  ``GET /shipment-trackings/providers`` (public: no key needed);
- item: ``tracking_id`` (32 hex), ``tracking_provider`` (the provider's name, or the custom provider's),
  ``tracking_link`` (built from the provider's URL format: ``%1$s`` number, ``%2$s`` postcode, ``%3$s``
  country), ``tracking_number``, ``date_shipped`` (``YYYY-MM-DD``, default today in the site's zone);
- stored in the order meta ``_wc_shipment_tracking_items`` (so ``GET /orders/{id}`` shows it).

UNDOCUMENTED choices (say so in README): the stored item keeps ``date_shipped`` as a unix timestamp
string; adding or deleting an item saves the order (``order.updated``, ``date_modified`` moves); an
unknown order is 404 ``woocommerce_rest_order_invalid_id``, an unknown tracking id 404
``woocommerce_rest_shipment_tracking_invalid_id``, a ``date_shipped`` that is not ``YYYY-MM-DD`` 400
``rest_invalid_param``; a provider name not in the list is kept as sent with an empty link; the
delete answers the deleted item.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wcbc.sandbox.core import Request, Response
from wcbc.sandbox.woo.model import Meta, Order, RestError
from wcbc.sandbox.woo.params import COLLECTION_ALLOW, CREATE_MSG, DELETE_MSG, LIST_MSG, VIEW_MSG, Ctx

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore

TRACKING_NS = "/wp-json/wc-shipment-tracking/v3"
META_KEY = "_wc_shipment_tracking_items"
ITEM_ALLOW = "GET, DELETE"
PROVIDERS: dict[str, dict[str, str]] = {
    "Global": {
        "Aramex": "https://www.aramex.com/track/track-results-new?ShipmentNumber=%1$s",
        "DHL Express": "https://www.dhl.com/global-en/home/tracking.html?tracking-id=%1$s",
    },
    "Germany": {
        "DHL Intraship (DE)": "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=%1$s",
        "DPD.de": "https://tracking.dpd.de/status/de_DE/parcel/%1$s",
    },
    "United Kingdom": {
        "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/%1$s",
    },
    "United States": {
        "Fedex": "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=%1$s",
        "UPS": "https://www.ups.com/track?loc=en_US&tracknum=%1$s&zip=%2$s",
        "USPS": "https://tools.usps.com/tracking/%1$s",
    },
}
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _provider_url(name: str) -> tuple[str, str] | None:
    """(the provider's formatted name, its URL format), matched like the extension (sanitize_title)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    for group in PROVIDERS.values():
        for provider, url in group.items():
            if re.sub(r"[^a-z0-9]+", "-", provider.lower()).strip("-") == slug:
                return provider, url
    return None


class TrackingRoutes:
    """Handlers of the extension's routes (mixed into WooRest)."""

    store: WooStore

    def _tracking_on(self) -> None:
        if not self.store.shipment_tracking:
            raise RestError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _tracking_order(self, ctx: Ctx) -> Order:
        order = self.store.order_index.get(int(ctx.params["id"]))
        if order is None:
            raise RestError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        return order

    @staticmethod
    def _items(order: Order) -> list[dict[str, Any]]:
        meta = next((m for m in order.meta_data if m.key == META_KEY), None)
        return list(meta.value) if meta is not None and isinstance(meta.value, list) else []

    def _save_items(self, order: Order, items: list[dict[str, Any]]) -> None:
        store = self.store
        meta = next((m for m in order.meta_data if m.key == META_KEY), None)
        if meta is None:
            order.meta_data.append(Meta(store._new_meta_id(), META_KEY, items))
        else:
            meta.value = items
        order.date_modified = store.now()
        store.emit("order", "updated", order.id)

    def _render_tracking(self, order: Order, item: dict[str, Any]) -> dict[str, Any]:
        store = self.store
        found = _provider_url(item["tracking_provider"]) if item["tracking_provider"] else None
        if found is not None:
            provider, url = found
        else:
            provider = item["custom_tracking_provider"] or item["tracking_provider"]
            url = item["custom_tracking_link"]
        postcode = quote(order.shipping.get("postcode", "").replace(" ", ""))
        link = url.replace("%1$s", quote(item["tracking_number"])).replace("%2$s", postcode)
        link = link.replace("%3$s", order.shipping.get("country", ""))
        shipped = dt.datetime.fromtimestamp(int(item["date_shipped"]), dt.UTC).strftime("%Y-%m-%d")
        base = f"{store.base_url}{TRACKING_NS}/orders/{order.id}/shipment-trackings"
        return {
            "tracking_id": item["tracking_id"],
            "tracking_provider": provider,
            "tracking_link": link,
            "tracking_number": item["tracking_number"],
            "date_shipped": shipped,
            "_links": {
                "self": [{"href": f"{base}/{item['tracking_id']}"}],
                "collection": [{"href": base}],
                "up": [{"href": f"{store.api_url}/orders/{order.id}"}],
            },
        }

    def tracking_list(self, request: Request, ctx: Ctx) -> Response:
        self._tracking_on()
        self._need(ctx, LIST_MSG)
        with self.store.lock:
            order = self._tracking_order(ctx)
            body = [self._render_tracking(order, item) for item in self._items(order)]
            return self._ok(body, COLLECTION_ALLOW)

    def tracking_create(self, request: Request, ctx: Ctx) -> Response:
        self._tracking_on()
        data = self._body(request)
        number = str(data.get("tracking_number") or "").strip()
        if not number:
            raise RestError(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): tracking_number",
                params=["tracking_number"],
            )
        shipped_raw = str(data.get("date_shipped") or "").strip()
        day: dt.date | None = None
        if shipped_raw:
            try:
                day = dt.date.fromisoformat(shipped_raw) if DATE_ONLY.match(shipped_raw) else None
            except ValueError:
                day = None
            if day is None:
                ctx.invalid("date_shipped", "rest_invalid_date", "Invalid date.")
        self._need(ctx, CREATE_MSG)
        store = self.store
        with store.lock:
            order = self._tracking_order(ctx)
            if day is None:
                day = store.now().astimezone(store.tz).date()
            provider = str(data.get("tracking_provider") or "").strip()
            found = _provider_url(provider) if provider else None
            item = {
                "tracking_provider": found[0] if found else provider,
                "custom_tracking_provider": "" if found else str(data.get("custom_tracking_provider") or ""),
                "custom_tracking_link": "" if found else str(data.get("custom_tracking_link") or ""),
                "tracking_number": number,
                "date_shipped": str(
                    int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
                ),
                "tracking_id": secrets.token_hex(16),
            }
            self._save_items(order, [*self._items(order), item])
            body = self._render_tracking(order, item)
        location = f"{store.base_url}{TRACKING_NS}/orders/{order.id}/shipment-trackings/{item['tracking_id']}"
        return self._ok(body, COLLECTION_ALLOW, status=201, location=location)

    def _tracking_item(self, order: Order, ctx: Ctx) -> dict[str, Any]:
        for item in self._items(order):
            if item["tracking_id"] == ctx.params["tid"]:
                return item
        raise RestError(404, "woocommerce_rest_shipment_tracking_invalid_id", "Invalid tracking ID.")

    def tracking_get(self, request: Request, ctx: Ctx) -> Response:
        self._tracking_on()
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            order = self._tracking_order(ctx)
            return self._ok(self._render_tracking(order, self._tracking_item(order, ctx)), ITEM_ALLOW)

    def tracking_delete(self, request: Request, ctx: Ctx) -> Response:
        self._tracking_on()
        self._need(ctx, DELETE_MSG)
        with self.store.lock:
            order = self._tracking_order(ctx)
            item = self._tracking_item(order, ctx)
            body = self._render_tracking(order, item)
            self._save_items(order, [i for i in self._items(order) if i is not item])
            return self._ok(body, ITEM_ALLOW)

    def tracking_providers(self, request: Request, ctx: Ctx) -> Response:
        self._tracking_on()
        ctx.check()
        return self._ok(PROVIDERS, "GET")
