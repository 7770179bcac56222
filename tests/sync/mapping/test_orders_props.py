"""Property tests: BC's line arithmetic reproduces WooCommerce's line totals; stock and price invariants."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wcbc.sync.items.stock import price_for_store, product_changes, sellable_stock
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.money import canonical, parse_money, to_json_number
from wcbc.sync.mapping.orders import MappingOptions

FAST = settings(max_examples=200, deadline=None)


def step(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def bc_amount(quantity: Any, unit_price: Any, discount: Any, decimals: int) -> Decimal:
    """BC: round(Quantity * Unit Price, amount precision) - Line Discount Amount."""
    gross = (Decimal(str(quantity)) * Decimal(str(unit_price))).quantize(step(decimals), ROUND_HALF_UP)
    return gross - Decimal(str(discount))


@st.composite
def money(draw: st.DrawFn, decimals: int, low: str = "0.01", high: str = "9999.99") -> Decimal:
    """An amount between ``low`` and ``high`` with ``decimals`` places, as WooCommerce stores it."""
    scale = 10**decimals
    units = draw(st.integers(int(Decimal(low) * scale), int(Decimal(high) * scale)))
    return Decimal(units).scaleb(-decimals)


@st.composite
def priced_line(draw: st.DrawFn) -> tuple[int, int, Decimal, Decimal]:
    """(decimals, quantity, subtotal, total): a line with a coupon share already taken off."""
    decimals = draw(st.sampled_from([2, 3, 4]))
    quantity = draw(st.integers(1, 50))
    if draw(st.booleans()):
        subtotal = draw(money(decimals)) * quantity  # unit price x quantity
    else:
        subtotal = draw(money(decimals, high="99999.99"))  # any rounded line subtotal
    discount = draw(st.integers(0, int(subtotal * 10**decimals))) * step(decimals)
    if draw(st.integers(0, 3)) == 0:
        discount = Decimal(0)
    return decimals, quantity, subtotal, subtotal - discount


@FAST
@given(priced_line())
def test_split_reproduces_the_line_total_exactly(line: tuple[int, int, Decimal, Decimal]) -> None:
    decimals, quantity, subtotal, total = line
    unit, discount = mapping.split_line_amount(Decimal(quantity), subtotal, total, decimals)
    assert bc_amount(quantity, unit, discount, decimals) == total
    assert discount >= 0  # BC refuses a negative line discount
    assert discount <= (quantity * unit).quantize(step(decimals))  # at most 100 %
    assert unit == unit.quantize(step(decimals)) and discount == discount.quantize(step(decimals))
    # what goes on the wire survives JSON exactly
    assert Decimal(str(to_json_number(unit))) == unit
    assert Decimal(str(to_json_number(discount))) == discount
    if (subtotal / quantity).quantize(step(decimals)) * quantity == subtotal:
        # the unit price divides exactly: the coupon share is the discount, nothing else
        assert unit * quantity == subtotal and discount == subtotal - total


@st.composite
def order_with_lines(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    decimals = draw(st.sampled_from([2, 3, 4]))
    items = []
    for index in range(draw(st.integers(1, 4))):
        quantity = draw(st.integers(1, 50))
        subtotal = draw(money(decimals)) * quantity
        total = subtotal - draw(st.integers(0, int(subtotal * 10**decimals))) * step(decimals)
        subtotal_tax = (subtotal * Decimal("0.0725")).quantize(step(decimals), ROUND_HALF_UP)
        total_tax = (total * Decimal("0.0725")).quantize(step(decimals), ROUND_HALF_UP)
        items.append({"id": index + 1, "name": f"Item {index}", "sku": f"SKU-{index}", "quantity": quantity,
                      "subtotal": str(subtotal), "total": str(total), "subtotal_tax": str(subtotal_tax),
                      "total_tax": str(total_tax), "price": float(total / quantity)})
    shipping = draw(money(decimals, low="0", high="99.99"))
    order = {
        "id": 1, "number": "1", "currency": "USD", "customer_id": 0,
        "date_created_gmt": "2026-11-26T20:22:57",
        "billing": {"first_name": "A", "last_name": "B", "email": "a@example.test"}, "shipping": {},
        "line_items": items,
        "shipping_lines": [{"id": 9, "method_title": "Flat rate", "total": str(shipping), "total_tax": "0"}],
        "fee_lines": [],
    }
    return order, decimals


@FAST
@given(order_with_lines(), st.booleans())
def test_mapped_documents_reproduce_every_line(case: tuple[dict[str, Any], int], gross: bool) -> None:
    order, decimals = case
    opts = MappingOptions(shipping_account="6130", decimals=decimals, prices_include_tax=gross)
    lines = mapping.map_document(order, opts, customer_number="C")["salesOrderLines"]
    items = [line for line in lines if line["lineType"] == "Item"]
    for mapped, woo in zip(items, order["line_items"], strict=True):
        expected = Decimal(woo["total"]) + (Decimal(woo["total_tax"]) if gross else 0)
        amount = bc_amount(mapped["quantity"], mapped["unitPrice"], mapped["discountAmount"], decimals)
        assert amount == expected
        assert Decimal(str(mapped["discountAmount"])) >= 0
    all_amounts = sum((bc_amount(line["quantity"], line["unitPrice"], line.get("discountAmount", 0), decimals)
                       for line in lines if line["lineType"] != "Comment"), Decimal(0))
    woo = sum(Decimal(x["total"]) + (Decimal(x["total_tax"]) if gross else 0)
              for key in ("line_items", "shipping_lines") for x in order[key])
    assert all_amounts == woo


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@FAST
@given(
    st.lists(st.fixed_dictionaries({"id": st.integers(1, 999), "key": st.text(max_size=12),
                                    "value": json_values}), max_size=4),
    st.sampled_from(["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "wc-custom"]),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S")),
)
def test_fingerprint_ignores_meta_status_and_dates(meta: list[dict[str, Any]], status: str,
                                                  when: str) -> None:
    order = {"id": 5, "number": "5", "currency": "EUR", "customer_id": 3, "status": "processing",
             "billing": {"email": "x@example.test"}, "shipping": {}, "meta_data": [],
             "line_items": [{"sku": "A", "quantity": 2, "subtotal": "10.00", "total": "9.00"}],
             "shipping_lines": [], "fee_lines": [], "total": "9.00"}
    changed = {**order, "meta_data": meta, "status": status, "date_modified": when, "date_modified_gmt": when}
    assert mapping.order_fingerprint(changed) == mapping.order_fingerprint(order)


# ------------------------------------------------------------------------------------------- money


@FAST
@given(st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_parse_money_is_exact_on_text(value: Decimal) -> None:
    assert parse_money(str(value)) == value
    assert parse_money(f"{value:f}") == value
    assert canonical(f"{value:f}") == canonical(str(value.quantize(Decimal("0.0001"))))


@FAST
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_parse_money_reads_floats_by_their_shortest_text(value: float) -> None:
    assert parse_money(value) == Decimal(repr(value))


# ------------------------------------------------------------------------------------------ stock

quantities = st.decimals(min_value=-1000, max_value=100000, places=3, allow_nan=False, allow_infinity=False)


@FAST
@given(quantities, quantities, quantities)
def test_sellable_stock_bounds(inventory: Decimal, open_qty: Decimal, unbooked: Decimal) -> None:
    result = sellable_stock(inventory, open_qty, unbooked)
    assert isinstance(result, int)
    assert result >= 0
    assert result <= max(0, int(inventory.to_integral_value(ROUND_FLOOR)))
    more_demand = max(open_qty, Decimal(0)) + 1
    assert sellable_stock(inventory, more_demand, unbooked) <= result


@FAST
@given(
    st.fixed_dictionaries({
        "id": st.integers(1, 10**6),
        "type": st.sampled_from(["simple", "variation", "variable", "external", "grouped"]),
        "regular_price": st.one_of(st.just(""), st.decimals(min_value=0, max_value=9999, places=2,
                                                            allow_nan=False).map(str)),
        "manage_stock": st.sampled_from([True, False, "parent"]),
        "stock_quantity": st.one_of(st.none(), st.integers(-5, 500)),
    }),
    st.one_of(st.none(), st.decimals(min_value="0.01", max_value=9999, places=2, allow_nan=False).map(str)),
    st.one_of(st.none(), st.integers(0, 500)),
)
def test_product_changes_is_idempotent(product: dict[str, Any], price: str | None, stock: int | None) -> None:
    change = product_changes(product, price=price, stock=stock)
    if change:
        assert change["id"] == product["id"] and len(change) > 1
        assert "regular_price" not in change or isinstance(change["regular_price"], str)
    after = {**product, **{k: v for k, v in change.items() if k != "id"}}
    assert product_changes(after, price=price, stock=stock) == {}


@FAST
@given(
    st.decimals(min_value="0.01", max_value=99999, places=4, allow_nan=False),
    st.booleans(), st.booleans(),
    st.decimals(min_value=0, max_value=30, places=2, allow_nan=False),
    st.integers(0, 4),
)
def test_price_for_store_has_the_store_decimals(price: Decimal, bc_gross: bool, store_gross: bool,
                                                rate: Decimal, decimals: int) -> None:
    result = price_for_store(price, bc_includes_tax=bc_gross, store_includes_tax=store_gross, tax_rate=rate,
                             decimals=decimals)
    if result.price is None:
        assert result.skip_reason
        return
    text = result.price
    places = len(text.split(".")[1]) if "." in text else 0
    assert places == decimals
    assert parse_money(text) > 0
    if bc_gross == store_gross:
        assert parse_money(text) == price.quantize(step(decimals), ROUND_HALF_UP)
