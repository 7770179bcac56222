"""Sample and bulk data for the WooCommerce simulator (no webhooks fired)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.woo.model import (
    BILLING_KEYS,
    SHIPPING_KEYS,
    Coupon,
    Customer,
    Product,
    address,
)

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore


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
                store._derive_stock_status(product)
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
                store._derive_stock_status(child)
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
