"""Item side: sellable stock, store prices, minimal product updates, open and unbooked quantities."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.contracts import CONTRACTS  # noqa: E402
from wcbc.core.errors import ConfigError
from wcbc.sync.items.stock import (
    StorePrice,
    open_quantities,
    price_for_store,
    product_changes,
    sellable_stock,
    unbooked_quantities,
)

REST = CONTRACTS / "woocommerce" / "real-store" / "rest"


def recorded(name: str) -> Any:
    return json.loads((REST / f"{name}.body.json").read_text(encoding="utf-8"))


def apply(product: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    return {**product, **{k: v for k, v in change.items() if k != "id"}}


# ---------------------------------------------------------------------------------- sellable stock


def test_sellable_stock() -> None:
    assert sellable_stock(25, 3, 2) == 20
    assert sellable_stock(Decimal("10.7"), Decimal("0.5"), 0) == 10  # floor of 10.2
    assert sellable_stock("5", "6", "0") == 0  # never negative
    assert sellable_stock(-4, 0, 0) == 0
    assert sellable_stock(7, -3, -1) == 7  # a negative open quantity cannot add stock
    assert sellable_stock(Decimal("0.99")) == 0
    with pytest.raises(ValueError):
        sellable_stock("lots")


# -------------------------------------------------------------------------------------- prices


def test_price_same_tax_basis() -> None:
    result = price_for_store(Decimal("12.5"), bc_includes_tax=False, store_includes_tax=False, tax_rate=None,
                             decimals=2)
    assert result == StorePrice("12.50") and not result.skipped
    assert price_for_store(10, bc_includes_tax=True, store_includes_tax=True, tax_rate=None,
                           decimals=0).price == "10"
    assert price_for_store(4.995, bc_includes_tax=False, store_includes_tax=False, tax_rate=None,
                           decimals=2).price == "5.00"  # half up


def test_price_converted_between_net_and_gross() -> None:
    gross = price_for_store("100", bc_includes_tax=False, store_includes_tax=True, tax_rate=Decimal("20"),
                            decimals=2)
    assert gross.price == "120.00"
    net = price_for_store("119.99", bc_includes_tax=True, store_includes_tax=False, tax_rate="20", decimals=2)
    assert net.price == "99.99"  # 99.9916 rounded
    assert price_for_store("42.00", bc_includes_tax=False, store_includes_tax=True, tax_rate=7.25,
                           decimals=2).price == "45.05"  # 45.045 half up


def test_price_needs_a_tax_rate_when_the_bases_differ() -> None:
    with pytest.raises(ConfigError) as info:
        price_for_store("10", bc_includes_tax=True, store_includes_tax=False, tax_rate=None, decimals=2)
    assert info.value.key == "items.tax_rate"
    with pytest.raises(ConfigError):
        price_for_store("10", bc_includes_tax=True, store_includes_tax=False, tax_rate="-5", decimals=2)


def test_price_skips() -> None:
    for value in (0, "0.00", -3, None, ""):
        result = price_for_store(value, bc_includes_tax=False, store_includes_tax=False, tax_rate=None,
                                 decimals=2)
        assert result.price is None and result.skipped and "0" in (result.skip_reason or "")
    same: dict[str, Any] = {"bc_includes_tax": False, "store_includes_tax": False, "tax_rate": None,
                            "decimals": 2}
    blocked = price_for_store("10", **same, blocked=True)
    assert blocked.price is None and "blocked" in (blocked.skip_reason or "")
    tiny = price_for_store("0.004", **same)
    assert tiny.skipped
    odd = price_for_store("abc", **same)
    assert odd.skipped


# ---------------------------------------------------------------------------------- product changes


def test_product_changes_on_recorded_products() -> None:
    mug = recorded("product-managed-stock-create")  # regular_price "12.50", manage_stock, 25
    assert product_changes(mug, price="12.5", stock=25) == {}  # compared as numbers
    assert product_changes(mug, price="12.50", stock=22) == {"id": 11, "manage_stock": True,
                                                             "stock_quantity": 22}
    assert product_changes(mug, price="13.00", stock=None) == {"id": 11, "regular_price": "13.00"}
    tshirt = recorded("product-simple-create")  # stock not managed
    change = product_changes(tshirt, price="20.00", stock=4)
    assert change == {"id": 10, "manage_stock": True, "stock_quantity": 4}
    assert product_changes(apply(tshirt, change), price="20.00", stock=4) == {}
    hoodie = recorded("product-retrieve-variable")
    assert product_changes(hoodie, price="50.00", stock=None) == {}  # never a price on a variable parent
    variation = recorded("variation-create-M")  # on sale: regular 47, sale 42
    change = product_changes(variation, price="48.00", stock=5)
    assert change == {"id": 14, "regular_price": "48.00"}  # sale_price left alone


def test_product_changes_edge_cases() -> None:
    product = {"id": 5, "type": "simple", "regular_price": "", "manage_stock": False, "stock_quantity": None}
    assert product_changes(product, price="9.99", stock=0) == {
        "id": 5, "regular_price": "9.99", "manage_stock": True, "stock_quantity": 0}
    assert product_changes(product, price=None, stock=None) == {}
    assert product_changes({"id": 6, "type": "grouped"}, price="1.00", stock=3) == {}
    assert product_changes({"id": 7, "type": "external", "regular_price": "1"}, price="2.00", stock=3) == {
        "id": 7, "regular_price": "2.00"}
    parent_managed = {"id": 8, "type": "variation", "manage_stock": "parent", "stock_quantity": 4,
                      "regular_price": "1.00"}
    assert product_changes(parent_managed, price="1", stock=4) == {"id": 8, "manage_stock": True,
                                                                   "stock_quantity": 4}
    assert product_changes({"id": 9, "manage_stock": True, "stock_quantity": 4.0}, price=None, stock=4) == {}
    with pytest.raises(ValueError):
        product_changes(product, price="abc", stock=None)
    with pytest.raises(ValueError):
        product_changes(product, price=None, stock=2.5)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- open / unbooked


def test_open_quantities_from_bc_sales_orders() -> None:
    orders = [
        {"number": "S-1", "salesOrderLines": [
            {"lineType": "Comment", "description": "WooCommerce order #16"},
            {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "shippedQuantity": 0},
            {"lineType": "Item", "lineObjectNumber": "HOODIE-M", "quantity": 3, "shippedQuantity": 1},
            {"lineType": "Account", "lineObjectNumber": "6130", "quantity": 1, "shippedQuantity": 0},
        ]},
        {"number": "S-2", "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "tshirt-001", "quantity": 1.5, "shippedQuantity": 0},
            {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 2, "shippedQuantity": 2},
        ]},
        {"number": "I-1", "status": "Draft", "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 4}]},
        {"number": "I-2", "status": "Open", "salesInvoiceLines": [  # posted: inventory already lowered
            {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 9}]},
        {"number": "S-3"},  # no lines expanded
    ]
    assert open_quantities(orders) == {"TSHIRT-001": Decimal("3.5"), "HOODIE-M": Decimal(2),
                                       "MUG-001": Decimal(4)}
    assert open_quantities([]) == {}


def test_unbooked_quantities() -> None:
    customer = recorded("order-retrieve-customer")  # 16: TSHIRT-001 x2, HOODIE-M x1
    guest = recorded("order-retrieve-guest")  # 17: MUG-001 x3
    fee = recorded("order-retrieve-fee")  # 18: HOODIE-S x1 (on-hold still holds stock)
    assert unbooked_quantities([customer, guest, fee], booked_order_ids=["16"]) == {
        "MUG-001": Decimal(3), "HOODIE-S": Decimal(1)}
    assert unbooked_quantities([customer, guest, fee], booked_order_ids=[16, 17, 18]) == {}
    cancelled = {**guest, "id": 30, "status": "cancelled"}
    assert unbooked_quantities([cancelled], booked_order_ids=[]) == {}
    no_sku = {"id": 31, "status": "processing", "line_items": [{"sku": None, "quantity": 1},
                                                                {"sku": " mug-001 ", "quantity": 2}]}
    assert unbooked_quantities([no_sku, guest], booked_order_ids=set()) == {"MUG-001": Decimal(5)}
