"""Renderers: records -> the JSON WooCommerce 10.0.2 returns (keys, types and order from the recordings)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.woo.model import (
    BILLING_KEYS,
    CUSTOMER_BILLING_KEYS,
    CUSTOMER_SHIPPING_KEYS,
    SHIPPING_KEYS,
    Coupon,
    Customer,
    FeeLine,
    LineItem,
    Meta,
    Note,
    Order,
    Product,
    Refund,
    ShippingLine,
    TaxLine,
    Webhook,
)
from wcbc.sandbox.woo.money import dec, fmt, fmt_trim, php_number

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore

ITEM_ALLOW = ["GET", "POST", "PUT", "PATCH", "DELETE"]
EDITABLE_STATUSES = ("pending", "on-hold", "auto-draft", "checkout-draft")
TOPIC_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
}


def wp_date(value: dt.datetime | None, store: WooStore, *, gmt: bool) -> str | None:
    if value is None:
        return None
    value = value.astimezone(dt.UTC) if gmt else value.astimezone(store.tz)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _dates(obj: Any, store: WooStore, name: str) -> dict[str, str | None]:
    value = getattr(obj, name)
    return {name: wp_date(value, store, gmt=False), f"{name}_gmt": wp_date(value, store, gmt=True)}


def _self_links(store: WooStore, path: str, collection: str, **extra: Any) -> dict[str, Any]:
    api = store.api_url
    links: dict[str, Any] = {
        "self": [{"href": f"{api}/{path}", "targetHints": {"allow": ITEM_ALLOW}}],
        "collection": [{"href": f"{api}/{collection}"}],
    }
    links.update(extra)
    return links


def meta_list(meta: list[Meta]) -> list[dict[str, Any]]:
    return [{"id": m.id, "key": m.key, "value": m.value} for m in meta]


# --------------------------------------------------------------------------- orders


def _taxes(taxes: dict[int, Any], dp: int, *, with_subtotal: bool) -> list[dict[str, Any]]:
    out = []
    for rate_id, value in taxes.items():
        if with_subtotal:
            total, subtotal = value
            out.append({"id": rate_id, "total": fmt(total, dp), "subtotal": fmt(subtotal, dp)})
        else:
            out.append({"id": rate_id, "total": fmt(value, dp), "subtotal": ""})
    return out


def render_line_item(li: LineItem, dp: int) -> dict[str, Any]:
    return {
        "id": li.id,
        "name": li.name,
        "product_id": li.product_id,
        "variation_id": li.variation_id,
        "quantity": li.quantity,
        "tax_class": li.tax_class,
        "subtotal": fmt(li.subtotal, dp),
        "subtotal_tax": fmt(li.subtotal_tax, dp),
        "total": fmt(li.total, dp),
        "total_tax": fmt(li.total_tax, dp),
        "taxes": _taxes(li.taxes, dp, with_subtotal=True),
        "meta_data": [dict(m) for m in li.meta_data],
        "sku": li.sku,
        "price": php_number(li.total / li.quantity) if li.quantity else 0,
        "image": {"id": li.image_id, "src": ""},
        "parent_name": li.parent_name,
    }


def render_tax_line(tl: TaxLine, dp: int) -> dict[str, Any]:
    return {
        "id": tl.id,
        "rate_code": tl.rate.rate_code,
        "rate_id": tl.rate.rate_id,
        "label": tl.rate.label,
        "compound": False,
        "tax_total": fmt(tl.tax_total, dp),
        "shipping_tax_total": fmt(tl.shipping_tax_total, dp),
        "rate_percent": tl.rate.percent_number,
        "meta_data": [],
    }


def render_shipping_line(sl: ShippingLine, dp: int) -> dict[str, Any]:
    return {
        "id": sl.id,
        "method_title": sl.method_title,
        "method_id": sl.method_id,
        "instance_id": sl.instance_id,
        "total": fmt(sl.total, dp),
        "total_tax": fmt(sl.total_tax, dp),
        "taxes": _taxes(sl.taxes, dp, with_subtotal=False),
        "tax_status": sl.tax_status,
        "meta_data": [dict(m) for m in sl.meta_data],
    }


def render_fee_line(fl: FeeLine, dp: int) -> dict[str, Any]:
    return {
        "id": fl.id,
        "name": fl.name,
        "tax_class": fl.tax_class,
        "tax_status": fl.tax_status,
        "amount": "",
        "total": fmt(fl.total, dp),
        "total_tax": fmt(fl.total_tax, dp),
        "taxes": _taxes(fl.taxes, dp, with_subtotal=False),
        "meta_data": [dict(m) for m in fl.meta_data],
    }


def render_refund(refund: Refund, store: WooStore) -> dict[str, Any]:
    """``/orders/{id}/refunds/{rid}`` (WC10 v2 refunds controller key order)."""
    dp = store.decimals
    api = store.api_url
    return {
        "id": refund.id,
        "date_created": wp_date(refund.date_created, store, gmt=False),
        "date_created_gmt": wp_date(refund.date_created, store, gmt=True),
        "amount": fmt(refund.amount, dp),
        "reason": refund.reason,
        "refunded_by": refund.refunded_by,
        "refunded_payment": refund.refunded_payment,
        "meta_data": meta_list(refund.meta_data),
        "line_items": [render_line_item(li, dp) for li in refund.line_items],
        "shipping_lines": [render_shipping_line(sl, dp) for sl in refund.shipping_lines],
        "tax_lines": [render_tax_line(tl, dp) for tl in refund.tax_lines],
        "fee_lines": [render_fee_line(fl, dp) for fl in refund.fee_lines],
        "_links": {
            "self": [
                {
                    "href": f"{api}/orders/{refund.parent_id}/refunds/{refund.id}",
                    "targetHints": {"allow": ["GET", "DELETE"]},
                }
            ],
            "collection": [{"href": f"{api}/orders/{refund.parent_id}/refunds"}],
            "up": [{"href": f"{api}/orders/{refund.parent_id}"}],
        },
    }


def render_order(order: Order, store: WooStore) -> dict[str, Any]:
    dp = store.decimals
    base = store.base_url
    body: dict[str, Any] = {
        "id": order.id,
        "parent_id": order.parent_id,
        "status": order.status,
        "currency": order.currency,
        "version": store.wc_version,
        "prices_include_tax": order.prices_include_tax,
        "date_created": wp_date(order.date_created, store, gmt=False),
        "date_modified": wp_date(order.date_modified, store, gmt=False),
        "discount_total": fmt(order.discount_total, dp),
        "discount_tax": fmt(order.discount_tax, dp),
        "shipping_total": fmt(order.shipping_total, dp),
        "shipping_tax": fmt(order.shipping_tax, dp),
        "cart_tax": fmt(order.cart_tax, dp),
        "total": fmt(order.total, dp),
        "total_tax": fmt(order.total_tax, dp),
        "customer_id": order.customer_id,
        "order_key": order.order_key,
        "billing": {k: order.billing.get(k, "") for k in BILLING_KEYS},
        "shipping": {k: order.shipping.get(k, "") for k in SHIPPING_KEYS},
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": order.transaction_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": order.created_via,
        "customer_note": order.customer_note,
        "date_completed": wp_date(order.date_completed, store, gmt=False),
        "date_paid": wp_date(order.date_paid, store, gmt=False),
        "cart_hash": "",
        "number": str(order.id),
        "meta_data": meta_list(order.meta_data),
        "line_items": [render_line_item(li, dp) for li in order.line_items],
        "tax_lines": [render_tax_line(tl, dp) for tl in order.tax_lines],
        "shipping_lines": [render_shipping_line(sl, dp) for sl in order.shipping_lines],
        "fee_lines": [render_fee_line(fl, dp) for fl in order.fee_lines],
        "coupon_lines": [
            {
                "id": cl.id,
                "code": cl.code,
                "discount": fmt_trim(cl.discount),
                "discount_tax": fmt(cl.discount_tax, dp),
                "meta_data": [dict(m) for m in cl.meta_data],
                "discount_type": cl.discount_type,
                "nominal_amount": php_number(cl.nominal_amount),
                "free_shipping": cl.free_shipping,
            }
            for cl in order.coupon_lines
        ],
        "refunds": [
            {"id": r.id, "reason": r.reason, "total": "-" + fmt(r.amount, dp)} for r in order.refunds
        ],
        "payment_url": f"{base}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
        "is_editable": order.status in EDITABLE_STATUSES,
        "needs_payment": order.status in ("pending", "failed") and order.total > 0,
        "needs_processing": True,
        "date_created_gmt": wp_date(order.date_created, store, gmt=True),
        "date_modified_gmt": wp_date(order.date_modified, store, gmt=True),
        "date_completed_gmt": wp_date(order.date_completed, store, gmt=True),
        "date_paid_gmt": wp_date(order.date_paid, store, gmt=True),
        "currency_symbol": store.currency_symbol(order.currency),
    }
    links = _self_links(store, f"orders/{order.id}", "orders")
    links["email_templates"] = [
        {"embeddable": True, "href": f"{store.api_url}/orders/{order.id}/actions/email_templates"}
    ]
    if order.customer_id:
        links["customer"] = [{"href": f"{store.api_url}/customers/{order.customer_id}"}]
    body["_links"] = links
    return body


def render_note(order: Order, note: Note, store: WooStore) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": note.author,
        "date_created": wp_date(note.date_created, store, gmt=False),
        "date_created_gmt": wp_date(note.date_created, store, gmt=True),
        "note": note.note,
        "customer_note": note.customer_note,
        "_links": {
            "self": [
                {
                    "href": f"{store.api_url}/orders/{order.id}/notes/{note.id}",
                    "targetHints": {"allow": ["GET", "DELETE"]},
                }
            ],
            "collection": [{"href": f"{store.api_url}/orders/{order.id}/notes"}],
            "up": [{"href": f"{store.api_url}/orders/{order.id}"}],
        },
    }


# --------------------------------------------------------------------------- products


def wpautop(text: str) -> str:
    """WordPress wpautop, as the view context applies to descriptions (``<p>text</p>\n``)."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br />\n") + "</p>\n" for p in paragraphs)


