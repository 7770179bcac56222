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
- taxes apply to every order whatever its address (one store-wide set of rates).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import string
import threading
import zoneinfo
from decimal import Decimal
from typing import Any

from wcbc.sandbox.core import Clock, Faults, Request, Response
from wcbc.sandbox.woo_hooks import Dispatcher
from wcbc.sandbox.woo_model import (
    BILLING_KEYS,
    SHIPPING_KEYS,
    Coupon,
    CouponLine,
    Customer,
    FeeLine,
    LineItem,
    Meta,
    Note,
    Order,
    Product,
    ShippingLine,
    TaxLine,
    Webhook,
    address,
)
from wcbc.sandbox.woo_money import (
    ZERO,
    CouponSpec,
    LineCalc,
    TaxRate,
    apply_coupons,
    calc_line,
    coupon_ex_tax_discount,
    dec,
    php_json,
    round_money,
    stored_price,
    tax_on,
)
from wcbc.sandbox.woo_render import (
    coupon_info,
    render_coupon,
    render_customer,
    render_order,
    render_product,
    render_variation,
    render_webhook,
)

__all__ = ["RestError", "TaxRate", "WooStore", "seed_bulk", "seed_sample"]

STOCK_STATUSES = ("processing", "completed", "on-hold")
CURRENCY_SYMBOLS = {
    "USD": ("$", "&#36;"),
    "EUR": ("€", "&euro;"),
    "GBP": ("£", "&pound;"),
    "CAD": ("$", "&#36;"),
    "AUD": ("$", "&#36;"),
    "JPY": ("¥", "&yen;"),
}
DEFAULT_RATE = TaxRate(1, "CA State Tax", Decimal("7.25"))


