"""The item planner with plain data: BC items, product dicts, reservations. No HTTP, no state."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from wcbc.core.config import ItemsConfig, OrdersConfig, WooConfig
from wcbc.core.errors import ConfigError
from wcbc.sync.items.catalog import WooProduct
from wcbc.sync.items.plan import ItemPlan, plan_item, screen
from wcbc.sync.items.read import BCItem
from wcbc.sync.items.reservations import Reservations

CONFIG = SimpleNamespace(woocommerce=WooConfig(url="https://shop.example"), items=ItemsConfig(),
                         orders=OrdersConfig())
NONE_HELD = Reservations()


def item(number: str = "MUG-001", price: Any = "12.50", inventory: Any = 10, **fields: Any) -> BCItem:
    data = {"id": "00000000-0000-0000-0000-000000000001", "number": number, "displayName": number,
            "type": "Inventory", "unitPrice": Decimal(str(price)), "inventory": Decimal(str(inventory)),
            "blocked": False, "priceIncludesTax": False, "lastModifiedDateTime": "2026-01-05T10:00:00Z",
            **fields}
    return BCItem.from_api(data)


def product(pid: int = 7, sku: str = "MUG-001", price: str | None = "12.50", stock: int | None = 10,
            **fields: Any) -> WooProduct:
    data = {"id": pid, "sku": sku, "type": "simple", "regular_price": price,
            "manage_stock": stock is not None, "stock_quantity": stock, **fields}
    return WooProduct.from_api(data)


def bodies(plan: ItemPlan) -> list[dict[str, Any]]:
    return [w.body for w in plan.writes]


def test_price_change_is_one_write_keyed_by_the_product_id() -> None:
    plan = plan_item(item(price="13.75"), [product()], NONE_HELD, CONFIG)
    assert plan.decision == "update"
    assert bodies(plan) == [{"id": 7, "regular_price": "13.75"}]
    write = plan.writes[0]
    assert (write.record, write.action, write.system, write.key) == ("item:MUG-001", "update_product",
                                                                     "woocommerce", "7")
    assert plan.updates[0].before == {"regular_price": "12.50"} and plan.updates[0].parent == 0


def test_stock_change_subtracts_open_and_unbooked_quantities() -> None:
    held = Reservations(open={"MUG-001": Decimal(2)}, unbooked={"MUG-001": Decimal("1")})
    plan = plan_item(item(inventory=10), [product(stock=10)], held, CONFIG)
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 7}]
    # Stock not managed yet in the store: turned on together with the quantity.
    plan = plan_item(item(inventory=4), [product(stock=None)], NONE_HELD, CONFIG)
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 4}]


def test_a_service_item_gets_a_price_and_never_stock() -> None:
    plan = plan_item(item(price="80", inventory=0, type="Service"), [product(price="70.00", stock=None)],
                     Reservations(open={"MUG-001": Decimal(5)}), CONFIG)
    assert bodies(plan) == [{"id": 7, "regular_price": "80.00"}]


def test_variable_parent_is_never_priced_its_variation_is_written_through_its_parent() -> None:
    parent = product(10, "HOODIE", price="", stock=None, type="variable")
    variation = WooProduct.from_api({"id": 11, "sku": "HOODIE", "regular_price": "40.00",
                                     "manage_stock": True, "stock_quantity": 10}, parent_id=10)
    plan = plan_item(item("HOODIE", price="45", inventory=10), [parent, variation], NONE_HELD, CONFIG)
    assert plan.unchanged == [parent]  # no price, no stock (it does not manage stock itself)
    assert bodies(plan) == [{"id": 11, "regular_price": "45.00"}]
    assert plan.updates[0].parent == 10 and plan.writes[0].action == "update_variation"
    # A parent that manages stock itself gets the stock, still no price.
    managed = product(10, "HOODIE", price="", stock=3, type="variable")
    plan = plan_item(item("HOODIE", price="45", inventory=10), [managed], NONE_HELD, CONFIG)
    assert bodies(plan) == [{"id": 10, "manage_stock": True, "stock_quantity": 10}]


def test_zero_price_is_skipped_never_written_as_zero() -> None:
    plan = plan_item(item(price="0"), [product()], NONE_HELD, CONFIG)
    assert plan.decision == "skipped" and plan.writes == []
    assert plan.reason == "the item has no price (0) in Business Central"


def test_blocked_item_is_skipped_when_its_product_is_already_out_of_stock() -> None:
    sold_out = product(price="1.00", stock=0, stock_status="outofstock")
    plan = plan_item(item(blocked=True, price="99"), [sold_out], NONE_HELD, CONFIG)
    assert plan.decision == "skipped" and plan.writes == []
    assert "blocked" in (plan.reason or "")


def test_unknown_sku_names_the_sku_the_item_sells_under() -> None:
    plan = plan_item(item("1000"), [], NONE_HELD, CONFIG, sku="WEB-CHAIR")
    assert plan.decision == "unknown" and plan.writes == []
    assert plan.reason == "no WooCommerce product or variation has SKU 'WEB-CHAIR'"


def test_unchanged_when_price_and_stock_agree_as_numbers() -> None:
    plan = plan_item(item(price="12.5", inventory="10.7"), [product(price="12.50", stock=10)], NONE_HELD,
                     CONFIG)
    assert plan.decision == "unchanged" and plan.writes == [] and plan.unchanged == [product(price="12.50",
                                                                                              stock=10)]


def test_held_item_is_left_alone_before_anything_else() -> None:
    plan = plan_item(item(blocked=True), [product(price="1.00")], NONE_HELD, CONFIG, held=True)
    assert plan.decision == "held" and plan.writes == []
    assert screen(item(), CONFIG) is None


def test_tax_conversion_without_a_rate_is_a_config_error() -> None:
    config = SimpleNamespace(woocommerce=CONFIG.woocommerce, items=ItemsConfig(prices_include_tax=True),
                             orders=CONFIG.orders)
    with pytest.raises(ConfigError):
        plan_item(item(), [product()], NONE_HELD, config)
    config.items = ItemsConfig(prices_include_tax=True, tax_rate=Decimal(20))
    assert bodies(plan_item(item(price="10"), [product(price="10.00")], NONE_HELD, config)) == [
        {"id": 7, "regular_price": "12.00"}]
