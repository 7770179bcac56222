"""REST routes for order refunds (/wc/v3/orders/{id}/refunds, /wc/v3/refunds) (mixed into WooRest).

Contract: woocommerce.md §8.1. Order of checks as WordPress runs them: parameter types (400
``rest_invalid_param``), permission (401), the order (404 ``woocommerce_rest_invalid_order_id``), the
amount (400 below zero; 500 ``woocommerce_rest_cannot_create_order_refund`` above what remains or when
the gateway cannot refund).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wcbc.sandbox.core import Request, Response
from wcbc.sandbox.woo.model import Order, Refund, RestError
from wcbc.sandbox.woo.params import (
    COLLECTION_ALLOW,
    CREATE_MSG,
    DELETE_MSG,
    LIST_MSG,
    VIEW_MSG,
    Ctx,
)
from wcbc.sandbox.woo.render import render_refund

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore

REFUND_ALLOW = "GET, DELETE"
BOOL_WORDS = ("true", "false", "1", "0", "")


def _is_bool(value: Any) -> bool:
    """WordPress ``rest_is_boolean``."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in BOOL_WORDS


class RefundRoutes:
    """Handlers only; routing, auth and helpers live in WooRest."""

    store: WooStore

    def _refund_order(self, ctx: Ctx) -> Order:
        order = self.store.order_index.get(int(ctx.params["id"]))
        if order is None:
            raise RestError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
        return order

    def _refund(self, ctx: Ctx) -> Refund:
        refund = self.store.refund_index.get(int(ctx.params["rid"]))
        if refund is None:
            raise RestError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")
        order = self._refund_order(ctx)
        if refund.parent_id != order.id:
            raise RestError(404, "woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")
        return refund

    @staticmethod
    def _validate_refund(data: dict[str, Any], ctx: Ctx) -> None:
        for key in ("amount", "reason"):
            if data.get(key) is not None and not isinstance(data[key], str):
                ctx.invalid(key, "rest_invalid_type", f"{key} is not of type string.", {"param": key})
        for key in ("api_refund", "api_restock"):
            if key in data and not _is_bool(data[key]):
                ctx.invalid(key, "rest_invalid_type", f"{key} is not of type boolean.", {"param": key})
        for key in ("line_items", "meta_data"):
            if key in data and data[key] is not None and not isinstance(data[key], list):
                ctx.invalid(key, "rest_invalid_type", f"{key} is not of type array.", {"param": key})

    def refunds_list(self, request: Request, ctx: Ctx) -> Response:
        page, per_page = self._paging(request, ctx)
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            order = store.order_index.get(int(ctx.params["id"]))
            refunds = list(order.refunds) if order is not None else []  # unknown order: an empty list
            return self._collection(
                request,
                refunds,
                lambda r: render_refund(r, store),
                page,
                per_page,
                resource=f"orders/{ctx.params['id']}/refunds",
                empty_quirk=True,
            )

    def refunds_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_refund(data, ctx)
        self._need(ctx, CREATE_MSG)
        store = self.store
        with store.lock:
            order = self._refund_order(ctx)
            refund = store.create_refund(order, data)
            store.emit("order", "updated", order.id)
            body = render_refund(refund, store)
        # WooCommerce really sends the unexpanded route pattern here (woocommerce.md §8.1, STORE)
        location = f"{store.api_url}/orders/(?P<order_id>[\\d]+)/refunds/{refund.id}"
        return self._ok(body, COLLECTION_ALLOW, status=201, location=location)

    def refund_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            return self._ok(render_refund(self._refund(ctx), self.store), REFUND_ALLOW)

    def refund_delete(self, request: Request, ctx: Ctx) -> Response:
        force = (request.arg("force") or "true").lower() not in ("0", "false")
        self._need(ctx, DELETE_MSG)
        store = self.store
        with store.lock:
            refund = self._refund(ctx)
            if not force:
                raise RestError(
                    501,
                    "woocommerce_rest_trash_not_supported",
                    "The shop_order_refund does not support trashing.",
                )
            body = render_refund(refund, store)
            store.delete_refund(refund)
            return self._ok(body, REFUND_ALLOW)

    def refunds_all(self, request: Request, ctx: Ctx) -> Response:
        """``GET /refunds`` (WC >= 9.0): every refund of the store, ``parent_id`` after ``id``."""
        page, per_page = self._paging(request, ctx)
        bounds = self._date_filters(request, ctx)
        parents = self._ids_param(request, ctx, "parent")
        include = self._ids_param(request, ctx, "include")
        order_dir = self._enum_param(request, ctx, "order", ("asc", "desc"), "desc")
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            items = [
                r
                for r in store.refund_index.values()
                if (parents is None or r.parent_id in parents)
                and (include is None or r.id in include)
                and self._date_ok(r.date_created, r.date_created, bounds)
            ]
            items.sort(key=lambda r: (r.date_created, r.id), reverse=order_dir == "desc")

            def render(refund: Refund) -> dict[str, Any]:
                body = render_refund(refund, store)
                return {"id": body.pop("id"), "parent_id": refund.parent_id, **body}

            return self._collection(request, items, render, page, per_page, resource="refunds")
