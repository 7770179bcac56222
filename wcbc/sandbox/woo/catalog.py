"""Catalogue and customer rules of the WooCommerce simulator (mixed into WooStore)."""

from __future__ import annotations

from typing import Any

from wcbc.sandbox.woo.model import (
    BILLING_KEYS,
    SHIPPING_KEYS,
    Customer,
    Meta,
    Product,
    RestError,
    address,
)
from wcbc.sandbox.woo.money import (
    dec,
    stored_price,
)


def _slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "product"


class CatalogMixin:
    """Products, variations, SKUs and customers; every method expects the store lock held."""

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
