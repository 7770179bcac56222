"""REST routes for customers, products, variations, coupons and webhooks (mixed into WooRest)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.core import Request, Response
from wcbc.sandbox.woo.model import Product, RestError
from wcbc.sandbox.woo.money import dec
from wcbc.sandbox.woo.params import (
    BATCH_MSG,
    COLLECTION_ALLOW,
    CREATE_MSG,
    DELETE_MSG,
    EDIT_MSG,
    EMAIL_RE,
    ITEM_ALLOW,
    LIST_MSG,
    VIEW_MSG,
    Ctx,
    batch_id,
)
from wcbc.sandbox.woo.render import (
    TOPIC_HOOKS,
    render_coupon,
    render_customer,
    render_product,
    render_variation,
    render_webhook,
)

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore


class ResourceRoutes:
    """Handlers only; routing, auth and helpers (_need, _paging, _collection, ...) live in WooRest."""

    store: WooStore

    # ------------------------------------------------------------------ customers

    def customers_list(self, request: Request, ctx: Ctx) -> Response:
        page, per_page = self._paging(request, ctx)
        email = request.arg("email")
        if email is not None and email != "" and not EMAIL_RE.match(email):
            ctx.invalid("email", "rest_invalid_email", "Invalid email address.")
        role = request.arg("role") or "customer"
        order_dir = self._enum_param(request, ctx, "order", ("asc", "desc"), "asc")
        orderby = self._enum_param(
            request, ctx, "orderby", ("id", "include", "name", "registered_date"), "name"
        )
        include = self._ids_param(request, ctx, "include")
        search = (request.arg("search") or "").strip().lower()
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            items = [
                c
                for c in store.customers.values()
                if (not email or c.email.lower() == email.lower())
                and (role == "all" or c.role == role)
                and (include is None or c.id in include)
                and (not search or search in f"{c.email} {c.username} {c.first_name} {c.last_name}".lower())
            ]
            if orderby == "name":
                items.sort(key=lambda c: (c.username.lower(), c.id), reverse=order_dir == "desc")
            elif orderby == "registered_date":
                items.sort(key=lambda c: (c.date_created, c.id), reverse=order_dir == "desc")
            elif orderby == "include" and include:
                items.sort(key=lambda c: include.index(c.id))
            else:
                items.sort(key=lambda c: c.id, reverse=order_dir == "desc")
            return self._collection(
                request, items, lambda c: render_customer(c, store), page, per_page, resource="customers"
            )

    def customers_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, CREATE_MSG)
        with self.store.lock:
            customer = self.store.new_customer(data)
            self.store.emit("customer", "created", customer.id)
            body = render_customer(customer, self.store)
        return self._ok(
            body, COLLECTION_ALLOW, status=201, location=f"{self.store.api_url}/customers/{customer.id}"
        )

    def customer_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            customer = self.store.customers.get(int(ctx.params["id"]))
            if customer is None:
                raise RestError(404, "wc_user_invalid_id", "Invalid user ID.")
            return self._ok(render_customer(customer, self.store), ITEM_ALLOW)

    def customer_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, EDIT_MSG)
        store = self.store
        with store.lock:
            customer = store.customers.get(int(ctx.params["id"]))
            if customer is None:
                raise RestError(400, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            if "username" in data and data["username"] != customer.username:
                raise RestError(400, "woocommerce_rest_customer_invalid_argument", "Username isn't editable.")
            if "email" in data:
                other = store.customer_by_email(str(data["email"]))
                if other is not None and other.id != customer.id:
                    raise RestError(
                        400, "woocommerce_rest_customer_invalid_email", "Email address is invalid."
                    )
                customer.email = str(data["email"])
            for key in ("first_name", "last_name"):
                if key in data:
                    setattr(customer, key, str(data[key] or ""))
            for key in ("billing", "shipping"):
                if isinstance(data.get(key), dict):
                    getattr(customer, key).update({k: str(v or "") for k, v in data[key].items()})
            if isinstance(data.get("meta_data"), list):
                store._merge_meta(customer.meta_data, data["meta_data"])
            customer.date_modified = store.now()
            store.emit("customer", "updated", customer.id)
            return self._ok(render_customer(customer, store), ITEM_ALLOW)

    # ------------------------------------------------------------------ products

    @staticmethod
    def _validate_product_write(data: dict[str, Any], ctx: Ctx) -> None:
        for key in ("regular_price", "sale_price", "sku", "name", "description", "status"):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                ctx.invalid(key, "rest_invalid_type", f"{key} is not of type string.", {"param": key})
        if "stock_quantity" in data and data["stock_quantity"] is not None:
            value = data["stock_quantity"]
            if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())
            ):
                ctx.invalid(
                    "stock_quantity",
                    "rest_invalid_type",
                    "stock_quantity is not of type integer.",
                    {"param": "stock_quantity"},
                )
        if (
            "manage_stock" in data
            and not isinstance(data["manage_stock"], bool)
            and data["manage_stock"] not in ("true", "false", "1", "0", 1, 0, "parent")
        ):
            ctx.invalid(
                "manage_stock",
                "rest_invalid_type",
                "manage_stock is not of type boolean.",
                {"param": "manage_stock"},
            )

    def _product_query(self, request: Request, ctx: Ctx) -> tuple[list[Product], int, int]:
        store = self.store
        page, per_page = self._paging(request, ctx)
        bounds = self._date_filters(request, ctx)
        orderby = self._enum_param(
            request,
            ctx,
            "orderby",
            (
                "date",
                "modified",
                "id",
                "include",
                "title",
                "slug",
                "price",
                "popularity",
                "rating",
                "menu_order",
            ),
            "date",
        )
        order_dir = self._enum_param(request, ctx, "order", ("asc", "desc"), "desc")
        include = self._ids_param(request, ctx, "include")
        exclude = self._ids_param(request, ctx, "exclude")
        ptype = request.arg("type")
        if ptype is not None:
            self._enum_param(request, ctx, "type", ("simple", "grouped", "external", "variable"), "simple")
        status = request.arg("status") or "any"
        sku = request.arg("sku")
        parent = self._ids_param(request, ctx, "parent")
        stock_status = request.arg("stock_status")
        search = (request.arg("search") or "").strip().lower()
        self._need(ctx, LIST_MSG)
        with store.lock:
            if sku:
                wanted = [s.strip().lower() for s in sku.split(",")] + [sku.strip().lower()]
                ids = {store.sku_index[s] for s in wanted if s in store.sku_index}
                pool = [store.products_by_id[i] for i in ids]
            else:
                pool = [p for p in store.products_by_id.values() if p.type != "variation"]
            items = []
            for p in pool:
                if status != "any" and p.status != status:
                    continue
                if status == "any" and p.status == "trash":
                    continue
                if ptype and p.type != ptype:
                    continue
                if include is not None and p.id not in include:
                    continue
                if exclude and p.id in exclude:
                    continue
                if parent is not None and p.parent_id not in parent:
                    continue
                if stock_status and p.stock_status != stock_status:
                    continue
                if search and search not in p.name.lower() and search not in p.sku.lower():
                    continue
                if any(bounds.values()) and not self._date_ok(p.date_created, p.date_modified, bounds):
                    continue
                items.append(p)
            desc = order_dir == "desc"
            if orderby == "include" and include:
                items.sort(key=lambda p: include.index(p.id))
            elif orderby == "id":
                items.sort(key=lambda p: p.id, reverse=desc)
            elif orderby in ("title", "slug"):
                items.sort(
                    key=lambda p: (p.name.lower() if orderby == "title" else p.slug, p.id), reverse=desc
                )
            elif orderby == "modified":
                items.sort(
                    key=lambda p: (
                        -p.date_modified.timestamp() if desc else p.date_modified.timestamp(),
                        p.id,
                    )
                )
            else:  # date: newest first, same-second ties by id ascending (as recorded)
                items.sort(
                    key=lambda p: (-p.date_created.timestamp() if desc else p.date_created.timestamp(), p.id)
                )
        return items, page, per_page

    def products_list(self, request: Request, ctx: Ctx) -> Response:
        items, page, per_page = self._product_query(request, ctx)
        with self.store.lock:
            return self._collection(
                request,
                items,
                lambda p: render_product(p, self.store),
                page,
                per_page,
                resource="products",
                empty_quirk=True,
            )

    def _product(self, ctx: Ctx, status: int = 404) -> Product:
        product = self.store.products_by_id.get(int(ctx.params["id"]))
        if product is None:
            raise RestError(status, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return product

    def products_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_product_write(data, ctx)
        self._need(ctx, CREATE_MSG)
        with self.store.lock:
            product = self.store.new_product(data)
            self.store.emit("product", "created", product.id)
            body = render_product(product, self.store, edit=True)
        return self._ok(
            body, COLLECTION_ALLOW, status=201, location=f"{self.store.api_url}/products/{product.id}"
        )

    def product_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            return self._ok(render_product(self._product(ctx), self.store), ITEM_ALLOW)

    def _update_product(self, product: Product, data: dict[str, Any]) -> None:
        if product.type == "variation":
            raise RestError(
                404,
                "woocommerce_rest_invalid_product_id",
                "To manipulate product variations you should use the "
                "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
            )
        self.store.apply_product_changes(product, data)
        self.store.emit("product", "updated", product.id)

    def product_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_product_write(data, ctx)
        self._need(ctx, EDIT_MSG)
        with self.store.lock:
            product = self._product(ctx, 400)
            self._update_product(product, data)
            return self._ok(render_product(product, self.store, edit=True), ITEM_ALLOW)

    def products_batch(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, BATCH_MSG)
        store = self.store

        def create(item: Any) -> dict[str, Any]:
            product = store.new_product(item)
            store.emit("product", "created", product.id)
            return render_product(product, store, edit=True)

        def update(item: Any) -> dict[str, Any]:
            product = store.products_by_id.get(batch_id(item, "update"))
            if product is None:
                raise RestError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            self._update_product(product, item)
            return render_product(product, store, edit=True)

        with store.lock:
            return self._batch(data, {"create": create, "update": update, "delete": self._delete_if_named})

    def _delete_if_named(self, raw: Any) -> dict[str, Any] | None:
        return self._delete_product(raw) if raw else None

    def _delete_product(self, raw: Any) -> dict[str, Any]:
        store = self.store
        pid = int(raw.get("id", 0) if isinstance(raw, dict) else raw)
        product = store.products_by_id.get(pid)
        if product is None:
            return {
                "id": pid,
                "error": RestError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.").body(),
            }
        body = render_product(product, store, edit=True)
        for vid in [*product.variations, pid]:
            gone = store.products_by_id.pop(vid, None)
            if gone is not None and gone.sku:
                store.sku_index.pop(gone.sku.lower(), None)
        parent = store.products_by_id.get(product.parent_id)
        if parent is not None and pid in parent.variations:
            parent.variations.remove(pid)
        return body

    # ------------------------------------------------------------------ variations

    def _parent(self, ctx: Ctx) -> Product | None:
        product = self.store.products_by_id.get(int(ctx.params["pid"]))
        return product if product is not None and product.type != "variation" else None

    def _variation(self, ctx: Ctx, status: int) -> Product:
        variation = self.store.products_by_id.get(int(ctx.params["id"]))
        if variation is None or variation.type != "variation":
            raise RestError(status, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        if variation.parent_id != int(ctx.params["pid"]):
            raise RestError(
                403, "woocommerce_rest_cannot_edit", "Parent product does not match current variation."
            )
        return variation

    def variations_list(self, request: Request, ctx: Ctx) -> Response:
        page, per_page = self._paging(request, ctx)
        sku = request.arg("sku")
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            parent = self._parent(ctx)
            items = [
                store.products_by_id[v]
                for v in (parent.variations if parent else [])
                if v in store.products_by_id
            ]
            if sku:
                wanted = {s.strip().lower() for s in sku.split(",")} | {sku.strip().lower()}
                items = [v for v in items if v.sku.lower() in wanted]
            items.sort(key=lambda v: (v.menu_order, -v.id))
            return self._collection(
                request,
                items,
                lambda v: render_variation(v, store),
                page,
                per_page,
                resource=f"products/{ctx.params['pid']}/variations",
                empty_quirk=True,
            )

    def variations_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_product_write(data, ctx)
        self._need(ctx, CREATE_MSG)
        store = self.store
        with store.lock:
            parent = self._parent(ctx)
            if parent is None:
                raise RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            variation = store.new_product(data, parent=parent)
            store.emit("product", "created", variation.id)
            body = render_variation(variation, store, edit=True)
        # WooCommerce really sends the unexpanded route pattern here (seen on the real store)
        location = f"{store.api_url}/products/(?P<product_id>[\\d]+)/variations/{variation.id}"
        return self._ok(body, COLLECTION_ALLOW, status=201, location=location)

    def variation_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            return self._ok(render_variation(self._variation(ctx, 404), self.store), ITEM_ALLOW)

    def variation_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._validate_product_write(data, ctx)
        self._need(ctx, EDIT_MSG)
        store = self.store
        with store.lock:
            variation = self._variation(ctx, 400)
            store.apply_product_changes(variation, data)
            store.emit("product", "updated", variation.id)
            return self._ok(render_variation(variation, store, edit=True), ITEM_ALLOW)

    def variations_batch(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, BATCH_MSG)
        store = self.store

        def create(item: Any) -> dict[str, Any]:
            if parent is None:
                raise RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            variation = store.new_product(item, parent=parent)
            store.emit("product", "created", variation.id)
            return render_variation(variation, store, edit=True)

        def update(item: Any) -> dict[str, Any]:
            variation = store.products_by_id.get(batch_id(item, "update"))
            if variation is None or variation.type != "variation":
                raise RestError(400, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
            if parent is None or variation.parent_id != parent.id:
                raise RestError(
                    403, "woocommerce_rest_cannot_edit", "Parent product does not match current variation."
                )
            store.apply_product_changes(variation, item)
            store.emit("product", "updated", variation.id)
            return render_variation(variation, store, edit=True)

        with store.lock:
            parent = self._parent(ctx)
            return self._batch(data, {"create": create, "update": update, "delete": self._delete_if_named})

    # ------------------------------------------------------------------ coupons

    def coupons_list(self, request: Request, ctx: Ctx) -> Response:
        page, per_page = self._paging(request, ctx)
        code = (request.arg("code") or "").lower()
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            items = sorted(
                (c for c in store.coupons.values() if not code or c.code.lower() == code),
                key=lambda c: (-c.date_created.timestamp(), -c.id),
            )
            return self._collection(
                request,
                items,
                lambda c: render_coupon(c, store),
                page,
                per_page,
                resource="coupons",
                empty_quirk=True,
            )

    def _coupon(self, ctx: Ctx, status: int) -> Any:
        cid = int(ctx.params["id"])
        for coupon in self.store.coupons.values():
            if coupon.id == cid:
                return coupon
        raise RestError(status, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")

    def coupons_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, CREATE_MSG)
        code = str(data.get("code") or "").strip()
        if not code:
            raise RestError(400, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.")
        with self.store.lock:
            if code.lower() in self.store.coupons:
                raise RestError(
                    400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists"
                )
            body = self.store.add_coupon(
                code,
                str(data.get("discount_type") or "fixed_cart"),
                str(data.get("amount") or "0"),
                free_shipping=bool(data.get("free_shipping")),
            )
        return self._ok(
            body, COLLECTION_ALLOW, status=201, location=f"{self.store.api_url}/coupons/{body['id']}"
        )

    def coupon_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            return self._ok(render_coupon(self._coupon(ctx, 404), self.store), ITEM_ALLOW)

    def coupon_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, EDIT_MSG)
        store = self.store
        with store.lock:
            coupon = self._coupon(ctx, 400)
            if "amount" in data:
                coupon.amount = dec(data["amount"])
            if data.get("discount_type") in ("percent", "fixed_cart", "fixed_product"):
                coupon.discount_type = str(data["discount_type"])
            coupon.date_modified = store.now()
            store.emit("coupon", "updated", coupon.id)
            return self._ok(render_coupon(coupon, store), ITEM_ALLOW)

    # ------------------------------------------------------------------ webhooks

    @staticmethod
    def valid_topic(topic: str) -> bool:
        topic = topic.lower()
        if topic.startswith("action."):
            return topic.startswith(("action.woocommerce_", "action.wc_"))
        return topic in TOPIC_HOOKS and topic != "customer.restored"

    @staticmethod
    def _valid_url(url: Any) -> bool:
        return isinstance(url, str) and re.match(r"^https?://[^\s/]+", url) is not None

    def webhooks_list(self, request: Request, ctx: Ctx) -> Response:
        page, per_page = self._paging(request, ctx)
        status = self._enum_param(request, ctx, "status", ("all", "active", "paused", "disabled"), "all")
        self._need(ctx, LIST_MSG)
        store = self.store
        with store.lock:
            items = sorted(
                (w for w in store.webhooks.values() if status == "all" or w.status == status),
                key=lambda w: (w.date_created, w.id),
                reverse=True,
            )
            return self._collection(
                request, items, lambda w: render_webhook(w, store), page, per_page, resource="webhooks"
            )

    def webhooks_create(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, CREATE_MSG)
        if not data.get("topic") or not self.valid_topic(str(data["topic"])):
            raise RestError(
                400,
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        if not self._valid_url(data.get("delivery_url")):
            raise RestError(
                400,
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            )
        store = self.store
        with store.lock:
            data["topic"] = str(data["topic"]).lower()
            webhook = store.new_webhook(data)  # a "status" in the request is ignored: always active
        store.dispatcher.ping(webhook)  # synchronous, like WC_Webhook::deliver_ping() on create
        with store.lock:
            body = render_webhook(webhook, store)
        return self._ok(body, COLLECTION_ALLOW, status=201, location=f"{store.api_url}/webhooks/{webhook.id}")

    def webhook_get(self, request: Request, ctx: Ctx) -> Response:
        self._need(ctx, VIEW_MSG)
        with self.store.lock:
            webhook = self.store.webhooks.get(int(ctx.params["id"]))
            if webhook is None:
                raise RestError(404, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
            return self._ok(render_webhook(webhook, self.store), ITEM_ALLOW)

    def webhook_update(self, request: Request, ctx: Ctx) -> Response:
        data = self._body(request)
        self._need(ctx, EDIT_MSG)
        store = self.store
        with store.lock:
            webhook = store.webhooks.get(int(ctx.params["id"]))
            if webhook is None:
                raise RestError(400, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
            if "status" in data and data["status"] not in ("active", "paused", "disabled"):
                raise RestError(
                    400, "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid."
                )
            if "topic" in data and not self.valid_topic(str(data["topic"])):
                raise RestError(
                    400,
                    "woocommerce_rest_shop_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                )
            if "delivery_url" in data and not self._valid_url(data["delivery_url"]):
                raise RestError(
                    400,
                    "woocommerce_rest_shop_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                )
            url_changed = "delivery_url" in data and data["delivery_url"] != webhook.delivery_url
            for key in ("name", "delivery_url", "secret", "status"):
                if data.get(key) is not None:
                    setattr(webhook, key, str(data[key]))
            if "topic" in data:
                webhook.topic = str(data["topic"]).lower()
            webhook.date_modified = store.now()  # failure_count is left alone, even when re-activated
            must_ping = webhook.status == "active" and (url_changed or webhook.pending_delivery)
        if must_ping:
            store.dispatcher.ping(webhook)
        with store.lock:
            return self._ok(render_webhook(webhook, store), ITEM_ALLOW)

    def webhook_delete(self, request: Request, ctx: Ctx) -> Response:
        force = (request.arg("force") or "").lower() in ("1", "true")
        self._need(ctx, DELETE_MSG)
        store = self.store
        with store.lock:
            webhook = store.webhooks.get(int(ctx.params["id"]))
            if webhook is None:
                raise RestError(404, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
            if not force:
                raise RestError(
                    501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing."
                )
            body = render_webhook(webhook, store)
            del store.webhooks[webhook.id]
        return self._ok(body, ITEM_ALLOW)