def _price_html(store: WooStore, amount: str) -> str:
    sym = store.currency_symbol_html()
    return (
        '<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">'
        f"{sym}</span>{fmt(amount, store.decimals)}</bdi></span>"
    )


def _range_html(store: WooStore, low: str, high: str) -> str:
    sym = store.currency_symbol_html()
    lo, hi = fmt(low, store.decimals), fmt(high, store.decimals)

    def amount(value: str) -> str:
        return (
            '<span class="woocommerce-Price-amount amount" aria-hidden="true"><bdi>'
            f'<span class="woocommerce-Price-currencySymbol">{sym}</span>{value}</bdi></span>'
        )

    return (
        f'{amount(lo)} <span aria-hidden="true">&ndash;</span> {amount(hi)}'
        f'<span class="screen-reader-text">Price range: {sym}{lo} through {sym}{hi}</span>'
    )


def _variable_summary(product: Product, store: WooStore) -> dict[str, Any]:
    children = [store.products_by_id[v] for v in product.variations if v in store.products_by_id]
    prices = [c.active_price() for c in children if c.active_price() != "" and c.status == "publish"]
    if prices:
        low = min(prices, key=dec)
        high = max(prices, key=dec)
        price_html = _price_html(store, low) if dec(low) == dec(high) else _range_html(store, low, high)
    else:
        low = ""
        price_html = ""
    in_stock = any(c.stock_status != "outofstock" for c in children)
    return {
        "price": low,
        "on_sale": any(c.on_sale() for c in children),
        "purchasable": bool(prices),
        "price_html": price_html,
        "stock_status": "instock" if in_stock else "outofstock",
    }