class RestError(Exception):
    """A WordPress REST error: {code, message, data:{status, ...}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.data = status, code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def _slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "product"


class WooStore:
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
            rates.append(TaxRate(len(rates) + 1, "Reduced rate", dec(reduced_rate), tax_class="reduced-rate"))
        self.tax_rates = rates
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
        from wcbc.sandbox.woo_rest import WooRest  # noqa: PLC0415 - circular by design

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
            from wcbc.sandbox.woo_admin import handle_admin  # noqa: PLC0415

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

    # ------------------------------------------------------------------ products

    def product_by_sku(self, sku: str) -> Product | None:
        pid = self.sku_index.get(sku.strip().lower())
        return self.products_by_id.get(pid) if pid is not None else None

    def unique_sku(self, sku: str) -> str:
        n = 1
        while f"{sku}-{n}".lower() in self.sku_index:
            n += 1
        return f"{sku}-{n}"

    def check_sku(self, sku: str, product_id: int) -> None:
        if not sku:
            return
        owner = self.sku_index.get(sku.lower())
        if owner is not None and owner != product_id:
            raise RestError(
                400,
                "product_invalid_sku",
                "Invalid or duplicated SKU.",
                resource_id=owner,
                unique_sku=self.unique_sku(sku),
            )

    def _index_sku(self, product: Product, old_sku: str | None = None) -> None:
        if old_sku:
            self.sku_index.pop(old_sku.lower(), None)
        if product.sku:
            self.sku_index[product.sku.lower()] = product.id

    def _insert_product(self, product: Product) -> None:
        self.products_by_id[product.id] = product
        self._index_sku(product)
        if product.type != "variation" and len(self._related_pool) < 6:
            self._related_pool.append(product.id)

    def new_product(self, data: dict[str, Any], *, parent: Product | None = None) -> Product:
        """Create a product (or a variation of ``parent``) from REST-style ``data`` (lock held)."""
        sku = str(data.get("sku") or "").strip()
        pid = self._new_post_id()
        try:
            self.check_sku(sku, pid)
        except RestError:
            self._post_id -= 1
            raise
        now = self.now()
        if parent is not None:
            attrs = [
                {"name": a.get("name", ""), "option": str(a.get("option", ""))}
                for a in data.get("attributes") or []
            ]
            product = Product(
                pid,
                parent.name,
                f"{parent.slug}-{pid}",
                "variation",
                sku,
                now,
                now,
                parent_id=parent.id,
                attributes=attrs,
            )
            parent.variations.append(pid)
            parent.date_modified = now
        else:
            name = str(data.get("name") or "Product")
            ptype = str(data.get("type") or "simple")
            attrs = [
                {
                    "name": a.get("name", ""),
                    "options": [str(o) for o in a.get("options", [])],
                    "position": a.get("position", i),
                    "visible": a.get("visible", True),
                    "variation": a.get("variation", True),
                }
                for i, a in enumerate(data.get("attributes") or [])
            ]
            slug = self._free_slug(_slugify(name))
            product = Product(pid, name, slug, ptype, sku, now, now, attributes=attrs)
            if ptype == "variable":
                product.stock_status = "outofstock"
        self.apply_product_changes(product, {k: v for k, v in data.items() if k not in ("sku", "attributes")})
        self._insert_product(product)
        return product

    def _free_slug(self, slug: str) -> str:
        if not any(p.slug == slug for p in list(self.products_by_id.values())[-200:]):
            return slug
        n = 2
        while any(p.slug == f"{slug}-{n}" for p in self.products_by_id.values()):
            n += 1
        return f"{slug}-{n}"

    def apply_product_changes(self, product: Product, data: dict[str, Any]) -> None:
        """WooCommerce's write rules: prices on a variable parent ignored, stock needs manage_stock."""
        if "sku" in data:
            sku = str(data.get("sku") or "").strip()
            self.check_sku(sku, product.id)
            old = product.sku
            product.sku = sku
            if product.id in self.products_by_id:
                self._index_sku(product, old)
        for key in (
            "name",
            "description",
            "short_description",
            "status",
            "tax_status",
            "backorders",
            "weight",
        ):
            if key in data and data[key] is not None:
                setattr(product, key, str(data[key]))
        if "tax_class" in data and data["tax_class"] is not None:
            tax_class = str(data["tax_class"])
            product.tax_class = "" if tax_class in ("parent", "standard") else tax_class
        if "menu_order" in data:
            product.menu_order = int(data["menu_order"] or 0)
        if product.type not in ("variable", "grouped"):
            if "regular_price" in data:
                product.regular_price = stored_price(data["regular_price"])
            if "sale_price" in data:
                product.sale_price = stored_price(data["sale_price"])
        if "manage_stock" in data:
            product.manage_stock = data["manage_stock"] is True or data["manage_stock"] in ("yes", "1", 1)
            if not product.manage_stock:
                product.stock_quantity = None
        if product.manage_stock:
            if "stock_quantity" in data and data["stock_quantity"] is not None:
                product.stock_quantity = int(dec(data["stock_quantity"]))
            elif "inventory_delta" in data:
                product.stock_quantity = (product.stock_quantity or 0) + int(dec(data["inventory_delta"]))
            if product.stock_quantity is None:
                product.stock_quantity = 0
            self._derive_stock_status(product)
        elif "stock_status" in data and data["stock_status"] in ("instock", "outofstock", "onbackorder"):
            product.stock_status = str(data["stock_status"])
        if "meta_data" in data and isinstance(data["meta_data"], list):
            self._merge_meta(product.meta_data, data["meta_data"])
        product.date_modified = self.now()
        if product.parent_id and product.parent_id in self.products_by_id:
            self.products_by_id[product.parent_id].date_modified = product.date_modified

    @staticmethod
    def _derive_stock_status(product: Product) -> None:
        qty = product.stock_quantity or 0
        if qty > 0:
            product.stock_status = "instock"
        elif product.backorders != "no":
            product.stock_status = "onbackorder"
        else:
            product.stock_status = "outofstock"

    def _merge_meta(self, meta: list[Meta], updates: list[Any]) -> None:
        for entry in updates:
            if not isinstance(entry, dict):
                continue
            if entry.get("id"):
                found = next((m for m in meta if m.id == int(entry["id"])), None)
                if found is not None:
                    if "key" in entry:
                        found.key = str(entry["key"])
                    if "value" in entry:
                        found.value = entry["value"]
                    continue
            key = str(entry.get("key") or "")
            if not key:
                continue
            found = next((m for m in meta if m.key == key), None)
            if found is not None:
                found.value = entry.get("value")
            else:
                meta.append(Meta(self._new_meta_id(), key, entry.get("value")))

    # ------------------------------------------------------------------ customers

    def customer_by_email(self, email: str) -> Customer | None:
        email = email.strip().lower()
        return next((c for c in self.customers.values() if c.email.lower() == email), None)

    def new_customer(self, data: dict[str, Any]) -> Customer:
        email = str(data.get("email") or "").strip()
        if not email or "@" not in email:
            raise RestError(400, "woocommerce_rest_customer_invalid_email", "Email address is invalid.")
        if self.customer_by_email(email) is not None:
            raise RestError(
                400,
                "registration-error-email-exists",
                "An account is already registered with your email address. "
                '<a href="#" class="showlogin">Please log in.</a>',
            )
        self._user_id += 1
        now = self.now()
        username = str(data.get("username") or email.split("@")[0])
        billing = address(data.get("billing"), BILLING_KEYS)
        shipping = address(data.get("shipping"), SHIPPING_KEYS)
        customer = Customer(
            self._user_id,
            email,
            str(data.get("first_name") or ""),
            str(data.get("last_name") or ""),
            username,
            billing,
            shipping,
            now,
            now,
        )
        if isinstance(data.get("meta_data"), list):
            self._merge_meta(customer.meta_data, data["meta_data"])
        self.customers[customer.id] = customer
        return customer

    # ------------------------------------------------------------------ orders

    def rates_for(self, tax_class: str) -> list[TaxRate]:
        return [r for r in self.tax_rates if r.tax_class == tax_class]

    def _resolve_line(self, data: dict[str, Any]) -> tuple[Product, Product | None]:
        """(product or variation to sell, parent if variation)."""
        product: Product | None = None
        if data.get("variation_id"):
            product = self.products_by_id.get(int(data["variation_id"]))
        elif data.get("product_id"):
            product = self.products_by_id.get(int(data["product_id"]))
        elif data.get("sku"):
            product = self.product_by_sku(str(data["sku"]))
        else:
            raise RestError(
                400, "woocommerce_rest_required_product_reference", "Product ID or SKU is required."
            )
        if product is None:
            raise RestError(400, "woocommerce_rest_invalid_product_id", "Invalid product ID provided.")
        parent = self.products_by_id.get(product.parent_id) if product.type == "variation" else None
        return product, parent

    def new_order(
        self,
        data: dict[str, Any],
        *,
        created_via: str = "rest-api",
        date: dt.datetime | None = None,
        effects: bool = True,
    ) -> Order:
        """Create an order from REST-style ``data`` (lock held). Emits only the stock/customer side effects
        (product.updated, customer.updated), not order.*; ``effects=False`` skips payment and stock."""
        customer_id = int(data.get("customer_id") or 0)
        if customer_id and customer_id not in self.customers:
            raise RestError(400, "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.")
        status = str(data.get("status") or "pending").removeprefix("wc-")
        now = date or self.now()
        lines: list[LineItem] = []
        for raw in data.get("line_items") or []:
            product, parent = self._resolve_line(raw)
            qty = int(raw.get("quantity") or 1)
            price = dec(raw["price"]) if raw.get("price") not in (None, "") else dec(product.active_price())
            tax_class = product.tax_class or (parent.tax_class if parent else "")
            meta: list[dict[str, Any]] = []
            for attr in product.attributes if parent else []:
                meta.append(
                    {
                        "id": self._new_meta_id(),
                        "key": attr["name"].lower(),
                        "value": attr["option"],
                        "display_key": attr["name"],
                        "display_value": attr["option"],
                    }
                )
            lines.append(
                LineItem(
                    id=0,
                    name=f"{parent.name} - {product.attributes[0]['option']}"
                    if parent and product.attributes
                    else product.name,
                    product_id=parent.id if parent else product.id,
                    variation_id=product.id if parent else 0,
                    quantity=qty,
                    unit_price=price,
                    tax_class=tax_class,
                    sku=product.sku,
                    parent_name=parent.name if parent else None,
                    image_id=0 if parent else "",
                    meta_data=meta,
                    taxable=product.tax_status == "taxable",
                )
            )
        coupons: list[CouponLine] = []
        for raw in data.get("coupon_lines") or []:
            code = str(raw.get("code") or "").strip()
            coupon = self.coupons.get(code.lower())
            if coupon is None:
                raise RestError(400, "woocommerce_rest_invalid_coupon", f'Coupon "{code}" does not exist!')
            coupons.append(
                CouponLine(
                    0,
                    coupon.code,
                    coupon.id,
                    coupon.discount_type,
                    coupon.amount,
                    free_shipping=coupon.free_shipping,
                )
            )
        order = Order(
            id=self._new_post_id(),
            status=status,
            currency=str(data.get("currency") or self.currency),
            prices_include_tax=self.prices_include_tax,
            date_created=now,
            date_modified=now,
            customer_id=customer_id,
            order_key="wc_order_"
            + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(13)),
            billing=address(data.get("billing"), BILLING_KEYS),
            shipping=address(data.get("shipping"), SHIPPING_KEYS),
            payment_method=str(data.get("payment_method") or ""),
            payment_method_title=str(data.get("payment_method_title") or ""),
            transaction_id=str(data.get("transaction_id") or ""),
            created_via=created_via,
            customer_note=str(data.get("customer_note") or ""),
        )
        for line in lines:
            line.id = self._new_item_id()
        order.line_items = lines
        for raw in data.get("shipping_lines") or []:
            order.shipping_lines.append(
                ShippingLine(
                    self._new_item_id(),
                    str(raw.get("method_title") or "Flat rate"),
                    str(raw.get("method_id") or "flat_rate"),
                    dec(raw.get("total")),
                    instance_id=str(raw.get("instance_id") or ""),
                )
            )
        for raw in data.get("fee_lines") or []:
            order.fee_lines.append(
                FeeLine(
                    self._new_item_id(),
                    str(raw.get("name") or "Fee"),
                    dec(raw.get("total")),
                    tax_class=str(raw.get("tax_class") or ""),
                    tax_status=str(raw.get("tax_status") or "taxable"),
                )
            )
        order.coupon_lines = coupons
        if isinstance(data.get("meta_data"), list):
            self._merge_meta(order.meta_data, data["meta_data"])
        self.calculate(order)
        for cl in coupons:
            cl.id = self._new_item_id()
            cl.meta_data = [
                {
                    "id": self._new_meta_id(),
                    "key": "coupon_info",
                    "value": coupon_info(self.coupons[cl.code.lower()]),
                    "display_key": "coupon_info",
                    "display_value": coupon_info(self.coupons[cl.code.lower()]),
                }
            ]
            self.coupons[cl.code.lower()].usage_count += 1
        self.order_index[order.id] = order
        if not effects:
            return order
        if data.get("set_paid"):
            self.payment_complete(order)
        elif status in STOCK_STATUSES:
            self.reduce_stock(order)
        return order

    def calculate(self, order: Order) -> None:
        """Recalculate every line, tax line and order total (WooCommerce's calculate_totals)."""
        dp = self.decimals
        inclusive = order.prices_include_tax
        calcs = [
            LineCalc(li.unit_price, li.quantity, self.rates_for(li.tax_class), taxable=li.taxable)
            for li in order.line_items
        ]
        specs = [CouponSpec(cl.code, cl.discount_type, cl.nominal_amount) for cl in order.coupon_lines]
        apply_coupons(calcs, specs, dp, inclusive=inclusive)
        rate_totals: dict[int, list[Decimal]] = {}  # rate_id -> [cart tax, shipping tax]
        for li, calc in zip(order.line_items, calcs, strict=True):
            calc_line(calc, dp, inclusive=inclusive)
            li.subtotal, li.total = calc.subtotal, calc.total
            li.taxes = {rid: (calc.total_taxes[rid], calc.subtotal_taxes[rid]) for rid in calc.total_taxes}
            for rid, amount in calc.total_taxes.items():
                rate_totals.setdefault(rid, [ZERO, ZERO])[0] += amount
        standard = self.rates_for("")
        for sl in order.shipping_lines:
            sl.taxes = {}
            if sl.tax_status == "taxable":
                for rate in standard:
                    if rate.shipping:
                        sl.taxes[rate.rate_id] = round_money(tax_on(sl.total, rate, inclusive=False), dp)
                        rate_totals.setdefault(rate.rate_id, [ZERO, ZERO])[1] += sl.taxes[rate.rate_id]
        for fl in order.fee_lines:
            fl.taxes = {}
            if fl.tax_status == "taxable":
                for rate in self.rates_for(fl.tax_class):
                    fl.taxes[rate.rate_id] = round_money(tax_on(fl.total, rate, inclusive=False), dp)
                    rate_totals.setdefault(rate.rate_id, [ZERO, ZERO])[0] += fl.taxes[rate.rate_id]
        existing = {tl.rate.rate_id: tl for tl in order.tax_lines}
        tax_lines = []
        for rate in self.tax_rates:
            if rate.rate_id not in rate_totals:
                continue
            tl = existing.get(rate.rate_id) or TaxLine(self._new_item_id(), rate)
            tl.tax_total, tl.shipping_tax_total = rate_totals[rate.rate_id]
            tax_lines.append(tl)
        order.tax_lines = tax_lines
        for cl in order.coupon_lines:
            cl.discount = coupon_ex_tax_discount(calcs, cl.code, inclusive=inclusive)
            cl.discount_tax = sum((c.discount_taxes.get(cl.code, ZERO) for c in calcs), ZERO)
        order.discount_total = sum((li.subtotal - li.total for li in order.line_items), ZERO)
        order.discount_tax = sum((cl.discount_tax for cl in order.coupon_lines), ZERO)
        order.shipping_total = sum((sl.total for sl in order.shipping_lines), ZERO)
        order.shipping_tax = sum((sl.total_tax for sl in order.shipping_lines), ZERO)
        order.cart_tax = sum((li.total_tax for li in order.line_items), ZERO) + sum(
            (fl.total_tax for fl in order.fee_lines), ZERO
        )
        order.total_tax = order.cart_tax + order.shipping_tax
        order.total = (
            sum((li.total for li in order.line_items), ZERO)
            + order.shipping_total
            + sum((fl.total for fl in order.fee_lines), ZERO)
            + order.total_tax
        )

    def payment_complete(self, order: Order) -> None:
        now = self.now()
        if order.date_paid is None:
            order.date_paid = now
        if order.status in ("pending", "failed", "on-hold", "cancelled"):
            order.status = "processing"
        self.reduce_stock(order)
        customer = self.customers.get(order.customer_id)
        if customer is not None and not customer.is_paying_customer:
            customer.is_paying_customer = True
            customer.date_modified = now
            self.emit("customer", "updated", customer.id)

    def reduce_stock(self, order: Order) -> None:
        """wc_maybe_reduce_stock_levels + total sales: fires product.updated per managed product."""
        if order.stock_reduced:
            return
        order.stock_reduced = True
        now = self.now()
        for li in order.line_items:
            pid = li.variation_id or li.product_id
            product = self.products_by_id.get(pid)
            if product is None:
                continue
            product.total_sales += li.quantity
            if li.variation_id and li.product_id in self.products_by_id:
                self.products_by_id[li.product_id].total_sales += li.quantity
            if product.manage_stock:
                product.stock_quantity = (product.stock_quantity or 0) - li.quantity
                self._derive_stock_status(product)
                product.date_modified = now
                li.meta_data.append(
                    {
                        "id": self._new_meta_id(),
                        "key": "_reduced_stock",
                        "value": str(li.quantity),
                        "display_key": "_reduced_stock",
                        "display_value": str(li.quantity),
                    }
                )
                self.emit("product", "updated", product.id)

    def restore_stock(self, order: Order) -> None:
        if not order.stock_reduced:
            return
        order.stock_reduced = False
        now = self.now()
        for li in order.line_items:
            product = self.products_by_id.get(li.variation_id or li.product_id)
            reduced = next((m for m in li.meta_data if m["key"] == "_reduced_stock"), None)
            if product is None or reduced is None or not product.manage_stock:
                continue
            product.stock_quantity = (product.stock_quantity or 0) + int(reduced["value"])
            self._derive_stock_status(product)
            product.date_modified = now
            li.meta_data.remove(reduced)
            self.emit("product", "updated", product.id)

    def change_order(self, order: Order, data: dict[str, Any]) -> None:
        """Apply an update (REST PUT or admin) and move date_modified, even if nothing changed (lock held)."""
        now = self.now()
        for key in ("payment_method", "payment_method_title", "transaction_id", "customer_note"):
            if key in data and data[key] is not None:
                setattr(order, key, str(data[key]))
        if "customer_id" in data:
            cid = int(data["customer_id"] or 0)
            if cid and cid not in self.customers:
                raise RestError(400, "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.")
            order.customer_id = cid
        for key, keys in (("billing", BILLING_KEYS), ("shipping", SHIPPING_KEYS)):
            if isinstance(data.get(key), dict):
                for k in keys:
                    if k in data[key]:
                        getattr(order, key)[k] = str(data[key][k] or "")
        if isinstance(data.get("meta_data"), list):
            self._merge_meta(order.meta_data, data["meta_data"])
        if data.get("status"):
            new = str(data["status"]).removeprefix("wc-")
            old = order.status
            order.status = new
            if new != old:
                if new in ("processing", "completed") and order.date_paid is None:
                    order.date_paid = now
                if new == "completed":
                    order.date_completed = now
                if new in STOCK_STATUSES:
                    self.reduce_stock(order)
                elif new in ("cancelled", "pending"):
                    self.restore_stock(order)
        if data.get("set_paid"):
            self.payment_complete(order)
        order.date_modified = now

    def add_note(
        self, order: Order, note: str, *, customer_note: bool = False, author: str = "admin"
    ) -> Note:
        self._note_id += 1
        entry = Note(self._note_id, note, customer_note, author, self.now())
        order.notes.append(entry)
        return entry

    # ------------------------------------------------------------------ webhooks

    def new_webhook(self, data: dict[str, Any]) -> Webhook:
        self._webhook_id += 1
        now = self.now()
        name = str(data.get("name") or f"Webhook created on {now.strftime('%b %d, %Y @ %I:%M %p')}")
        secret = str(
            data.get("secret")
            or "".join(
                secrets.choice(string.ascii_letters + string.digits + "!@#$%^&*()-_[]{}<>~`+=,.;:/?|")
                for _ in range(50)
            )
        )
        webhook = Webhook(
            self._webhook_id, name, "active", str(data["topic"]), str(data["delivery_url"]), secret, now
        )
        self.webhooks[webhook.id] = webhook
        return webhook

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
        """Change an order as the admin screen would (status, meta_data, billing, ...); fires order.updated."""
        with self.lock:
            order = self.order_index.get(int(order_id))
            if order is None:
                raise KeyError(f"no order {order_id}")
            self.change_order(order, changes)
            self.emit("order", "updated", order.id)
            return render_order(order, self)

    def add_order_note(self, order_id: int, note: str, customer_note: bool = False) -> dict[str, Any]:
        from wcbc.sandbox.woo_render import render_note  # noqa: PLC0415

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
        """Send each of the next ``count`` deliveries twice (same body and Delivery-ID), as happens in life."""
        self.dispatcher.duplicates += count

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "base_url": self.base_url,
                "products": sum(1 for p in self.products_by_id.values() if p.type != "variation"),
                "variations": sum(1 for p in self.products_by_id.values() if p.type == "variation"),
                "orders": len(self.order_index),
                "customers": len(self.customers),
                "coupons": len(self.coupons),
                "webhooks": [self.webhook_state(w) for w in self.webhooks],
                "deliveries": len(self.dispatcher.entries),
                "queued": self.dispatcher.pending_count(),
                "time_zone": self.time_zone,
                "currency": self.currency,
            }


