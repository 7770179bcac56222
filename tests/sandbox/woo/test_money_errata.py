"""The money rules corrected against a real WooCommerce 10.0.2 (woocommerce.md errata, 2026-12-04):
fixed-cart coupons per unit, percent remainders half down and per unit, shipping tax class "inherit"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from wcbc.sandbox.woo.app import WooStore, seed_sample
from wcbc.sandbox.woo.money import CouponSpec, LineCalc, apply_coupons, shipping_tax_class


@pytest.fixture
def store() -> Any:
    s = WooStore(webhook_delay=0.01, reduced_rate="5")
    seed_sample(s)
    yield s
    s.close()


def test_errata_fixed_cart_example_3_hoodies_and_a_mug(store: WooStore) -> None:
    # errata: 3 x HOODIE-M 42.00 + 1 x MUG with take5 5.00 -> lines 122.25 / 12.50 (3.75 / 1.25)
    store.add_product("MUG-1375", "Mug", "13.75")
    store.add_coupon("take5", "fixed_cart", "5")
    order = store.create_order(
        line_items=[{"sku": "HOODIE-M", "quantity": 3}, {"sku": "MUG-1375", "quantity": 1}],
        coupon_lines=[{"code": "take5"}],
    )
    assert [li["total"] for li in order["line_items"]] == ["122.25", "12.50"]
    assert order["coupon_lines"][0]["discount"] == "5"
    assert order["discount_total"] == "5.00"


def test_errata_percent_remainder_is_rounded_half_down(store: WooStore) -> None:
    # errata: 3 x WIDGET-1999 + 3 x SCREW-PK100 with off15 -> 77.84 (half-up gives 77.82). The errata gives
    # the totals only; 19.99, 6.51 and a 5.00 flat rate are the prices that reproduce both numbers.
    store.add_product("WIDGET-1999", "Widget", "19.99")
    store.add_product("SCREW-PK100", "Screws", "6.51")
    store.add_coupon("off15", "percent", "15")
    order = store.create_order(
        line_items=[{"sku": "WIDGET-1999", "quantity": 3}, {"sku": "SCREW-PK100", "quantity": 3}],
        coupon_lines=[{"code": "off15"}],
        shipping_lines=[{"method_id": "flat_rate", "total": "5.00"}],
    )
    # 7950 cents x 15 % = 1192.5 -> 1192 (half down); per line floor 899 + 292, the left cent to a widget
    assert [li["total"] for li in order["line_items"]] == ["50.97", "16.61"]
    assert order["discount_total"] == "11.92"
    assert order["total"] == "77.84"


def test_percent_remainder_cents_go_per_unit_of_quantity() -> None:
    # floors 45 + 16 + 16 = 77 of 529 x 15 % = 79.35 -> 79: the two cents go to the first line's units
    # (qty 3) before the next line gets any (line by line would give 0.46 / 0.17 / 0.16)
    lines = [
        LineCalc(Decimal("1.01"), 3, []),
        LineCalc(Decimal("1.13"), 1, []),
        LineCalc(Decimal("1.13"), 1, []),
    ]
    apply_coupons(lines, [CouponSpec("c", "percent", Decimal("15"))], 2, inclusive=False)
    assert [ln.discounts["c"] for ln in lines] == [Decimal("0.47"), Decimal("0.16"), Decimal("0.16")]


def test_fixed_cart_left_over_cents_one_per_unit() -> None:
    # 1.00 over 3 units: 33 each, then the last cent to the first unit
    lines = [LineCalc(Decimal("10"), 2, []), LineCalc(Decimal("10"), 1, [])]
    apply_coupons(lines, [CouponSpec("f", "fixed_cart", Decimal("1"))], 2, inclusive=False)
    assert [ln.discounts["f"] for ln in lines] == [Decimal("0.67"), Decimal("0.33")]


def test_fixed_cart_larger_than_a_cheap_line_moves_on_to_the_others() -> None:
    # 10.00 over 2 units = 5.00 each, the 1.00 line takes only 1.00, the 4.00 left go to the other line
    lines = [LineCalc(Decimal("1"), 1, []), LineCalc(Decimal("20"), 1, [])]
    apply_coupons(lines, [CouponSpec("f", "fixed_cart", Decimal("10"))], 2, inclusive=False)
    assert [ln.discounts["f"] for ln in lines] == [Decimal("1.00"), Decimal("9.00")]


def test_errata_reduced_rate_cart_has_untaxed_shipping(store: WooStore) -> None:
    # errata: TIN-BAKERS only + 4.99 shipping -> total 13.81, shipping tax 0.00 (reduced rate not on shipping)
    store.add_product("TIN-BAKERS", "Bakers tin", "8.40", tax_class="reduced-rate")
    order = store.create_order(
        line_items=[{"sku": "TIN-BAKERS", "quantity": 1}],
        shipping_lines=[{"method_id": "flat_rate", "total": "4.99"}],
    )
    assert (order["total"], order["shipping_tax"]) == ("13.81", "0.00")
    assert order["shipping_lines"][0]["taxes"] == []
    assert [t["shipping_tax_total"] for t in order["tax_lines"]] == ["0.00"]


def test_mixed_cart_shipping_takes_the_standard_rate(store: WooStore) -> None:
    store.add_product("TIN-BAKERS", "Bakers tin", "8.40", tax_class="reduced-rate")
    order = store.create_order(
        line_items=[{"sku": "TIN-BAKERS", "quantity": 1}, {"sku": "TSHIRT-001", "quantity": 1}],
        shipping_lines=[{"method_id": "flat_rate", "total": "4.99"}],
    )
    assert order["shipping_tax"] == "0.36"
    assert order["shipping_lines"][0]["taxes"] == [{"id": 1, "total": "0.36", "subtotal": ""}]


def test_reduced_rate_that_applies_to_shipping_taxes_it_at_that_rate() -> None:
    s = WooStore(reduced_rate="5", reduced_rate_shipping=True)
    s.add_product("TIN", "Tin", "8.40", tax_class="reduced-rate")
    order = s.create_order(
        line_items=[{"sku": "TIN", "quantity": 1}],
        shipping_lines=[{"method_id": "flat_rate", "total": "4.99"}],
    )
    assert order["shipping_lines"][0]["taxes"] == [{"id": 2, "total": "0.25", "subtotal": ""}]
    s.close()


def test_shipping_class_choice() -> None:
    slugs = ["reduced-rate", "zero-rate"]
    assert shipping_tax_class(["reduced-rate", ""], slugs) == ""
    assert shipping_tax_class(["zero-rate", "reduced-rate"], slugs) == "reduced-rate"
    assert shipping_tax_class([], slugs) is None
    s = WooStore(shipping_tax_class="")  # a fixed shipping class instead of inherit
    s.add_product("NT", "Untaxed", "5.00")
    s.edit_product("NT", tax_status="none")
    order = s.create_order(
        line_items=[{"sku": "NT", "quantity": 1}], shipping_lines=[{"method_id": "flat_rate", "total": "10"}]
    )
    assert order["shipping_tax"] == "0.73"
    s.close()


def test_cart_without_taxable_items_has_untaxed_shipping() -> None:
    s = WooStore()
    s.add_product("NT", "Untaxed", "5.00")
    s.edit_product("NT", tax_status="none")
    order = s.create_order(
        line_items=[{"sku": "NT", "quantity": 1}], shipping_lines=[{"method_id": "flat_rate", "total": "10"}]
    )
    assert (order["shipping_tax"], order["total"]) == ("0.00", "15.00")
    s.close()
