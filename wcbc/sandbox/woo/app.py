"""WooCommerce 10.0.2 simulator: REST v3 (/wp-json/wc/v3), signed webhooks and an admin API.

As strict as the real store recorded in contracts/woocommerce/real-store (errors, shapes, key order,
money rules, webhook delivery and auto-disable). Pieces:

- woo_model: records; woo_money: Decimal maths and PHP JSON; woo_render: JSON shapes;
- woo_rest: the REST routes; woo_hooks: the webhook queue and delivery worker; woo_admin: /__admin/ HTTP.

Sandbox choices (real WooCommerce differs, on purpose):

- deliveries wait ``webhook_delay`` seconds (default 0.2 s; a real store takes 15-26 s with WP-Cron);
- ``enforce_safe_ports`` is False by default: WordPress only delivers to ports 80, 443 and 8080 (and the
  site's own port) and refuses private addresses; tests run receivers on random loopback ports, so the
  sandbox delivers anywhere unless asked to be strict (then other ports fail like a WP_Error, no code);
- taxes apply to every order whatever its address (one store-wide set of rates);
- payment gateways: bacs, cheque and cod exist and cannot refund (as in core); stripe,
  woocommerce_payments and ppcp-gateway refund at once (``payment_gateways`` changes the set);
- the Shipment Tracking EXTENSION routes answer only with ``shipment_tracking=True``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import zoneinfo
from decimal import Decimal
from typing import Any

from wcbc.sandbox.core import Clock, Faults, Request, Response
from wcbc.sandbox.woo.catalog import CatalogMixin
from wcbc.sandbox.woo.hooks import Dispatcher
from wcbc.sandbox.woo.manager import ManagerMixin
from wcbc.sandbox.woo.model import (
    SHIPPING_KEYS,
    Coupon,
    Customer,
    Order,
    Product,
    Refund,
    RestError,
    Webhook,
)
from wcbc.sandbox.woo.money import (
    TaxRate,
    dec,
    php_json,
    stored_price,
)
from wcbc.sandbox.woo.orders import OrdersMixin
from wcbc.sandbox.woo.refunds import DEFAULT_GATEWAYS, RefundsMixin
from wcbc.sandbox.woo.render import (
    render_coupon,
    render_customer,
    render_order,
    render_product,
    render_variation,
    render_webhook,
)

__all__ = ["RestError", "TaxRate", "WooStore", "seed_bulk", "seed_sample"]

CURRENCY_SYMBOLS = {
    "USD": ("$", "&#36;"),
    "EUR": ("€", "&euro;"),
    "GBP": ("£", "&pound;"),
    "CAD": ("$", "&#36;"),
    "AUD": ("$", "&#36;"),
    "JPY": ("¥", "&yen;"),
}
DEFAULT_RATE = TaxRate(1, "CA State Tax", Decimal("7.25"))


class WooStore(CatalogMixin, OrdersMixin, RefundsMixin, ManagerMixin):
    """The simulated store (a core.App) plus the Python admin API used by tests, the demo and the bench."""

    wc_version = "10.0.2"
    wp_version = "6.8.8"

    def __init__(
        self,
        *,
        consumer_keys: dict[str, tuple[str, str]] | None = None,
        currency: str = "USD",
        decimals: int = 2,
        prices_include_tax: bool = False,
        tax_rates: list[TaxRate] | None = None,
        reduced_rate: Decimal | str | None = None,
        reduced_rate_shipping: bool = False,
        shipping_tax_class: str = "inherit",
        payment_gateways: dict[str, bool] | None = None,
        shipment_tracking: bool = False,
        time_zone: str = "America/Los_Angeles",
        webhook_delay: float = 0.2,
        max_delivery_failures: int = 5,
        enforce_safe_ports: bool = False,
        base_url: str | None = None,
        delivery_timeout: float = 60.0,
        delivery_verify: str | bool = False,
        clock: Clock | None = None,
        faults: Faults | None = None,
        first_id: int = 10,
    ) -> None:
        if consumer_keys is None:
            consumer_keys = {
                "ck_" + secrets.token_hex(20): ("cs_" + secrets.token_hex(20), "read_write"),
            }
        self.consumer_keys = dict(consumer_keys)
        self.currency = currency
        self.decimals = decimals
        self.prices_include_tax = prices_include_tax
        rates = list(tax_rates) if tax_rates is not None else [DEFAULT_RATE]
        if reduced_rate is not None:
            rates.append(
                TaxRate(
                    len(rates) + 1,
                    "Reduced rate",
                    dec(reduced_rate),
                    tax_class="reduced-rate",
                    shipping=reduced_rate_shipping,
                )
            )
        self.tax_rates = rates
        self.shipping_tax_class = shipping_tax_class
        # gateway id -> supports refunds; an order whose payment_method is not here has no gateway
        self.payment_gateways = dict(DEFAULT_GATEWAYS if payment_gateways is None else payment_gateways)
        self.refund_gateway_error: str | None = None  # fault knob: the gateway refuses every refund
        self.shipment_tracking = shipment_tracking  # EXTENSION: the Shipment Tracking routes answer
        self.refund_index: dict[int, Refund] = {}
        self.emails: list[dict[str, Any]] = []  # e-mails the store sent (the "Customer note" e-mail)
        self.time_zone = time_zone
        self.tz = zoneinfo.ZoneInfo(time_zone)
        self.webhook_delay = webhook_delay
        self.max_delivery_failures = max_delivery_failures
        self.enforce_safe_ports = enforce_safe_ports
        self._base_url = base_url.rstrip("/") if base_url else None
        self.delivery_timeout = delivery_timeout
        self.delivery_verify = delivery_verify
        self.clock = clock or Clock()
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.products_by_id: dict[int, Product] = {}
        self.sku_index: dict[str, int] = {}
        self.customers: dict[int, Customer] = {}
        self.order_index: dict[int, Order] = {}
        self.coupons: dict[str, Coupon] = {}
        self.webhooks: dict[int, Webhook] = {}
        self._post_id = first_id - 1
        self._user_id = 1
        self._item_id = 0
        self._meta_id = 0
        self._webhook_id = 0
        self._note_id = 0
        self._related_pool: list[int] = []
        self.dispatcher = Dispatcher(self)
        from wcbc.sandbox.woo.rest import WooRest  # noqa: PLC0415 - circular by design

        self.rest = WooRest(self)

    # ------------------------------------------------------------------ plumbing

    @property
    def consumer_key(self) -> str:
        """The first read_write consumer key (handy for tests and the demo)."""
        for key, (_secret, perm) in self.consumer_keys.items():
            if perm == "read_write":
                return key
        return next(iter(self.consumer_keys))

    @property
    def consumer_secret(self) -> str:
        return self.consumer_keys[self.consumer_key][0]

    @property
    def base_url(self) -> str:
        return self._base_url or "https://127.0.0.1"

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/wp-json/wc/v3"

    def now(self) -> dt.datetime:
        return self.clock.now().replace(microsecond=0)

    def currency_symbol(self, currency: str | None = None) -> str:
        return CURRENCY_SYMBOLS.get(currency or self.currency, (currency or self.currency, ""))[0]

    def currency_symbol_html(self) -> str:
        return CURRENCY_SYMBOLS.get(self.currency, ("", self.currency))[1]

    def _new_post_id(self) -> int:
        self._post_id += 1
        return self._post_id

    def _new_item_id(self) -> int:
        self._item_id += 1
        return self._item_id

    def _new_meta_id(self) -> int:
        self._meta_id += 1
        return self._meta_id

    def related_ids(self, product_id: int) -> list[int]:
        return [p for p in self._related_pool if p != product_id][:5]

    def handle(self, request: Request) -> Response:
        if self._base_url is None:
            host = request.headers.get("Host")
            if host:
                self._base_url = f"{request.scheme}://{host}"
        if request.path.startswith("/__admin/"):
            from wcbc.sandbox.woo.admin import handle_admin  # noqa: PLC0415

            return handle_admin(self, request)
        return self.rest.handle(request)

    def fault_response(self, status: int, retry_after: int | None) -> Response:
        messages = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
        body = {
            "code": "internal_server_error" if status == 500 else f"http_{status}",
            "message": messages.get(status, "Error"),
            "data": {"status": status},
        }
        headers = [("Content-Type", "application/json; charset=UTF-8")]
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        return Response(status, php_json(body), headers)

    def close(self) -> None:
        """Stop the delivery worker (pending deliveries are dropped)."""
        self.dispatcher.stop()

    # ------------------------------------------------------------------ events

    def emit(self, resource: str, event: str, arg: int) -> None:
        """Queue a delivery for every active webhook on ``resource.event`` (call with the lock held)."""
        topic = f"{resource}.{event}"
        for webhook in self.webhooks.values():
            if webhook.status == "active" and webhook.topic == topic:
                self.dispatcher.enqueue(webhook.id, arg)

    def webhook_payload(self, webhook: Webhook, arg: int) -> dict[str, Any]:
        """The body as the internal v3 GET renders it right now (or the REST error it would give)."""
        resource, _, event = webhook.topic.partition(".")
        if event == "deleted":
            return {"id": arg}
        with self.lock:
            if resource == "order":
                order = self.order_index.get(arg)
                if order is None:
                    return RestError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.").body()
                return render_order(order, self)
            if resource == "product":
                product = self.products_by_id.get(arg)
                if product is None:
                    return RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.").body()
                return render_product(product, self)
            if resource == "customer":
                customer = self.customers.get(arg)
                if customer is None:
                    return RestError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.").body()
                return render_customer(customer, self)
            if resource == "coupon":
                for coupon in self.coupons.values():
                    if coupon.id == arg:
                        return render_coupon(coupon, self)
                return RestError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.").body()
        return {"action": webhook.topic, "arg": arg}

    # ------------------------------------------------------------------ admin API (Python)

    def add_coupon(
        self,
        code: str,
        discount_type: str = "percent",
        amount: str | Decimal = "10",
        *,
        free_shipping: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            coupon = Coupon(
                self._new_post_id(), code, discount_type, dec(amount), now, now, free_shipping=free_shipping
            )
            self.coupons[code.lower()] = coupon
            self.emit("coupon", "created", coupon.id)
            return render_coupon(coupon, self)

    def add_product(
        self,
        sku: str,
        name: str,
        price: str | Decimal | int | float,
        stock: int | None = None,
        manage_stock: bool | None = None,
        *,
        sale_price: str = "",
        tax_class: str = "",
        status: str = "publish",
        fire: bool = True,
    ) -> dict[str, Any]:
        """A simple product (stock managed when ``stock`` is given unless ``manage_stock`` says otherwise)."""
        manage = stock is not None if manage_stock is None else manage_stock
        data: dict[str, Any] = {
            "name": name,
            "type": "simple",
            "sku": sku,
            "regular_price": stored_price(price),
            "sale_price": sale_price,
            "tax_class": tax_class,
            "status": status,
            "manage_stock": manage,
        }
        if manage:
            data["stock_quantity"] = stock if stock is not None else 0
        with self.lock:
            product = self.new_product(data)
            if fire:
                self.emit("product", "created", product.id)
            return render_product(product, self)

    def add_variable_product(
        self,
        sku: str,
        name: str,
        variations: list[dict[str, Any]],
        *,
        attribute_name: str = "Size",
        fire: bool = True,
    ) -> dict[str, Any]:
        """``variations``: [{sku, attribute (the option value), price, stock=None, sale_price=""}]."""
        with self.lock:
            options = [str(v["attribute"]) for v in variations]
            parent = self.new_product(
                {
                    "name": name,
                    "type": "variable",
                    "sku": sku,
                    "attributes": [
                        {
                            "name": attribute_name,
                            "position": 0,
                            "visible": True,
                            "variation": True,
                            "options": options,
                        }
                    ],
                }
            )
            if fire:
                self.emit("product", "created", parent.id)
            for v in variations:
                data: dict[str, Any] = {
                    "sku": v["sku"],
                    "regular_price": stored_price(v["price"]),
                    "sale_price": stored_price(v.get("sale_price", "")),
                    "attributes": [{"name": attribute_name, "option": v["attribute"]}],
                }
                if v.get("stock") is not None:
                    data.update(manage_stock=True, stock_quantity=v["stock"])
                child = self.new_product(data, parent=parent)
                if fire:
                    self.emit("product", "created", child.id)
            parent.stock_status = "instock"
            return render_product(parent, self)

    def add_customer(
        self,
        email: str,
        first_name: str = "",
        last_name: str = "",
        billing: dict[str, Any] | None = None,
        shipping: dict[str, Any] | None = None,
        username: str | None = None,
        *,
        fire: bool = True,
    ) -> dict[str, Any]:
        billing = dict(billing or {})
        billing.setdefault("first_name", first_name)
        billing.setdefault("last_name", last_name)
        billing.setdefault("email", email)
        shipping = dict(shipping or {k: v for k, v in billing.items() if k in SHIPPING_KEYS and k != "phone"})
        with self.lock:
            customer = self.new_customer(
                {
                    "email": email,
                    "first_name": first_name,
                    "last_name": last_name,
                    "username": username,
                    "billing": billing,
                    "shipping": shipping,
                }
            )
            if fire:
                self.emit("customer", "created", customer.id)
            return render_customer(customer, self)

    def create_order(
        self,
        customer_id: int = 0,
        billing: dict[str, Any] | None = None,
        shipping: dict[str, Any] | None = None,
        line_items: list[dict[str, Any]] | None = None,
        shipping_lines: list[dict[str, Any]] | None = None,
        coupon_lines: list[dict[str, Any]] | None = None,
        fee_lines: list[dict[str, Any]] | None = None,
        status: str = "processing",
        set_paid: bool = True,
        currency: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Create an order like a REST POST /orders does (fires order.created and order.updated)."""
        if billing is None and customer_id and customer_id in self.customers:
            billing = dict(self.customers[customer_id].billing)
        if shipping is None and billing is not None:
            shipping = {k: v for k, v in billing.items() if k in SHIPPING_KEYS and k != "phone"}
        data = {
            "customer_id": customer_id,
            "billing": billing,
            "shipping": shipping,
            "line_items": line_items or [],
            "shipping_lines": shipping_lines or [],
            "coupon_lines": coupon_lines or [],
            "fee_lines": fee_lines or [],
            "status": status,
            "set_paid": set_paid,
            "currency": currency,
            **extra,
        }
        with self.lock:
            order = self.new_order(data)
            self.emit("order", "created", order.id)
            self.emit("order", "updated", order.id)
            return render_order(order, self)

    def update_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Change an order like the admin screen (status, meta_data, billing...); fires order.updated."""
        with self.lock:
            order = self.order_index.get(int(order_id))
            if order is None:
                raise KeyError(f"no order {order_id}")
            self.change_order(order, changes)
            self.emit("order", "updated", order.id)
            return render_order(order, self)

    def add_order_note(self, order_id: int, note: str, customer_note: bool = False) -> dict[str, Any]:
        from wcbc.sandbox.woo.render import render_note  # noqa: PLC0415

        with self.lock:
            order = self.order_index[int(order_id)]
            return render_note(order, self.add_note(order, note, customer_note=customer_note), self)

    def edit_product(self, id_or_sku: int | str, **changes: Any) -> dict[str, Any]:
        """Edit a product or variation by hand (numbers accepted for prices); fires product.updated."""
        with self.lock:
            product = self._find_product(id_or_sku)
            self.apply_product_changes(product, changes)
            self.emit("product", "updated", product.id)
            return render_product(product, self)

    def _find_product(self, id_or_sku: int | str) -> Product:
        if isinstance(id_or_sku, int):
            product = self.products_by_id.get(id_or_sku)
        else:
            product = self.product_by_sku(id_or_sku)
            if product is None and id_or_sku.isdigit():
                product = self.products_by_id.get(int(id_or_sku))
        if product is None:
            raise KeyError(f"no product {id_or_sku!r}")
        return product

    def get_product_by_sku(self, sku: str) -> dict[str, Any] | None:
        with self.lock:
            product = self.product_by_sku(sku)
            return render_product(product, self) if product else None

    def get_product(self, id_or_sku: int | str) -> dict[str, Any]:
        with self.lock:
            return render_product(self._find_product(id_or_sku), self)

    def get_variation(self, variation_id: int) -> dict[str, Any]:
        with self.lock:
            return render_variation(self.products_by_id[variation_id], self)

    def get_order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return render_order(self.order_index[int(order_id)], self)

    def orders_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [render_order(o, self) for o in sorted(self.order_index.values(), key=lambda o: o.id)]

    def orders(self) -> list[dict[str, Any]]:
        """Every order, oldest first, in the v3 shape."""
        return self.orders_list()

    def products(self) -> list[dict[str, Any]]:
        """Every product and variation, by id, in the /products/{id} shape."""
        with self.lock:
            return [render_product(p, self) for p in sorted(self.products_by_id.values(), key=lambda p: p.id)]

    def customers_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [render_customer(c, self) for c in self.customers.values()]

    def add_webhook(
        self, topic: str, delivery_url: str, secret: str, name: str | None = None
    ) -> dict[str, Any]:
        """Create a webhook as REST POST /webhooks does (synchronous ping included)."""
        with self.lock:
            webhook = self.new_webhook(
                {"topic": topic, "delivery_url": delivery_url, "secret": secret, "name": name}
            )
        self.dispatcher.ping(webhook)
        with self.lock:
            return render_webhook(webhook, self)

    def webhook_state(self, webhook_id: int) -> dict[str, Any]:
        """Internal fields REST never shows: status, failure_count, pending_delivery."""
        with self.lock:
            wh = self.webhooks[webhook_id]
            return {
                "id": wh.id,
                "status": wh.status,
                "failure_count": wh.failure_count,
                "pending_delivery": wh.pending_delivery,
                "topic": wh.topic,
                "delivery_url": wh.delivery_url,
            }

    def deliveries(self, webhook_id: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Delivery log: {seq, kind (delivery|ping), webhook_id, topic, resource_id, url, status, error,
        body (bytes), headers (wire order), time}."""
        return self.dispatcher.log(webhook_id=webhook_id, kind=kind)

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or in flight (ignores the delay: due ones run at once)."""
        return self.dispatcher.flush(timeout)

    def deliver_duplicate(self, count: int = 1) -> None:
        """Send each of the next ``count`` deliveries twice (same body and Delivery-ID) (it happens)."""
        self.dispatcher.duplicates += count

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "base_url": self.base_url,
                "products": sum(1 for p in self.products_by_id.values() if p.type != "variation"),
                "variations": sum(1 for p in self.products_by_id.values() if p.type == "variation"),
                "orders": len(self.order_index),
                "refunds": len(self.refund_index),
                "shipment_tracking": self.shipment_tracking,
                "emails": len(self.emails),
                "customers": len(self.customers),
                "coupons": len(self.coupons),
                "webhooks": [self.webhook_state(w) for w in self.webhooks],
                "deliveries": len(self.dispatcher.entries),
                "queued": self.dispatcher.pending_count(),
                "time_zone": self.time_zone,
                "currency": self.currency,
            }


from wcbc.sandbox.woo.seed import seed_bulk, seed_sample  # noqa: E402 - re-exported
