"""Order rules of the WooCommerce simulator: creation, totals, payment, stock (mixed into WooStore)."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from decimal import Decimal
from typing import Any

from wcbc.sandbox.woo.model import (
    BILLING_KEYS,
    SHIPPING_KEYS,
    CouponLine,
    FeeLine,
    LineItem,
    Note,
    Order,
    Product,
    RestError,
    ShippingLine,
    TaxLine,
    Webhook,
    address,
)
from wcbc.sandbox.woo.money import (
    ZERO,
    CouponSpec,
    LineCalc,
    TaxRate,
    apply_coupons,
    calc_line,
    coupon_ex_tax_discount,
    dec,
    round_money,
    shipping_tax_class,
    tax_on,
)
from wcbc.sandbox.woo.render import coupon_info

STOCK_STATUSES = ("processing", "completed", "on-hold")


class OrdersMixin:
    """Orders, notes and webhooks records; every method expects the store lock held."""

    # ------------------------------------------------------------------ orders

    def rates_for(self, tax_class: str) -> list[TaxRate]:
        return [r for r in self.tax_rates if r.tax_class == tax_class]

    def shipping_class_for(self, order: Order) -> str | None:
        """The tax class shipping is taxed with: the store's ``shipping_tax_class``, or with ``inherit``
        the cart's class (standard if any taxable line is standard, else the first of the store's classes
        a taxable line has; None = untaxed shipping when no line is taxable)."""
        if self.shipping_tax_class != "inherit":
            return self.shipping_tax_class
        classes = [li.tax_class for li in order.line_items if li.taxable]
        return shipping_tax_class(classes, self.tax_class_slugs())

    def tax_class_slugs(self) -> list[str]:
        """The store's additional tax classes in their settings order (WooCommerce's defaults first)."""
        slugs = ["reduced-rate", "zero-rate"]
        for rate in self.tax_rates:
            if rate.tax_class and rate.tax_class not in slugs:
                slugs.append(rate.tax_class)
        return slugs

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
        ship_class = self.shipping_class_for(order)
        ship_rates = [] if ship_class is None else self.rates_for(ship_class)
        for sl in order.shipping_lines:
            sl.taxes = {}
            if sl.tax_status == "taxable":
                for rate in ship_rates:
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
            li.meta_data.remove(reduced)
            if not int(reduced["value"] or 0):
                continue  # every unit already went back with a refund
            product.stock_quantity = (product.stock_quantity or 0) + int(reduced["value"])
            self._derive_stock_status(product)
            product.date_modified = now
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
            self.set_status(order, str(data["status"]).removeprefix("wc-"))
        if data.get("set_paid"):
            self.payment_complete(order)
        order.date_modified = now

    def set_status(self, order: Order, new: str) -> None:
        """A status transition and its hooks (§8.2): paid/completed dates, stock reduced for processing,
        completed and on-hold, put back for cancelled and pending, ``wc_order_fully_refunded`` for
        refunded; nothing for failed."""
        old = order.status
        order.status = new
        if new == old:
            return
        now = self.now()
        if new in ("processing", "completed") and order.date_paid is None:
            order.date_paid = now
        if new == "completed":
            order.date_completed = now
        if new in STOCK_STATUSES:
            self.reduce_stock(order)
        elif new in ("cancelled", "pending"):
            self.restore_stock(order)
        elif new == "refunded":
            self.fully_refund(order)

    def add_note(
        self, order: Order, note: str, *, customer_note: bool = False, author: str = "admin"
    ) -> Note:
        self._note_id += 1
        entry = Note(self._note_id, note, customer_note, author, self.now())
        order.notes.append(entry)
        if customer_note and order.billing.get("email"):
            # woocommerce_new_customer_note: the "Customer note" e-mail goes out at once, for good
            self.emails.append(
                {
                    "to": order.billing["email"],
                    "template": "customer_note",
                    "order_id": order.id,
                    "note": note,
                    "date": entry.date_created.isoformat(),
                }
            )
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
