"""Amounts and quantities are read with bounds; hostile content fails the order with a RecordError naming
the field (never an ArithmeticError or a TypeError out of the mapping)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sync.orders.fakes import order
from wcbc.core.errors import RecordError
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.money import BC_DECIMAL_MAX

OPTIONS = mapping.MappingOptions()


def mapped(o: dict) -> dict:
    return mapping.map_document(o, OPTIONS, customer_number="C1")


def with_line(**fields: Any) -> dict:
    o = order(16)
    o["line_items"][0].update(fields)
    return o


@pytest.mark.parametrize(("fields", "words"), [
    ({"total": "1e309"}, "line 100 (Mug-001) total '1e309' is beyond BC's range"),
    ({"subtotal": "1e309"}, "line 100 (Mug-001) subtotal '1e309' is beyond BC's range"),
    ({"quantity": "1e309"}, "line 100 (Mug-001) quantity '1e309' is beyond BC's range"),
    ({"quantity": "NaN"}, "quantity is not an amount: 'NaN'"),
    ({"total": "-Infinity"}, "total is not an amount: '-Infinity'"),
    ({"total": float("inf")}, "total is not an amount: inf"),
    ({"quantity": [1]}, "quantity is not an amount: [1]"),
    ({"total": {"amount": 5}}, "total is not an amount: {'amount': 5}"),
    ({"quantity": "1.123456"}, "quantity '1.123456' has more than 5 decimals"),
    ({"total": "1" * 80}, "is beyond BC's range"),
])
def test_hostile_amounts_fail_the_order_naming_the_field(fields: dict, words: str) -> None:
    with pytest.raises(RecordError) as caught:
        mapped(with_line(**fields))
    assert words in str(caught.value) and "order #16" in str(caught.value)


def test_amounts_up_to_what_a_json_number_carries_exactly_are_booked() -> None:
    big = "9999999999999.99"  # 15 significant digits: a JSON number (a double) carries it exactly
    (line,) = [ln for ln in mapped(with_line(total=big, subtotal=big))["salesOrderLines"]
               if ln["lineType"] == "Item"]
    assert Decimal(str(line["unitPrice"])) == Decimal(big)
    # BC's own maximum has 17 significant digits: refused as an order failure, not an internal error
    with pytest.raises(RecordError, match="cannot be sent as a JSON number without losing precision"):
        mapped(with_line(total=str(BC_DECIMAL_MAX), subtotal=str(BC_DECIMAL_MAX)))
    with pytest.raises(RecordError, match="beyond BC's range"):
        mapped(with_line(total=str(BC_DECIMAL_MAX + Decimal("0.01"))))


@pytest.mark.parametrize("lines", ["MUG-001", {"sku": "MUG-001"}, ["not a line"], 5])
def test_lines_that_are_not_a_list_of_objects_are_refused(lines: Any) -> None:
    o = order(16)
    o["line_items"] = lines
    with pytest.raises(RecordError, match="line_items is not a list of lines"):
        mapped(o)


def test_an_order_total_beyond_range_cannot_be_compared() -> None:
    with pytest.raises(RecordError, match="total '1e309' is beyond BC's range"):
        mapping.compare_totals(order(16, total="1e309"), {"totalAmountIncludingTax": 10})


def test_document_number_empty_or_too_long_after_the_prefix() -> None:
    with pytest.raises(RecordError, match="has no order number"):
        mapping.document_number(order(16, number="  "), "WC-")
    assert mapping.document_number(order(16, number="9" * 32), "WC-") == "WC-" + "9" * 32
    with pytest.raises(RecordError, match="longer than BC's 35 characters"):
        mapping.document_number(order(16, number="9" * 33), "WC-")
