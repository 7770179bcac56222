"""REST v3 routes of the WooCommerce simulator: auth, parameter validation, handlers, pagination headers.

Order of checks as WordPress/WooCommerce run them: key authentication (wrong secret, read-only key
writing) -> route (404 rest_no_route) -> parameter validation (400 rest_invalid_param) -> the route's
permission check (401 woocommerce_rest_cannot_* when anonymous) -> the handler.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote_plus

from wcbc.sandbox.core import Request, Response
from wcbc.sandbox.woo.model import ORDER_STATUSES, Order, RestError
from wcbc.sandbox.woo.money import php_json
from wcbc.sandbox.woo.params import (
    BATCH_ALLOW,
    BATCH_MSG,
    COLLECTION_ALLOW,
    CREATE_MSG,
    DATE_RE,
    DELETE_MSG,
    EDIT_MSG,
    EPOCH,
    ITEM_ALLOW,
    LIST_MSG,
    NS,
    VIEW_MSG,
    WRITE_METHODS,
    BatchHandler,
    Ctx,
    Handler,
    _enum_text,
    _wp_list,
    batch_id,
)
from wcbc.sandbox.woo.render import (
    render_note,
    render_order,
)
from wcbc.sandbox.woo.rest_refunds import REFUND_ALLOW, RefundRoutes
from wcbc.sandbox.woo.rest_resources import ResourceRoutes
from wcbc.sandbox.woo.tracking import ITEM_ALLOW as TRACKING_ITEM_ALLOW
from wcbc.sandbox.woo.tracking import TRACKING_NS, TrackingRoutes

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore


class WooRest(ResourceRoutes, RefundRoutes, TrackingRoutes):
    """Routes, auth, validation and pagination; orders here, the other resources in ResourceRoutes."""

    def __init__(self, store: WooStore) -> None:
        self.store = store
        self.routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        r = self._route
        r("GET", "/orders", self.orders_list, COLLECTION_ALLOW)
        r("POST", "/orders", self.orders_create, COLLECTION_ALLOW)
        r("POST|PUT|PATCH", "/orders/batch", self.orders_batch, BATCH_ALLOW)
        r("GET", r"/orders/(?P<id>\d+)", self.order_get, ITEM_ALLOW)
        r("POST|PUT|PATCH", r"/orders/(?P<id>\d+)", self.order_update, ITEM_ALLOW)
        r("DELETE", r"/orders/(?P<id>\d+)", self.order_delete, ITEM_ALLOW)
        r("GET", r"/orders/(?P<id>\d+)/notes", self.notes_list, COLLECTION_ALLOW)
        r("POST", r"/orders/(?P<id>\d+)/notes", self.notes_create, COLLECTION_ALLOW)
        r("GET", r"/orders/(?P<id>\d+)/refunds", self.refunds_list, COLLECTION_ALLOW)
        r("POST", r"/orders/(?P<id>\d+)/refunds", self.refunds_create, COLLECTION_ALLOW)
        r("GET", r"/orders/(?P<id>\d+)/refunds/(?P<rid>\d+)", self.refund_get, REFUND_ALLOW)
        r("DELETE", r"/orders/(?P<id>\d+)/refunds/(?P<rid>\d+)", self.refund_delete, REFUND_ALLOW)
        r("GET", "/refunds", self.refunds_all, "GET")
        r("GET", "/customers", self.customers_list, COLLECTION_ALLOW)
        r("POST", "/customers", self.customers_create, COLLECTION_ALLOW)
        r("GET", r"/customers/(?P<id>\d+)", self.customer_get, ITEM_ALLOW)
        r("POST|PUT|PATCH", r"/customers/(?P<id>\d+)", self.customer_update, ITEM_ALLOW)
        r("GET", "/products", self.products_list, COLLECTION_ALLOW)
        r("POST", "/products", self.products_create, COLLECTION_ALLOW)
        r("POST|PUT|PATCH", "/products/batch", self.products_batch, BATCH_ALLOW)
        r("GET", r"/products/(?P<id>\d+)", self.product_get, ITEM_ALLOW)
        r("POST|PUT|PATCH", r"/products/(?P<id>\d+)", self.product_update, ITEM_ALLOW)
        r("GET", r"/products/(?P<pid>\d+)/variations", self.variations_list, COLLECTION_ALLOW)
        r("POST", r"/products/(?P<pid>\d+)/variations", self.variations_create, COLLECTION_ALLOW)
        r("POST|PUT|PATCH", r"/products/(?P<pid>\d+)/variations/batch", self.variations_batch, BATCH_ALLOW)
        r("GET", r"/products/(?P<pid>\d+)/variations/(?P<id>\d+)", self.variation_get, ITEM_ALLOW)
        r(
            "POST|PUT|PATCH",
            r"/products/(?P<pid>\d+)/variations/(?P<id>\d+)",
            self.variation_update,
            ITEM_ALLOW,
        )
        r("GET", "/coupons", self.coupons_list, COLLECTION_ALLOW)
        r("POST", "/coupons", self.coupons_create, COLLECTION_ALLOW)
        r("GET", r"/coupons/(?P<id>\d+)", self.coupon_get, ITEM_ALLOW)
        r("POST|PUT|PATCH", r"/coupons/(?P<id>\d+)", self.coupon_update, ITEM_ALLOW)
        r("GET", "/webhooks", self.webhooks_list, COLLECTION_ALLOW)
        r("POST", "/webhooks", self.webhooks_create, COLLECTION_ALLOW)
        r("GET", r"/webhooks/(?P<id>\d+)", self.webhook_get, ITEM_ALLOW)
        r("POST|PUT|PATCH", r"/webhooks/(?P<id>\d+)", self.webhook_update, ITEM_ALLOW)
        r("DELETE", r"/webhooks/(?P<id>\d+)", self.webhook_delete, ITEM_ALLOW)
        # EXTENSION (Shipment Tracking): these answer 404 rest_no_route unless store.shipment_tracking
        t = self._route_ns
        trackings = r"/orders/(?P<id>\d+)/shipment-trackings"
        t("GET", trackings, self.tracking_list, COLLECTION_ALLOW)
        t("POST", trackings, self.tracking_create, COLLECTION_ALLOW)
        t("GET", trackings + r"/(?P<tid>[0-9a-f]+)", self.tracking_get, TRACKING_ITEM_ALLOW)
        t("DELETE", trackings + r"/(?P<tid>[0-9a-f]+)", self.tracking_delete, TRACKING_ITEM_ALLOW)
        t("GET", "/shipment-trackings/providers", self.tracking_providers, "GET")

    def _route(self, methods: str, pattern: str, handler: Handler, allow: str, ns: str = NS) -> None:
        for method in methods.split("|"):
            self.routes.append((method, re.compile(f"^{ns}{pattern}/?$"), handler, allow))

    def _route_ns(self, methods: str, pattern: str, handler: Handler, allow: str) -> None:
        self._route(methods, pattern, handler, allow, TRACKING_NS)

    # ------------------------------------------------------------------ responses

    def _headers(
        self,
        *,
        allow: str | None,
        total: tuple[int, int] | None = None,
        link: str | None = None,
        location: str | None = None,
        vary: bool = False,
    ) -> list[tuple[str, str]]:
        api_link = f'<{self.store.base_url}/wp-json/>; rel="https://api.w.org/"'
        headers = [("Content-Type", "application/json; charset=UTF-8"), ("X-Robots-Tag", "noindex")]
        if not link:
            headers.append(("Link", api_link))
        headers += [
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"),
            (
                "Access-Control-Allow-Headers",
                "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type",
            ),
        ]
        if total is not None:
            headers += [("X-WP-Total", str(total[0])), ("X-WP-TotalPages", str(total[1]))]
        if link:
            headers.append(("Link", link))
        if location:
            headers.append(("Location", location))
        if vary:
            headers.append(("Vary", "Origin"))
        if allow:
            headers.append(("Allow", allow))
            headers += [
                ("Expires", "Wed, 11 Jan 1984 05:00:00 GMT"),
                ("Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"),
            ]
        return headers

    def _ok(self, obj: Any, allow: str, *, status: int = 200, location: str | None = None) -> Response:
        return Response(status, php_json(obj), self._headers(allow=allow, location=location))

    def _error(self, err: RestError, allow: str | None, method: str) -> Response:
        if err.status == 401:  # permission and key errors carry no Allow (seen on the real store)
            return Response(
                err.status, php_json(err.body()), self._headers(allow=None, vary=method in ("GET", "HEAD"))
            )
        return Response(err.status, php_json(err.body()), self._headers(allow=allow))

    # ------------------------------------------------------------------ entry

    def handle(self, request: Request) -> Response:
        allow: str | None = None
        try:
            user = self._authenticate(request)
            handler = None
            params: dict[str, str] = {}
            for method, regex, fn, route_allow in self.routes:
                m = regex.match(request.path)
                if m and method == request.method:
                    handler, params, allow = fn, m.groupdict(), route_allow
                    break
            if handler is None:
                raise RestError(
                    404, "rest_no_route", "No route was found matching the URL and request method."
                )
            ctx = Ctx(user, params)
            return handler(request, ctx)
        except RestError as err:
            return self._error(err, allow, request.method)

    def _authenticate(self, request: Request) -> str | None:
        if not request.path.startswith(("/wp-json/wc/", "/wp-json/wc-")) or request.scheme != "https":
            return (
                None  # over plain HTTP WooCommerce only tries OAuth 1.0a: Basic and ?consumer_key are ignored
            )
        key = request.arg("consumer_key")
        secret = request.arg("consumer_secret")
        if key is None or secret is None:
            key = secret = None
            header = request.headers.get("Authorization") or ""
            if header[:6].lower() == "basic ":
                try:
                    decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    decoded = ""
                if ":" in decoded:
                    key, secret = decoded.split(":", 1)
        if key is None or secret is None:
            return None
        entry = self.store.consumer_keys.get(key)
        if entry is None:
            return None  # an unknown key is silently ignored: the request goes on anonymously
        real_secret, permission = entry
        if not hmac.compare_digest(real_secret.encode(), secret.encode()):
            raise RestError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if permission == "read" and request.method in WRITE_METHODS:
            raise RestError(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
            )
        if permission == "write" and request.method in ("GET", "HEAD"):
            raise RestError(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
            )
        return key

    @staticmethod
    def _need(ctx: Ctx, msg: tuple[str, str]) -> None:
        ctx.check()
        if ctx.user is None:
            raise RestError(401, msg[0], msg[1])

    def _body(self, request: Request) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, values in request.query.items():
            if key not in ("consumer_key", "consumer_secret") and values:
                data[key] = values[-1]
        if request.body.strip():
            ctype = (request.headers.get("Content-Type") or "").lower()
            if "application/x-www-form-urlencoded" in ctype:
                data.update(dict(parse_qsl(request.body.decode("utf-8"))))
            else:
                try:
                    parsed = json.loads(request.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    raise RestError(
                        400,
                        "rest_invalid_json",
                        "Invalid JSON body passed.",
                        json_error_code=4,
                        json_error_message="Syntax error",
                    ) from exc
                if isinstance(parsed, dict):
                    data.update(parsed)
        return data

    # ------------------------------------------------------------------ params

    def _int_param(
        self,
        request: Request,
        ctx: Ctx,
        name: str,
        default: int,
        lo: int | None = None,
        hi: int | None = None,
    ) -> int:
        raw = request.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            ctx.invalid(name, "rest_invalid_type", f"{name} is not of type integer.", {"param": name})
            return default
        if lo is not None and hi is not None and not lo <= value <= hi:
            ctx.invalid(
                name, "rest_out_of_bounds", f"{name} must be between {lo} (inclusive) and {hi} (inclusive)"
            )
        elif lo is not None and value < lo:
            ctx.invalid(name, "rest_out_of_bounds", f"{name} must be greater than or equal to {lo}")
        return value

    def _list_param(self, request: Request, name: str) -> list[str] | None:
        values: list[str] = []
        found = False
        for key, vals in request.query.items():
            if key == name or key == f"{name}[]" or re.fullmatch(re.escape(name) + r"\[\d+\]", key):
                found = True
                for v in vals:
                    values.extend(_wp_list(v))
        return values if found else None

    def _ids_param(self, request: Request, ctx: Ctx, name: str) -> list[int] | None:
        values = self._list_param(request, name)
        if values is None:
            return None
        out = []
        for i, v in enumerate(values):
            if not v.isdigit():
                ctx.invalid(
                    name,
                    "rest_invalid_type",
                    f"{name}[{i}] is not of type integer.",
                    {"param": f"{name}[{i}]"},
                )
                return None
            out.append(int(v))
        return out

    def _enum_param(
        self, request: Request, ctx: Ctx, name: str, values: tuple[str, ...], default: str
    ) -> str:
        raw = request.arg(name)
        if raw is None:
            return default
        if raw not in values:
            ctx.invalid(name, "rest_not_in_enum", f"{name} is not one of {_enum_text(values)}.")
            return default
        return raw

    def _date_param(self, request: Request, ctx: Ctx, name: str, gmt: bool) -> dt.datetime | None:
        raw = request.arg(name)
        if raw is None or raw == "":
            return None
        m = DATE_RE.match(raw)
        if not m:
            ctx.invalid(name, "rest_invalid_date", "Invalid date.")
            return None
        y, mo, d, h, mi, s, tz = m.groups()
        try:
            naive = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        except ValueError:
            ctx.invalid(name, "rest_invalid_date", "Invalid date.")
            return None
        if tz:
            if gmt and self.store.time_zone not in ("UTC", "Etc/UTC"):
                # The real trap: with dates_are_gmt on a non-UTC store, a suffixed timestamp ends up as a
                # meaningless bound (observed: every order for *_after, none for *_before).
                return EPOCH
            if tz in ("Z", "z"):
                offset = dt.timedelta(0)
            else:
                sign = -1 if tz[0] == "-" else 1
                digits = tz[1:].replace(":", "")
                offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            return naive.replace(tzinfo=dt.timezone(offset)).astimezone(dt.UTC)
        if gmt:
            return naive.replace(tzinfo=dt.UTC)
        return naive.replace(tzinfo=self.store.tz).astimezone(dt.UTC)

    def _date_filters(self, request: Request, ctx: Ctx) -> dict[str, dt.datetime | None]:
        gmt = (request.arg("dates_are_gmt") or "").lower() in ("1", "true", "yes")
        return {
            name: self._date_param(request, ctx, name, gmt)
            for name in ("after", "before", "modified_after", "modified_before")
        }

    @staticmethod
    def _date_ok(created: dt.datetime, modified: dt.datetime, bounds: dict[str, dt.datetime | None]) -> bool:
        a, b, ma, mb = bounds["after"], bounds["before"], bounds["modified_after"], bounds["modified_before"]
        return (
            (a is None or created > a)
            and (b is None or created < b)
            and (ma is None or modified > ma)
            and (mb is None or modified < mb)
        )

    # ------------------------------------------------------------------ pagination

    def _collection(
        self,
        request: Request,
        items: list[Any],
        render: Callable[[Any], Any],
        page: int,
        per_page: int,
        *,
        resource: str,
        empty_quirk: bool = False,
        order_defaults: bool = False,
    ) -> Response:
        total = len(items)
        pages = math.ceil(total / per_page) if per_page else 0
        chunk = items[(page - 1) * per_page : page * per_page]
        if not chunk and empty_quirk:
            total, pages = 0, 0  # WP_Query reports found_posts 0 for an empty page
        body = [render(x) for x in chunk]
        params = self._link_params(request, order_defaults=order_defaults, rendered=bool(chunk))
        links = []
        if page > 1:
            links.append(f'<{self._page_url(resource, params, min(page - 1, pages))}>; rel="prev"')
        if pages > page:
            links.append(f'<{self._page_url(resource, params, page + 1)}>; rel="next"')
        headers = self._headers(allow=COLLECTION_ALLOW, total=(total, pages), link=", ".join(links) or None)
        return Response(200, php_json(body), headers)

    def _link_params(
        self, request: Request, *, order_defaults: bool, rendered: bool
    ) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        seen_status = False
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            if order_defaults and key in ("status", "status[]"):
                if not seen_status:
                    statuses = [s for s in _wp_list(value)] or ["any"]
                    params += [(f"status[{i}]", s) for i, s in enumerate(statuses)]
                    seen_status = True
                continue
            params.append((key, value))
        if order_defaults:
            keys = {k for k, _ in params}
            if not seen_status:
                params.append(("status[0]", "any"))
            if rendered:
                if "dp" not in keys:
                    params.append(("dp", str(self.store.decimals)))
                if "context" not in keys:
                    params.append(("context", "view"))
        return params

    def _page_url(self, resource: str, params: list[tuple[str, str]], page: int) -> str:
        out = []
        replaced = False
        for key, value in params:
            if key == "page":
                value, replaced = str(page), True
            out.append(f"{quote_plus(key)}={quote_plus(value)}")
        if not replaced:
            out.append(f"page={page}")
        return f"{self.store.api_url}/{resource}?" + "&".join(out)

    def _paging(self, request: Request, ctx: Ctx) -> tuple[int, int]:
        page = self._int_param(request, ctx, "page", 1, lo=1)
        per_page = self._int_param(request, ctx, "per_page", 10, lo=1, hi=100)
        return page, per_page

    # ------------------------------------------------------------------ orders

    def _order(self, ctx: Ctx, status: int = 404) -> Order:
        order = self.store.order_index.get(int(ctx.params["id"]))
        if order is None:
            raise RestError(status, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def orders_list(self, request: Request, ctx: Ctx) -> Response:
        store = self.store
        page, per_page = self._paging(request, ctx)
        bounds = self._date_filters(request, ctx)
        statuses = self._list_param(request, "status") or ["any"]
        allowed = ("any", "trash", *ORDER_STATUSES, "checkout-draft")
        for i, s in enumerate(statuses):
            if s.removeprefix("wc-") not in allowed:
                ctx.invalid("status", "rest_not_in_enum", f"status[{i}] is not one of {_enum_text(allowed)}.")
        orderby = self._enum_param(
            request, ctx, "orderby", ("date", "id", "include", "title", "slug", "modified"), "date"
        )
        order_dir = self._enum_param(request, ctx, "order", ("asc", "desc"), "desc")
        include = self._ids_param(request, ctx, "include")
        exclude = self._ids_param(request, ctx, "exclude")
        customer = self._int_param(request, ctx, "customer", -1)
        search = (request.arg("search") or "").strip().lower()
        self._need(ctx, LIST_MSG)
        with store.lock:
            wanted = {s.removeprefix("wc-") for s in statuses}
            items = []
            for order in store.order_index.values():
                if "any" in wanted:
                    if order.status in ("trash", "checkout-draft", "auto-draft"):
                        continue
                elif order.status not in wanted:
                    continue
                if include is not None and order.id not in include:
                    continue
                if exclude and order.id in exclude:
                    continue
                if customer >= 0 and order.customer_id != customer:
                    continue
                if search and not self._order_matches(order, search):
                    continue
                if not self._date_ok(order.date_created, order.date_modified, bounds):
                    continue
                items.append(order)
            reverse = order_dir == "desc"
            if orderby == "include" and include:
                items.sort(key=lambda o: include.index(o.id))
            elif orderby == "modified":
                items.sort(key=lambda o: (o.date_modified, o.id), reverse=reverse)
            elif orderby == "date":
                items.sort(key=lambda o: (o.date_created, o.id), reverse=reverse)
            else:
                items.sort(key=lambda o: o.id, reverse=reverse)
            return self._collection(
                request,
                items,
                lambda o: render_order(o, store),
                page,
                per_page,
                resource="orders",
                empty_quirk=True,
                order_defaults=True,
            )

    @staticmethod
    def _order_matches(order: Order, term: str) -> bool:
        hay = [
            str(order.id),
            *order.billing.values(),
            *order.shipping.values(),
            *(li.name for li in order.line_items),
        ]
        return any(term in h.lower() for h in hay)

    def orders_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, CREATE_MSG)
        if data.get("id"):
            raise RestError(400, "woocommerce_rest_shop_order_exists", "Cannot create existing order.")
        with self.store.lock:
            order = self.store.new_order(data)
            self.store.emit("order", "created", order.id)
            self.store.emit("order", "updated", order.id)
            body = render_order(order, self.store)
        return self._ok(
            body, COLLECTION_ALLOW, status=201, location=f"{self.store.api_url}/orders/{order.id}"
        )

    def order_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            return self._ok(render_order(self._order(ctx), self.store), ITEM_ALLOW)

    def order_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_order_write(data, ctx)
        self._need(ctx, EDIT_MSG)
        with self.store.lock:
            order = self._order(ctx, 400)
            self.store.change_order(order, data)
            self.store.emit("order", "updated", order.id)
            return self._ok(render_order(order, self.store), ITEM_ALLOW)

    @staticmethod
    def _validate_order_write(data: dict[str, Any], ctx: Ctx) -> None:
        status = data.get("status")
        allowed = (*ORDER_STATUSES, "checkout-draft")
        if status is not None and str(status).removeprefix("wc-") not in allowed:
            ctx.invalid("status", "rest_not_in_enum", f"status is not one of {_enum_text(allowed)}.")
        if "meta_data" in data and not isinstance(data["meta_data"], list):
            ctx.invalid(
                "meta_data", "rest_invalid_type", "meta_data is not of type array.", {"param": "meta_data"}
            )

    def order_delete(self, request: Request, ctx: Ctx) -> Response:
        force = (request.arg("force") or "").lower() in ("1", "true")
        self._need(ctx, DELETE_MSG)
        with self.store.lock:
            order = self._order(ctx)
            body = render_order(order, self.store)
            if force:
                self.store.delete_order(order)
            else:
                if order.status == "trash":
                    raise RestError(
                        410, "woocommerce_rest_already_trashed", "The order has already been deleted."
                    )
                order.status = "trash"
                order.date_modified = self.store.now()
                self.store.emit("order", "deleted", order.id)
                body = render_order(order, self.store)
            return self._ok(body, ITEM_ALLOW)

    def _batch(self, data: dict[str, Any], handlers: dict[str, BatchHandler]) -> Response:
        """One batch request, as WooCommerce runs it: each action present in the body, each item on its own;
        an item whose handler raises comes back as ``{"id", "error"}`` and the others go on (HTTP 200). A
        handler returning None skips its item (WooCommerce drops empty ids). The caller holds the lock."""
        items = dict(zip(("create", "update", "delete"), self._batch_items(data), strict=True))
        out: dict[str, list[Any]] = {}
        for action, handle in handlers.items():
            if action not in data:
                continue
            out[action] = []
            for item in items[action]:
                try:
                    result = handle(item)
                except RestError as err:
                    result = {"id": batch_id(item, action), "error": err.body()}
                if result is not None:
                    out[action].append(result)
        return self._ok(out, BATCH_ALLOW)

    def _batch_items(self, data: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
        create = data.get("create") or []
        update = data.get("update") or []
        delete = data.get("delete") or []
        if len(create) + len(update) + len(delete) > 100:
            raise RestError(
                413,
                "woocommerce_rest_request_entity_too_large",
                "Unable to accept more than 100 items for this request.",
            )
        return create, update, delete

    def orders_batch(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, BATCH_MSG)
        store = self.store

        def create(item: Any) -> dict[str, Any]:
            order = store.new_order(item)
            store.emit("order", "created", order.id)
            store.emit("order", "updated", order.id)
            return render_order(order, store)

        def update(item: Any) -> dict[str, Any]:
            order = store.order_index.get(batch_id(item, "update"))
            if order is None:
                raise RestError(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            store.change_order(order, item)
            store.emit("order", "updated", order.id)
            return render_order(order, store)

        def delete(raw: Any) -> dict[str, Any] | None:
            oid = batch_id(raw)
            if not oid:
                return None
            order = store.order_index.get(oid)
            if order is None:
                raise RestError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            body = render_order(order, store)
            store.delete_order(order)
            return body

        with store.lock:
            return self._batch(data, {"create": create, "update": update, "delete": delete})

    def notes_list(self, request: Request, ctx: Ctx) -> Response:
        kind = self._enum_param(request, ctx, "type", ("any", "customer", "internal"), "any")
        self._need(ctx, LIST_MSG)
        with self.store.lock:
            order = self.store.order_index.get(int(ctx.params["id"]))
            if order is None:
                raise RestError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            notes = sorted(order.notes, key=lambda n: n.id, reverse=True)
            if kind == "customer":
                notes = [n for n in notes if n.customer_note]
            elif kind == "internal":
                notes = [n for n in notes if not n.customer_note]
            return self._ok([render_note(order, n, self.store) for n in notes], COLLECTION_ALLOW)

    def notes_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, CREATE_MSG)
        with self.store.lock:
            order = self.store.order_index.get(int(ctx.params["id"]))
            if order is None:
                raise RestError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            if not data.get("note"):
                raise RestError(
                    400,
                    "woocommerce_rest_invalid_order_note",
                    "Cannot create order note, please provide a note.",
                )
            # author: "system" unless added_by_user, then the API user (woocommerce.md §8.4)
            note = self.store.add_note(
                order,
                str(data["note"]),
                customer_note=data.get("customer_note") in (True, 1, "1", "true"),
                author="admin" if data.get("added_by_user") in (True, 1, "1", "true") else "system",
            )
            body = render_note(order, note, self.store)
        return self._ok(
            body,
            COLLECTION_ALLOW,
            status=201,
            location=f"{self.store.api_url}/orders/{order.id}/notes/{note.id}",
        )