def _stock_flags(product: Product) -> tuple[bool, bool]:
    allowed = product.backorders != "no"
    backordered = bool(product.manage_stock and allowed and (product.stock_quantity or 0) < 0)
    return allowed, backordered


def render_product(product: Product, store: WooStore, *, edit: bool = False) -> dict[str, Any]:
    """The /products/{id} shape (71 keys; 73 with ``edit`` as write responses carry)."""
    base = store.base_url
    is_var = product.type == "variation"
    parent = store.products_by_id.get(product.parent_id) if is_var else None
    if product.type == "variable":
        summary = _variable_summary(product, store)
        price, on_sale, purchasable = summary["price"], summary["on_sale"], summary["purchasable"]
        price_html, stock_status = summary["price_html"], summary["stock_status"]
        regular, sale = "", ""
    else:
        price = product.active_price()
        on_sale = product.on_sale()
        purchasable = price != "" and product.status == "publish"
        price_html = _price_html(store, price) if price != "" else ""
        stock_status = product.stock_status
        regular, sale = product.regular_price, product.sale_price
    if parent is not None:
        option = product.attributes[0]["option"] if product.attributes else ""
        slug_attr = product.attributes[0]["name"].lower() if product.attributes else ""
        permalink = f"{base}/product/{parent.slug}/?attribute_{slug_attr}={option}"
        name = f"{parent.name} - {option}" if option else parent.name
    else:
        permalink = f"{base}/product/{product.slug}/"
        name = product.name
    allowed, backordered = _stock_flags(product)
    attributes: list[dict[str, Any]]
    if is_var:
        attributes = [
            {"id": 0, "name": a["name"], "slug": a["name"].lower(), "option": a["option"]}
            for a in product.attributes
        ]
    else:
        attributes = [
            {
                "id": 0,
                "name": a["name"],
                "slug": a["name"],
                "position": a.get("position", i),
                "visible": a.get("visible", True),
                "variation": a.get("variation", True),
                "options": list(a.get("options", [])),
            }
            for i, a in enumerate(product.attributes)
        ]
    body: dict[str, Any] = {
        "id": product.id,
        "name": name,
        "slug": product.slug,
        "permalink": permalink,
        **_dates(product, store, "date_created"),
        **_dates(product, store, "date_modified"),
        "type": product.type,
        "status": product.status,
        "featured": False,
        "catalog_visibility": "visible",
        "description": product.description if edit else wpautop(product.description),
        "short_description": product.short_description if edit else wpautop(product.short_description),
        "sku": product.sku,
        "price": price,
        "regular_price": regular,
        "sale_price": sale,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": on_sale,
        "purchasable": purchasable,
        "total_sales": str(product.total_sales) if is_var else product.total_sales,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": product.tax_status,
        "tax_class": product.tax_class,
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity if product.manage_stock else None,
        "backorders": product.backorders,
        "backorders_allowed": allowed,
        "backordered": backordered,
        "low_stock_amount": None,
        "sold_individually": False,
        "weight": product.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "shipping_taxable": product.tax_status in ("taxable", "shipping"),
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": not is_var,
        "average_rating": "0" if edit else "0.00",
        "rating_count": 0,
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": product.parent_id,
        "purchase_note": "",
        "categories": [] if is_var else [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
        "brands": [],
        "tags": [],
        "images": [],
        "attributes": attributes,
        "default_attributes": [],
        "variations": list(product.variations),
        "grouped_products": [],
        "menu_order": product.menu_order,
        "price_html": price_html,
        "related_ids": [] if is_var else store.related_ids(product.id),
        "meta_data": meta_list(product.meta_data),
        "stock_status": stock_status,
        "has_options": product.type == "variable",
        "post_password": "",
        "global_unique_id": "",
    }
    if edit:
        body["permalink_template"] = f"{base}/product/%pagename%/"
        body["generated_slug"] = product.slug
    links = _self_links(store, f"products/{product.id}", "products")
    if is_var:
        links["up"] = [{"href": f"{store.api_url}/products/{product.parent_id}"}]
    body["_links"] = links
    return body


def render_variation(product: Product, store: WooStore, *, edit: bool = False) -> dict[str, Any]:
    """The /products/{p}/variations/{id} shape (45 keys)."""
    parent = store.products_by_id.get(product.parent_id)
    parent_slug = parent.slug if parent else ""
    option = product.attributes[0]["option"] if product.attributes else ""
    attr_slug = product.attributes[0]["name"].lower() if product.attributes else ""
    allowed, backordered = _stock_flags(product)
    body: dict[str, Any] = {
        "id": product.id,
        "type": "variation",
        **_dates(product, store, "date_created"),
        **_dates(product, store, "date_modified"),
        "description": product.description if edit else wpautop(product.description),
        "permalink": f"{store.base_url}/product/{parent_slug}/?attribute_{attr_slug}={option}",
        "sku": product.sku,
        "global_unique_id": "",
        "price": product.active_price(),
        "regular_price": product.regular_price,
        "sale_price": product.sale_price,
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": product.on_sale(),
        "status": product.status,
        "purchasable": product.active_price() != "" and product.status == "publish",
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": product.tax_status,
        "tax_class": (product.tax_class or "parent") if edit else product.tax_class,
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity if product.manage_stock else None,
        "stock_status": product.stock_status,
        "backorders": product.backorders,
        "backorders_allowed": allowed,
        "backordered": backordered,
        "low_stock_amount": None,
        "weight": product.weight,
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [
            {"id": 0, "name": a["name"], "slug": a["name"].lower(), "option": a["option"]}
            for a in product.attributes
        ],
        "menu_order": product.menu_order,
        "meta_data": meta_list(product.meta_data),
        "name": option,
        "parent_id": product.parent_id,
        "_links": _self_links(
            store,
            f"products/{product.parent_id}/variations/{product.id}",
            f"products/{product.parent_id}/variations",
            up=[{"href": f"{store.api_url}/products/{product.parent_id}"}],
        ),
    }
    return body


# --------------------------------------------------------------------------- customers, coupons, webhooks


def render_customer(customer: Customer, store: WooStore) -> dict[str, Any]:
    digest = hashlib.sha256(customer.email.strip().lower().encode()).hexdigest()
    return {
        "id": customer.id,
        **_dates(customer, store, "date_created"),
        **_dates(customer, store, "date_modified"),
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "role": customer.role,
        "username": customer.username,
        "billing": {k: customer.billing.get(k, "") for k in CUSTOMER_BILLING_KEYS},
        "shipping": {k: customer.shipping.get(k, "") for k in CUSTOMER_SHIPPING_KEYS},
        "is_paying_customer": customer.is_paying_customer,
        "avatar_url": f"https://secure.gravatar.com/avatar/{digest}?s=96&d=mm&r=g",
        "meta_data": meta_list(customer.meta_data),
        "_links": _self_links(store, f"customers/{customer.id}", "customers"),
    }


def render_coupon(coupon: Coupon, store: WooStore) -> dict[str, Any]:
    dp = store.decimals
    return {
        "id": coupon.id,
        "code": coupon.code,
        "amount": fmt(coupon.amount, dp),
        "status": "publish",
        **_dates(coupon, store, "date_created"),
        **_dates(coupon, store, "date_modified"),
        "discount_type": coupon.discount_type,
        "description": "",
        "date_expires": None,
        "date_expires_gmt": None,
        "usage_count": coupon.usage_count,
        "individual_use": False,
        "product_ids": [],
        "excluded_product_ids": [],
        "usage_limit": None,
        "usage_limit_per_user": None,
        "limit_usage_to_x_items": None,
        "free_shipping": coupon.free_shipping,
        "product_categories": [],
        "excluded_product_categories": [],
        "exclude_sale_items": False,
        "minimum_amount": fmt(0, dp),
        "maximum_amount": fmt(0, dp),
        "email_restrictions": [],
        "used_by": [],
        "meta_data": [],
        "_links": _self_links(store, f"coupons/{coupon.id}", "coupons"),
    }


def coupon_info(coupon: Coupon) -> str:
    return json.dumps(
        [coupon.id, coupon.code, coupon.discount_type, php_number(coupon.amount)], separators=(",", ":")
    )


def render_webhook(webhook: Webhook, store: WooStore) -> dict[str, Any]:
    resource, _, event = webhook.topic.partition(".")
    return {
        "id": webhook.id,
        "name": webhook.name,
        "status": webhook.status,
        "topic": webhook.topic,
        "resource": resource,
        "event": event,
        "hooks": list(
            TOPIC_HOOKS.get(
                webhook.topic,
                [webhook.topic[len("action.") :]] if webhook.topic.startswith("action.") else [],
            )
        ),
        "delivery_url": webhook.delivery_url,
        **_dates(webhook, store, "date_created"),
        **_dates(webhook, store, "date_modified"),
        "_links": _self_links(store, f"webhooks/{webhook.id}", "webhooks"),
    }
