"""The item planner's rules with plain data: a skipped price never stops the stock; a blocked item's
products are made not purchasable and put back on unblock; the rate of each item's tax group; hostile
values fail their item alone."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tests.sync.items.test_plan import CONFIG, NONE_HELD, bodies, item, product
from wcbc.core.config import ItemsConfig
from wcbc.core.errors import ConfigError
from wcbc.sync.items.catalog import WooProduct
from wcbc.sync.items.plan import plan_item, target_for
from wcbc.sync.items.read import BCItem
from wcbc.sync.items.reservations import Reservations


def config(**items: Any) -> SimpleNamespace:
    return SimpleNamespace(woocommerce=CONFIG.woocommerce, items=ItemsConfig(**items), orders=CONFIG.orders)


# ------------------------------------------------------------------ a skipped price never stops the stock


@pytest.mark.parametrize("price", ["0", "-3"])
def test_no_price_the_stock_is_still_pushed(price: str) -> None:
    sold_out = product(price="3.00", stock=0, stock_status="outofstock")
    plan = plan_item(item(price=price, inventory=8), [sold_out], NONE_HELD, CONFIG)
    assert plan.decision == "update" and plan.failure is None
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 8, "stock_status": "instock"}]
    assert plan.price_note == "the item has no price (0) in Business Central"


def test_no_price_and_stock_right_is_skipped_with_the_price_reason() -> None:
    plan = plan_item(item(price="0", inventory=10), [product(stock=10)], NONE_HELD, CONFIG)
    assert plan.decision == "skipped" and plan.writes == []
    assert plan.reason == "the item has no price (0) in Business Central"


# ------------------------------------------------------------------ blocked: not purchasable, then restored


def test_blocked_managed_product_gets_stock_0_out_of_stock_and_no_backorders() -> None:
    on_backorder = product(price="12.50", stock=6, stock_status="instock", backorders="notify")
    plan = plan_item(item(blocked=True, inventory=6), [on_backorder], NONE_HELD, CONFIG)
    assert plan.decision == "update" and plan.price_note == "the item is blocked in Business Central"
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 0, "stock_status": "outofstock",
                             "backorders": "no"}]
    # What the block changed is remembered (in the link) for the unblock to put back.
    assert plan.updates[0].restore == {"stock_status": "instock", "backorders": "notify"}
    assert "not purchasable" in plan.writes[0].note


def test_blocked_unmanaged_product_of_a_service_gets_out_of_stock_only() -> None:
    service = item(price="80", inventory=0, type="Service", blocked=True)
    plan = plan_item(service, [product(price="80.00", stock=None, stock_status="instock")], NONE_HELD, CONFIG)
    assert bodies(plan) == [{"id": 7, "stock_status": "outofstock"}]
    assert plan.updates[0].restore == {"stock_status": "instock"}


def test_blocked_variable_parent_gets_no_status_its_variations_do() -> None:
    parent = product(10, "HOODIE", price="", stock=None, type="variable", stock_status="instock")
    variation = WooProduct.from_api({"id": 11, "sku": "HOODIE", "regular_price": "40.00",
                                     "manage_stock": True, "stock_quantity": 4, "stock_status": "instock"},
                                    parent_id=10)
    plan = plan_item(item("HOODIE", blocked=True), [parent, variation], NONE_HELD, CONFIG)
    assert plan.unchanged == [parent]
    assert bodies(plan) == [{"id": 11, "manage_stock": True, "stock_quantity": 0,
                             "stock_status": "outofstock"}]


def test_a_second_block_keeps_what_the_first_one_changed() -> None:
    blocked = product(stock=3, stock_status="instock", backorders="no")  # stock edited by hand while blocked
    blocked.restore = {"stock_status": "instock", "backorders": "yes"}
    plan = plan_item(item(blocked=True), [blocked], NONE_HELD, CONFIG)
    assert plan.updates[0].restore == {"stock_status": "instock", "backorders": "yes"}


def test_unblocked_the_real_stock_and_what_the_block_changed_come_back() -> None:
    was_blocked = product(stock=0, stock_status="outofstock", backorders="no")
    was_blocked.restore = {"stock_status": "instock", "backorders": "notify"}
    plan = plan_item(item(inventory=9), [was_blocked], NONE_HELD, CONFIG)
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 9, "stock_status": "instock",
                             "backorders": "notify"}]
    assert plan.updates[0].restore is None and plan.price_note is None


def test_unblocked_service_gets_its_status_back_only_when_the_block_set_it() -> None:
    service = item(price="80", inventory=0, type="Service")
    ours = product(price="80.00", stock=None, stock_status="outofstock")
    ours.restore = {"stock_status": "instock"}
    assert bodies(plan_item(service, [ours], NONE_HELD, CONFIG)) == [{"id": 7, "stock_status": "instock"}]
    by_hand = product(price="80.00", stock=None, stock_status="outofstock")  # set out of stock by the shop
    assert plan_item(service, [by_hand], NONE_HELD, CONFIG).decision == "unchanged"


# ------------------------------------------------------------------ the rate of each item's tax group


def test_each_tax_group_converts_with_its_own_rate() -> None:
    cfg = config(prices_include_tax=True, tax_rate=Decimal("7.25"),
                 tax_rates={"TAXABLE": Decimal("7.25"), "REDUCED": Decimal("5")})
    reduced = plan_item(item(price="100", taxGroupCode="REDUCED"), [product(price="1.00")], NONE_HELD, cfg)
    assert bodies(reduced) == [{"id": 7, "regular_price": "105.00"}]
    lower = plan_item(item(price="100", taxGroupCode="reduced"), [product(price="1.00")], NONE_HELD, cfg)
    assert bodies(lower) == [{"id": 7, "regular_price": "105.00"}]  # BC codes compare upper-cased
    other = plan_item(item(price="100", taxGroupCode="LUXURY"), [product(price="1.00")], NONE_HELD, cfg)
    assert bodies(other) == [{"id": 7, "regular_price": "107.25"}]  # tax_rate: every other group


def test_a_group_in_neither_key_skips_the_price_names_the_group_and_the_key_stock_still_pushed() -> None:
    cfg = config(prices_include_tax=True, tax_rates={"TAXABLE": Decimal("7.25")})
    plan = plan_item(item(price="100", inventory=4, taxGroupCode="REDUCED"), [product(price="1.00", stock=9)],
                     NONE_HELD, cfg)
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 4}]
    assert plan.failure is None and plan.price_note is not None
    assert "REDUCED" in plan.price_note and "[items] tax_rates" in plan.price_note
    assert "items.tax_rate" in plan.price_note


def test_no_rate_configured_at_all_is_still_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        plan_item(item(taxGroupCode="REDUCED"), [product()], NONE_HELD, config(prices_include_tax=True))
    assert info.value.key == "items.tax_rate"


def test_no_conversion_needs_no_rate() -> None:
    cfg = config(tax_rates={"TAXABLE": Decimal("7.25")})
    plan = plan_item(item(price="100", taxGroupCode="ODD"), [product(price="1.00")], NONE_HELD, cfg)
    assert bodies(plan) == [{"id": 7, "regular_price": "100.00"}]


# ------------------------------------------------------------------ hostile values fail their item alone


def raw_item(**fields: Any) -> BCItem:
    data = {"id": "00000000-0000-0000-0000-000000000001", "number": "MUG-001", "displayName": "Mug",
            "type": "Inventory", "unitPrice": 12.5, "inventory": 10, "blocked": False,
            "priceIncludesTax": False, "taxGroupCode": "TAXABLE",
            "lastModifiedDateTime": "2026-01-05T10:00:00Z", **fields}
    return BCItem.from_api(data)


@pytest.mark.parametrize("price", [float("nan"), float("inf"), float("-inf"), "1e309", 10**309, "1e16",
                                   "abc", [1], {"a": 1}, True])
def test_hostile_price_fails_the_item_its_stock_is_still_planned(price: Any) -> None:
    plan = plan_item(raw_item(unitPrice=price, inventory=4), [product(stock=9)], NONE_HELD, CONFIG)
    assert plan.failure is not None and "unitPrice" in plan.failure
    assert bodies(plan) == [{"id": 7, "manage_stock": True, "stock_quantity": 4}]


@pytest.mark.parametrize("inventory", [float("nan"), "-inf", "1e309", -(10**20), "lots", [3]])
def test_hostile_inventory_fails_the_item_its_price_is_still_planned(inventory: Any) -> None:
    plan = plan_item(raw_item(unitPrice="13.75", inventory=inventory), [product()], NONE_HELD, CONFIG)
    assert plan.failure is not None and "stock not written" in plan.failure
    assert bodies(plan) == [{"id": 7, "regular_price": "13.75"}]


@pytest.mark.parametrize("fields", [{"blocked": "yes"}, {"blocked": 1}, {"priceIncludesTax": "no"},
                                    {"taxGroupCode": 5}])
def test_wrong_types_fail_the_item_with_their_field(fields: dict[str, Any]) -> None:
    cfg = config(prices_include_tax=True, tax_rate=Decimal(20))
    plan = plan_item(raw_item(**fields), [product()], NONE_HELD, cfg)
    assert plan.failure is not None and next(iter(fields)) in plan.failure


def test_hostile_blocked_flag_writes_nothing() -> None:
    plan = plan_item(raw_item(blocked="yes"), [product(price="1.00", stock=0)], NONE_HELD, CONFIG)
    assert plan.decision == "failed" and plan.writes == [] and "blocked" in (plan.reason or "")


def test_a_hostile_reserved_quantity_fails_only_that_items_stock() -> None:
    held = Reservations(bad={"MUG-001": "web order 9: quantity: not a number: 'NaN'"})
    plan = plan_item(item(price="13.75"), [product()], held, CONFIG)
    assert "web order 9" in (plan.failure or "") and bodies(plan) == [{"id": 7, "regular_price": "13.75"}]
    other = plan_item(item("CUP-1", price="5"), [product(sku="CUP-1", price="5.00", stock=10)], held, CONFIG)
    assert other.failure is None and other.decision == "unchanged"


def test_target_never_raises_for_an_item_value() -> None:
    target = target_for(raw_item(unitPrice=object(), inventory=object(), type=None), NONE_HELD, CONFIG)
    assert target.failure is not None and target.price is None and target.quantity is None
