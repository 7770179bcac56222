"""The tax-code table and the read-back agreement (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.orders import MappingOptions, agreement, tax

ORDER = {
    "id": 7, "number": "7", "total": "26.45", "total_tax": "1.45",
    "line_items": [
        {"id": 1, "sku": "BOOK", "quantity": 1, "subtotal": "10.00", "total": "10.00", "total_tax": "0.50",
         "tax_class": "reduced-rate", "taxes": [{"id": 2, "total": "0.50"}]},
        {"id": 2, "sku": "MUG", "quantity": 1, "subtotal": "5.00", "total": "5.00", "total_tax": "0.00",
         "tax_class": "", "taxes": []},
    ],
    "shipping_lines": [{"id": 3, "method_title": "Flat", "total": "10.00", "total_tax": "0.95",
                        "taxes": [{"id": 2, "total": "0.95"}]}],
}


def test_line_class_follows_the_store() -> None:
    items = ORDER["line_items"]
    assert tax.line_class(ORDER, items[0], "item") == "reduced-rate"
    assert tax.line_class(ORDER, items[1], "item") == tax.UNTAXED  # no tax charged
    # shipping taxed at rate 2: the rate of the reduced-rate item ("inherit")
    assert tax.line_class(ORDER, ORDER["shipping_lines"][0], "shipping") == "reduced-rate"
    assert tax.class_slug("") == tax.class_slug("parent") == "standard"


def test_tax_code_none_without_table_and_names_the_fix_when_unmapped() -> None:
    assert tax.tax_code(ORDER, ORDER["line_items"][0], "item", {}, "line 1") is None
    assert tax.tax_code(ORDER, ORDER["line_items"][0], "item", {"reduced-rate": "RED"}, "line 1") == "RED"
    with pytest.raises(RecordError) as err:
        tax.tax_code(ORDER, ORDER["line_items"][1], "item", {"standard": "TAXABLE"}, "line 2 (Mug)")
    assert "order #7" in str(err.value) and "untaxed" in str(err.value)
    assert err.value.hint and "[orders.tax_codes]" in err.value.hint


def _agreement(bc_total: str, bc_tax: str, line_taxes: tuple[str, str, str]) -> agreement.Agreement:
    options = MappingOptions(shipping_account="6610")
    expected = agreement.expected_lines(ORDER, options)
    lines = [{"sequence": 10000, "lineType": "Comment"}] + [
        {"sequence": 20000 + i, "lineType": "Item", "netAmount": e.net, "netTaxAmount": t}
        for i, (e, t) in enumerate(zip(expected, line_taxes, strict=True))]
    doc = {"totalAmountIncludingTax": bc_total, "totalTaxAmount": bc_tax}
    return agreement.compare(ORDER, expected, doc, lines)


def test_agreement_verdicts_and_the_rounding_cap() -> None:
    cap, tol = Decimal("0.05"), Decimal("0.01")
    exact = _agreement("26.45", "1.45", ("0.50", "0", "0.95"))
    assert exact.lines == [] and exact.verdict(tol, cap, "6630") == "agree"
    cents = _agreement("26.42", "1.42", ("0.50", "0", "0.92"))
    assert cents.difference == Decimal("0.03") and cents.verdict(tol, cap, "6630") == "round"
    assert cents.verdict(tol, cap, None) == "disagree"  # no rounding account: never plugged
    wrong = _agreement("27.09", "2.09", ("0.72", "0", "1.37"))
    assert wrong.verdict(tol, cap, "6630") == "disagree"  # a tax difference is not rounding
    assert [d.label for d in wrong.lines] == ["BOOK", "Flat"]
    message = wrong.message(ORDER)
    assert "order #7" in message and "BOOK" in message and "-0.42" in message
    none = _agreement("25.00", "0", ("0", "0", "0"))
    assert "tax liable" in none.hint()


def test_unit_price_carries_bc_unit_decimals() -> None:
    from wcbc.sync.mapping.orders import split_line_amount

    assert split_line_amount(Decimal(450), Decimal("2247.75"), Decimal("2247.75"), 2, unit_decimals=5) == \
        (Decimal("4.995"), Decimal("0"))
    unit, discount = split_line_amount(Decimal(3), Decimal("10.00"), Decimal("9.00"), 2, unit_decimals=5)
    assert unit == Decimal("3.33334") and discount == Decimal("1.00")  # the real coupon, nothing invented


def test_start_date_floors_the_poll_and_skips_older_orders() -> None:
    import datetime as dt

    from wcbc.sync.mapping.orders import floor
    from wcbc.sync.orders.poll import window_start

    started = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    early = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert window_start(early, None, overlap_seconds=300, start_date="2026-12-01", started=started) == \
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert window_start(None, "2026-12-01T00:02:00Z", overlap_seconds=300, start_date="2026-12-01",
                        started=started) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert floor.before_start({"date_created_gmt": "2026-11-30T23:59:59"}, "2026-12-01")
    assert floor.before_start({"date_created_gmt": "2026-12-01T00:00:00"}, "2026-12-01") is None
    assert floor.before_start({"date_created_gmt": "2020-01-01T00:00:00"}, None) is None