# --------------------------------------------------------------------------- seeding


def seed_sample(store: WooStore) -> dict[str, Any]:
    """A small store like the recorded one: TSHIRT-001, MUG-001 (stock 25), HOODIE (S, M on sale, stock 5),
    CAP-001, customer jane.doe@example.test, coupon save10 (10 %). Fires no webhooks."""
    with store.lock:
        tshirt = store.new_product(
            {
                "name": "Test T-Shirt",
                "type": "simple",
                "sku": "TSHIRT-001",
                "regular_price": "20.00",
                "description": "Plain cotton t-shirt",
                "short_description": "T-shirt",
            }
        )
        mug = store.new_product(
            {
                "name": "Coffee Mug",
                "type": "simple",
                "sku": "MUG-001",
                "regular_price": "12.50",
                "manage_stock": True,
                "stock_quantity": 25,
            }
        )
        hoodie = store.new_product(
            {
                "name": "Hoodie",
                "type": "variable",
                "sku": "HOODIE",
                "attributes": [
                    {"name": "Size", "position": 0, "visible": True, "variation": True, "options": ["S", "M"]}
                ],
            }
        )
        small = store.new_product(
            {"regular_price": "45.00", "sku": "HOODIE-S", "attributes": [{"name": "Size", "option": "S"}]},
            parent=hoodie,
        )
        medium = store.new_product(
            {
                "regular_price": "47.00",
                "sale_price": "42.00",
                "sku": "HOODIE-M",
                "manage_stock": True,
                "stock_quantity": 5,
                "attributes": [{"name": "Size", "option": "M"}],
            },
            parent=hoodie,
        )
        hoodie.stock_status = "instock"
        now = store.now()
        coupon = Coupon(store._new_post_id(), "save10", "percent", Decimal(10), now, now)
        store.coupons["save10"] = coupon
        jane = store.new_customer(
            {
                "email": "jane.doe@example.test",
                "first_name": "Jane",
                "last_name": "Doe",
                "username": "janedoe",
                "billing": {
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "company": "Acme",
                    "address_1": "123 Market St",
                    "address_2": "Suite 4",
                    "city": "San Francisco",
                    "state": "CA",
                    "postcode": "94105",
                    "country": "US",
                    "email": "jane.doe@example.test",
                    "phone": "+1 415 555 0100",
                },
                "shipping": {
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "company": "Acme",
                    "address_1": "123 Market St",
                    "address_2": "Suite 4",
                    "city": "San Francisco",
                    "state": "CA",
                    "postcode": "94105",
                    "country": "US",
                },
            }
        )
        cap = store.new_product(
            {"name": "Batch Cap", "type": "simple", "sku": "CAP-001", "regular_price": "9.99"}
        )
        return {
            "tshirt": tshirt.id,
            "mug": mug.id,
            "hoodie": hoodie.id,
            "hoodie_s": small.id,
            "hoodie_m": medium.id,
            "cap": cap.id,
            "coupon": coupon.id,
            "customer": jane.id,
        }


