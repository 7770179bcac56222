"""Money maths of the WooCommerce simulator: recorded totals, identities, coupons, inclusive tax, seeding."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from wcbc.sandbox.woo.app import WooStore, seed_bulk, seed_sample
from wcbc.sandbox.woo.money import fmt, fmt_trim, php_json, php_number


def D(value: Any) -> Decimal:  # noqa: N802
    return Decimal(str(value))


@pytest.fixture
def store() -> Any:
    s = WooStore(webhook_delay=0.01)
    ids = seed_sample(s)
    yield s, ids
    s.close()


def _identities(order: dict[str, Any]) -> None:
    lines, ships, fees = order["line_items"], order["shipping_lines"], order["fee_lines"]
    assert D(order["total"]) == (
        sum(D(li["total"]) for li in lines)
        + sum(D(s["total"]) for s in ships)
        + sum(D(f["total"]) for f in fees)
        + D(order["total_tax"])
    )
    assert D(order["cart_tax"]) == sum(D(li["total_tax"]) for li in lines) + sum(
        D(f["total_tax"]) for f in fees
    )
    assert D(order["discount_total"]) == sum(D(li["subtotal"]) - D(li["total"]) for li in lines)
    assert D(order["shipping_tax"]) == sum(D(s["total_tax"]) for s in ships)
    assert D(order["total_tax"]) == D(order["cart_tax"]) + D(order["shipping_tax"])
    for tl in order["tax_lines"]:
        rid = tl["rate_id"]
        assert D(tl["tax_total"]) == sum(
            D(t["total"]) for x in lines + fees for t in x["taxes"] if t["id"] == rid
        )
        assert D(tl["shipping_tax_total"]) == sum(
            D(t["total"]) for s in ships for t in s["taxes"] if t["id"] == rid
        )


def test_order_16_totals_equal_the_recording(store: Any, woo_kit: Any) -> None:
    s, ids = store
    order = s.create_order(
        customer_id=ids["customer"],
        line_items=[
            {"product_id": ids["tshirt"], "quantity": 2},
            {"product_id": ids["hoodie"], "variation_id": ids["hoodie_m"], "quantity": 1},
        ],
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}],
        coupon_lines=[{"code": "save10"}],
    )
    recorded = json.loads((woo_kit.REAL_STORE / "rest" / "order-retrieve-customer.body.json").read_text())
    for key in (
        "discount_total",
        "discount_tax",
        "shipping_total",
        "shipping_tax",
        "cart_tax",
        "total",
        "total_tax",
    ):
        assert order[key] == recorded[key], key
    for mine, theirs in zip(order["line_items"], recorded["line_items"], strict=True):
        for key in ("subtotal", "subtotal_tax", "total", "total_tax", "taxes", "price", "sku", "name"):
            assert mine[key] == theirs[key], key
        assert type(mine["price"]) is type(theirs["price"])
    assert (
        order["coupon_lines"][0]["discount"] == "8.2" and order["coupon_lines"][0]["discount_tax"] == "0.59"
    )
    assert (
        order["coupon_lines"][0]["meta_data"][0]["value"]
        == recorded["coupon_lines"][0]["meta_data"][0]["value"]
    )
    assert order["shipping_lines"][0]["taxes"] == recorded["shipping_lines"][0]["taxes"]
    assert order["tax_lines"][0] | {"id": 0} == recorded["tax_lines"][0] | {"id": 0}
    _identities(order)


def test_guest_and_fee_orders_equal_the_recording(store: Any, woo_kit: Any) -> None:
    s, ids = store
    guest = s.create_order(line_items=[{"product_id": ids["mug"], "quantity": 3}], set_paid=False)
    fee = s.create_order(
        customer_id=ids["customer"],
        status="on-hold",
        set_paid=False,
        line_items=[{"product_id": ids["hoodie"], "variation_id": ids["hoodie_s"], "quantity": 1}],
        fee_lines=[{"name": "Gift wrapping", "total": "5.00", "tax_status": "taxable"}],
    )
    for mine, name in ((guest, "order-retrieve-guest"), (fee, "order-retrieve-fee")):
        recorded = json.loads((woo_kit.REAL_STORE / "rest" / f"{name}.body.json").read_text())
        for key in ("total", "total_tax", "cart_tax", "status", "is_editable", "needs_payment", "date_paid"):
            assert mine[key] == recorded[key], (name, key)
        assert [li["meta_data"][-1:] and li["meta_data"][-1]["key"] for li in mine["line_items"]] == [
            li["meta_data"][-1:] and li["meta_data"][-1]["key"] for li in recorded["line_items"]
        ]
        assert [{k: v for k, v in f.items() if k != "id"} for f in mine["fee_lines"]] == [
            {k: v for k, v in f.items() if k != "id"} for f in recorded["fee_lines"]
        ]
        _identities(mine)


def test_fixed_cart_coupon_is_split_per_unit_of_quantity(store: Any) -> None:
    """woocommerce.md errata (corrected 2026-12-04): a fixed-cart coupon is split per unit of quantity,
    not in proportion to line subtotals (which gave 16.66 / 8.33 here)."""
    s, ids = store
    s.add_coupon("five", "fixed_cart", "5")
    order = s.create_order(
        line_items=[{"sku": "TSHIRT-001", "quantity": 1}, {"sku": "CAP-001", "quantity": 1}],
        coupon_lines=[{"code": "five"}],
    )
    totals = [(li["subtotal"], li["total"]) for li in order["line_items"]]
    assert totals == [("20.00", "17.50"), ("9.99", "7.49")]
    assert order["coupon_lines"][0]["discount"] == "5"
    assert order["discount_total"] == "5.00"
    _identities(order)


def test_prices_include_tax_extracts_tax_from_gross_prices() -> None:
    s = WooStore(prices_include_tax=True)
    s.add_product("GROSS-1", "Gross", "21.45")
    order = s.create_order(
        line_items=[{"sku": "GROSS-1", "quantity": 2}],
        shipping_lines=[{"method_id": "flat_rate", "total": "10.00"}],
    )
    line = order["line_items"][0]
    assert order["prices_include_tax"] is True
    assert (line["subtotal"], line["subtotal_tax"], line["total"]) == ("40.00", "2.90", "40.00")
    assert D(line["total"]) + D(line["total_tax"]) == D("42.90")
    assert order["total"] == "53.63"
    _identities(order)
    s.close()


def test_reduced_rate_class_gives_a_second_tax_line() -> None:
    s = WooStore(reduced_rate="5")
    s.add_product("STD", "Standard", "10.00")
    s.add_product("RED", "Reduced", "10.00", tax_class="reduced-rate")
    order = s.create_order(line_items=[{"sku": "STD", "quantity": 1}, {"sku": "RED", "quantity": 1}])
    assert [(t["rate_id"], t["label"], t["tax_total"], t["rate_percent"]) for t in order["tax_lines"]] == [
        (1, "CA State Tax", "0.73", 7.25),
        (2, "Reduced rate", "0.50", 5),
    ]
    assert order["line_items"][1]["tax_class"] == "reduced-rate"
    assert order["line_items"][1]["taxes"] == [{"id": 2, "total": "0.50", "subtotal": "0.50"}]
    _identities(order)
    s.close()


def test_zero_decimal_store_formats_without_decimals() -> None:
    s = WooStore(currency="JPY", decimals=0, tax_rates=[])
    s.add_product("JP-1", "Tea", "1200")
    order = s.create_order(line_items=[{"sku": "JP-1", "quantity": 2}])
    assert (order["total"], order["currency_symbol"], order["tax_lines"]) == ("2400", "¥", [])
    s.close()


def test_random_orders_keep_the_identities(store: Any) -> None:
    s, _ids = store
    s.add_coupon("fix7", "fixed_cart", "7.77")
    rng = random.Random(11)
    skus = ["TSHIRT-001", "MUG-001", "HOODIE-S", "HOODIE-M", "CAP-001"]
    for n in range(60):
        s.add_product(f"R{n}", f"Random {n}", f"{rng.randint(1, 99999) / 1000:.3f}")
        skus.append(f"R{n}")
        lines = [{"sku": rng.choice(skus), "quantity": rng.randint(1, 5)} for _ in range(rng.randint(1, 5))]
        coupons = rng.choice(
            [[], [{"code": "save10"}], [{"code": "fix7"}], [{"code": "save10"}, {"code": "fix7"}]]
        )
        fees = [{"name": "Fee", "total": f"{rng.randint(0, 900) / 100:.2f}"}] if rng.random() < 0.3 else []
        order = s.create_order(
            line_items=lines,
            coupon_lines=coupons,
            fee_lines=fees,
            set_paid=False,
            shipping_lines=[{"method_id": "flat_rate", "total": f"{rng.randint(0, 2000) / 100}"}],
        )
        _identities(order)
        for li in order["line_items"]:
            assert D(li["total"]) <= D(li["subtotal"])


def test_money_helpers() -> None:
    assert fmt("3.045", 2) == "3.05" and fmt("-0.001", 2) == "0.00" and fmt("10", 0) == "10"
    assert fmt_trim(D("8.20")) == "8.2" and fmt_trim(D("5.00")) == "5" and fmt_trim(D("0")) == "0"
    assert php_number(D("18.0")) == 18 and isinstance(php_number(D("18.0")), int)
    assert php_number(D("4.248333333333333")) == 4.248333333333333
    assert (
        php_json({"u": "https://x/é", "e": "😀"}) == b'{"u":"https:\\/\\/x\\/\\u00e9","e":"\\ud83d\\ude00"}'
    )


def test_bulk_seed_is_complete_silent_and_indexed(woo_receiver: Any) -> None:
    s = WooStore(webhook_delay=0.01)
    s.add_webhook("product.updated", woo_receiver.url("/p"), "s")
    s.add_webhook("order.created", woo_receiver.url("/o"), "s")
    counts = seed_bulk(s)
    assert counts == {"products": 16_000, "variations": 5_000, "orders": 2_000}
    assert s.state()["products"] == 16_000 and s.state()["variations"] == 5_000 and len(s.orders()) == 2_000
    assert s.flush_webhooks(5)
    assert s.deliveries(kind="delivery") == []
    variation = s.get_product_by_sku("var-0500-3")
    assert (
        variation is not None
        and variation["type"] == "variation"
        and variation["name"] == "Variable 500 - O3"
    )
    for order in s.orders()[:50]:
        _identities(order)
    s.close()