def seed_bulk(
    store: WooStore,
    *,
    simple: int = 15_000,
    variable: int = 1_000,
    variations_per: int = 5,
    orders: int = 2_000,
    customers: int = 200,
    days: int = 30,
    seed: int = 7,
) -> dict[str, int]:
    """Fast seeding for the benchmark: no webhooks, no stock movement. SKUs: SKU-000001.., VAR-0001-1..;
    orders are spread over the last ``days`` days (date_created = date_modified)."""
    rng = random.Random(seed)
    with store.lock:
        now = store.now()
        sellable: list[int] = []
        for i in range(1, simple + 1):
            pid = store._new_post_id()
            created = now - dt.timedelta(days=days + 1)
            product = Product(
                pid,
                f"Product {i}",
                f"product-{i}",
                "simple",
                f"SKU-{i:06d}",
                created,
                created,
                regular_price=f"{rng.randint(100, 20000) / 100:.2f}",
            )
            if i % 3 == 0:
                product.manage_stock, product.stock_quantity = True, rng.randint(0, 500)
                WooStore._derive_stock_status(product)
            store._insert_product(product)
            sellable.append(pid)
        for i in range(1, variable + 1):
            pid = store._new_post_id()
            created = now - dt.timedelta(days=days + 1)
            options = [f"O{j}" for j in range(1, variations_per + 1)]
            parent = Product(
                pid,
                f"Variable {i}",
                f"variable-{i}",
                "variable",
                f"VAR-{i:04d}",
                created,
                created,
                attributes=[
                    {"name": "Size", "options": options, "position": 0, "visible": True, "variation": True}
                ],
            )
            store._insert_product(parent)
            for j, option in enumerate(options, start=1):
                vid = store._new_post_id()
                child = Product(
                    vid,
                    parent.name,
                    f"variable-{i}-{j}",
                    "variation",
                    f"VAR-{i:04d}-{j}",
                    created,
                    created,
                    regular_price=f"{rng.randint(1000, 9000) / 100:.2f}",
                    parent_id=pid,
                    attributes=[{"name": "Size", "option": option}],
                    manage_stock=True,
                    stock_quantity=rng.randint(0, 50),
                )
                WooStore._derive_stock_status(child)
                parent.variations.append(vid)
                store._insert_product(child)
                sellable.append(vid)
        cust_ids = []
        for i in range(1, customers + 1):
            store._user_id += 1
            email = f"customer{i}@example.test"
            bill = address(
                {
                    "first_name": "Cust",
                    "last_name": str(i),
                    "email": email,
                    "country": "US",
                    "state": "CA",
                    "city": "Oakland",
                    "postcode": "94601",
                    "address_1": f"{i} Main St",
                },
                BILLING_KEYS,
            )
            created = now - dt.timedelta(days=days + 1)
            store.customers[store._user_id] = Customer(
                store._user_id,
                email,
                "Cust",
                str(i),
                f"customer{i}",
                bill,
                address(bill, SHIPPING_KEYS),
                created,
                created,
            )
            cust_ids.append(store._user_id)
        for _ in range(orders):
            when = now - dt.timedelta(seconds=rng.randint(0, days * 86400))
            cid = rng.choice(cust_ids) if cust_ids and rng.random() < 0.7 else 0
            bill = (
                dict(store.customers[cid].billing)
                if cid
                else {
                    "first_name": "Guest",
                    "last_name": "Buyer",
                    "email": f"guest{rng.randint(1, 10**6)}@example.test",
                    "country": "US",
                    "state": "CA",
                }
            )
            lines = [
                {"product_id": rng.choice(sellable), "quantity": rng.randint(1, 3)}
                for _ in range(rng.randint(1, 4))
            ]
            lines = [
                {"variation_id": ln["product_id"], "quantity": ln["quantity"]}
                if store.products_by_id[ln["product_id"]].type == "variation"
                else ln
                for ln in lines
            ]
            order = store.new_order(
                {
                    "customer_id": cid,
                    "billing": bill,
                    "line_items": lines,
                    "status": rng.choice(["processing", "processing", "completed", "on-hold"]),
                    "shipping_lines": [{"method_id": "flat_rate", "total": "10.00"}],
                },
                date=when,
                effects=False,
            )
            order.stock_reduced = True
            if order.status in ("processing", "completed"):
                order.date_paid = when
        return {"products": simple + variable, "variations": variable * variations_per, "orders": orders}
