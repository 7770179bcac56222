"""WooCommerce order -> BC customer / sales document mapping, on the real-store recordings."""

from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from tests.contracts import CONTRACTS  # noqa: E402
from wcbc.core.errors import ConfigError, RecordError
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.money import (
    MoneyError,
    canonical,
    format_money,
    parse_money,
    round_money,
    to_json_number,
)
from wcbc.sync.mapping.orders import MappingOptions

REAL = CONTRACTS / "woocommerce" / "real-store"
ORDER_FILES = {
    "customer": REAL / "rest" / "order-retrieve-customer.body.json",  # 16: coupon + shipping
    "guest": REAL / "rest" / "order-retrieve-guest.body.json",  # 17: guest
    "fee": REAL / "rest" / "order-retrieve-fee.body.json",  # 18: fee line
}
WEBHOOK_FILES = {16: REAL / "webhooks" / "0002.body", 17: REAL / "webhooks" / "0003.body",
                 18: REAL / "webhooks" / "0004.body"}
TAX_RATE = Decimal("0.0725")  # the real store's one rate, also on shipping and fees
CENT = Decimal("0.01")


def load(name: str) -> dict[str, Any]:
    return json.loads(ORDER_FILES[name].read_text(encoding="utf-8"))


def all_orders() -> list[dict[str, Any]]:
    orders = [load(name) for name in ORDER_FILES]
    orders += [json.loads(path.read_bytes()) for path in WEBHOOK_FILES.values()]
    return orders


def options(**overrides: Any) -> MappingOptions:
    values: dict[str, Any] = {"shipping_account": "6130", "fee_account": "6140", "local_currency": "USD",
                              "time_zone": "America/Los_Angeles"}
    values.update(overrides)
    return MappingOptions(**values)


def d(value: Any) -> Decimal:
    return Decimal(str(value))


def bc_line_amount(line: dict[str, Any], decimals: int = 2) -> Decimal:
    """BC: Line Amount = round(Quantity * Unit Price, amount precision) - Line Discount Amount."""
    gross = (d(line["quantity"]) * d(line["unitPrice"])).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return gross - d(line.get("discountAmount", 0))


def bc_lines(body: dict[str, Any]) -> list[dict[str, Any]]:
    key = "salesOrderLines" if "salesOrderLines" in body else "salesInvoiceLines"
    return body[key]


def bc_document_total(body: dict[str, Any], rate: Decimal = TAX_RATE) -> Decimal:
    """Net amounts plus tax per line, rounded per line (as a sales-tax setup would)."""
    total = Decimal(0)
    for line in bc_lines(body):
        if line["lineType"] == "Comment":
            continue
        amount = bc_line_amount(line)
        total += amount + (amount * rate).quantize(CENT, ROUND_HALF_UP)
    return total


# ------------------------------------------------------------------------------------------- money


def test_parse_money_exact() -> None:
    assert parse_money("5") == Decimal("5")
    assert parse_money("8.2") == Decimal("8.2")
    assert parse_money(4.248333333333333) == Decimal("4.248333333333333")
    assert parse_money("") == Decimal(0)
    assert parse_money(None) == Decimal(0)
    assert parse_money(" 10.00 ") == Decimal("10.00")
    assert parse_money(18) == Decimal(18)
    assert parse_money("5") == parse_money("5.00")
    for bad in ("abc", "NaN", "Infinity", True, [1]):
        with pytest.raises(MoneyError):
            parse_money(bad)


def test_money_rounding_and_formatting() -> None:
    assert round_money("2.725", 2) == Decimal("2.73")  # half up, not banker's
    assert round_money("-2.725", 2) == Decimal("-2.73")
    assert format_money("12.5", 2) == "12.50"
    assert format_money("10", 0) == "10"
    assert canonical("5") == canonical("5.00") == canonical(5.0) == "5"
    assert canonical("50") == "50"
    assert to_json_number(Decimal("36.00")) == 36 and isinstance(to_json_number(Decimal("36.00")), int)
    assert to_json_number(Decimal("4.20")) == 4.2


# --------------------------------------------------------------------------------- real orders


@pytest.mark.parametrize("order", all_orders(), ids=lambda o: f"order{o['id']}")
def test_real_orders_reproduce_woocommerce_amounts(order: dict[str, Any]) -> None:
    body = mapping.map_document(order, options(), customer_number="C00010")
    json.dumps(body)  # JSON-serialisable, no Decimal
    lines = bc_lines(body)
    assert lines[0] == {"lineType": "Comment", "description": mapping.comment_text(order)}
    items = [line for line in lines if line["lineType"] == "Item"]
    assert len(items) == len(order["line_items"])
    for mapped, woo in zip(items, order["line_items"], strict=True):
        assert mapped["lineObjectNumber"] == woo["sku"]
        assert d(mapped["quantity"]) == d(woo["quantity"])
        assert bc_line_amount(mapped) == Decimal(woo["total"])  # exactly
        assert d(mapped["discountAmount"]) >= 0
    net = sum((bc_line_amount(line) for line in lines if line["lineType"] != "Comment"), Decimal(0))
    woo_net = sum(Decimal(x["total"]) for key in ("line_items", "shipping_lines", "fee_lines")
                  for x in order[key])
    assert net == woo_net
    assert abs(bc_document_total(body) - Decimal(order["total"])) <= CENT


def test_order_16_coupon_shipping_and_variation() -> None:
    order = load("customer")
    body = mapping.map_document(order, options(), customer_number="C00010")
    assert body["externalDocumentNumber"] == "16"
    assert body["customerNumber"] == "C00010"
    assert body["orderDate"] == "2026-11-26"
    assert body["pricesIncludeTax"] is False
    assert body["currencyCode"] == ""
    assert body["email"] == "jane.doe@example.test"
    assert body["phoneNumber"] == "+1 415 555 0100"
    assert body["shipToName"] == "Acme" and body["shipToContact"] == "Jane Doe"
    assert body["shipToAddressLine1"] == "123 Market St" and body["shipToPostCode"] == "94105"
    lines = body["salesOrderLines"]
    assert lines[0]["description"] == "WooCommerce order #16, paid by Direct bank transfer"
    tshirt, hoodie, shipping = lines[1:]
    assert tshirt == {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "unitPrice": 20,
                      "discountAmount": 4}
    assert hoodie["lineObjectNumber"] == "HOODIE-M"  # the variation's SKU, not the parent's HOODIE
    assert d(hoodie["unitPrice"]) == Decimal("42") and d(hoodie["discountAmount"]) == Decimal("4.2")
    # the coupon appears once, as line discounts adding up to discount_total
    assert d(tshirt["discountAmount"]) + d(hoodie["discountAmount"]) == Decimal(order["discount_total"])
    assert shipping == {"lineType": "Account", "lineObjectNumber": "6130", "description": "Flat rate",
                        "quantity": 1, "unitPrice": 10}
    assert len(lines) == 4


def test_order_18_fee_line_and_empty_payment_method() -> None:
    order = load("fee")
    lines = mapping.map_document(order, options(), customer_number="C1")["salesOrderLines"]
    assert lines[0]["description"] == "WooCommerce order #18"
    assert lines[-1] == {"lineType": "Account", "lineObjectNumber": "6140", "description": "Gift wrapping",
                         "quantity": 1, "unitPrice": 5}


def test_webhook_bodies_map_like_rest() -> None:
    for name in ORDER_FILES:
        rest = load(name)
        hook = json.loads(WEBHOOK_FILES[rest["id"]].read_bytes())
        assert mapping.map_document(hook, options(), customer_number="C") == \
            mapping.map_document(rest, options(), customer_number="C")
        assert mapping.order_fingerprint(hook) == mapping.order_fingerprint(rest)


@pytest.mark.parametrize("order", all_orders()[:3], ids=lambda o: f"order{o['id']}")
def test_tax_inclusive_lines_carry_tax(order: dict[str, Any]) -> None:
    body = mapping.map_document(order, options(prices_include_tax=True), customer_number="C")
    assert body["pricesIncludeTax"] is True
    lines = body["salesOrderLines"]
    items = [line for line in lines if line["lineType"] == "Item"]
    for mapped, woo in zip(items, order["line_items"], strict=True):
        assert bc_line_amount(mapped) == Decimal(woo["total"]) + Decimal(woo["total_tax"])
        assert d(mapped["unitPrice"]) * d(mapped["quantity"]) >= \
            Decimal(woo["subtotal"]) + Decimal(woo["subtotal_tax"])
    gross = sum((bc_line_amount(line) for line in lines if line["lineType"] != "Comment"), Decimal(0))
    assert gross == Decimal(order["total"])  # a gross document's total is the sum of its lines


def test_invoice_target_shape() -> None:
    order = load("customer")
    for target in ("sales_invoice", "posted_invoice"):
        opts = options(target=target, prices_include_tax=True)
        assert opts.entity_set == "salesInvoices" and opts.lines_key == "salesInvoiceLines"
        body = mapping.map_document(order, opts, customer_number="C")
        assert body["invoiceDate"] == body["postingDate"] == "2026-11-26"
        assert "orderDate" not in body and "salesOrderLines" not in body
        assert "pricesIncludeTax" not in body  # read-only on salesInvoices
        assert body["salesInvoiceLines"][0]["lineType"] == "Comment"
    assert options().entity_set == "salesOrders"


def test_prices_include_tax_mismatch() -> None:
    opts = options(target="sales_invoice", prices_include_tax=True)
    assert mapping.prices_include_tax_mismatch({"pricesIncludeTax": True}, opts) is None
    message = mapping.prices_include_tax_mismatch({"pricesIncludeTax": False}, opts)
    assert message and "orders.prices_include_tax" in message
    assert mapping.prices_include_tax_mismatch({}, opts) is None


def test_other_currency() -> None:
    order = load("customer")
    order["currency"] = "EUR"
    assert mapping.map_document(order, options(), customer_number="C")["currencyCode"] == "EUR"
    # A new customer's card takes the configured currency (default: the local one), never the order's.
    assert mapping.map_customer(order, options())["currencyCode"] == ""
    assert mapping.map_customer(order, options(customer_currency="gbp"))["currencyCode"] == "GBP"
    local = mapping.map_document(order, options(local_currency="eur"), customer_number="C")
    assert local["currencyCode"] == ""
    # Issue 13: without local_currency a foreign order still carries its currency (was: left out, so an EUR
    # order was booked in the customer's USD with the EUR amounts).
    body = mapping.map_document(order, options(local_currency=None), customer_number="C")
    assert body["currencyCode"] == "EUR"
    assert "currencyCode" not in mapping.map_customer(order, options(local_currency=None))


def test_zero_decimal_currency() -> None:
    order = load("guest")
    order.update(currency="JPY", total="4022")
    line = order["line_items"][0]
    line.update(quantity=3, subtotal="3750", total="3700", subtotal_tax="0", total_tax="0")
    body = mapping.map_document(order, options(decimals=0, local_currency="JPY"), customer_number="C")
    item = body["salesOrderLines"][1]
    assert item["unitPrice"] == 1250 and item["discountAmount"] == 50
    assert bc_line_amount(item, decimals=0) == Decimal(3700)


def test_guest_buyer_keys() -> None:
    guest = load("guest")
    assert mapping.buyer_key(guest) == ("guest", "gus.guest@example.test")
    guest["billing"]["email"] = "  Gus.Guest@Example.TEST "
    assert mapping.buyer_key(guest) == ("guest", "gus.guest@example.test")
    assert mapping.buyer_key(guest, options(guest_customer="WEBGUEST")) == ("guest_customer", "WEBGUEST")
    assert mapping.buyer_key(load("customer"), options(guest_customer="WEBGUEST")) == ("customer", "2")
    guest["billing"]["email"] = ""
    with pytest.raises(RecordError) as info:
        mapping.buyer_key(guest, options())
    assert "#17" in str(info.value) and "orders.guest_customer" in str(info.value)
    assert mapping.buyer_key(guest, options(guest_customer="WEBGUEST")) == ("guest_customer", "WEBGUEST")


def test_guest_document_and_customer() -> None:
    guest = load("guest")
    customer = mapping.map_customer(guest, options())
    assert customer == {
        "displayName": "Gus Guest", "type": "Person", "email": "gus.guest@example.test",
        "phoneNumber": "555-0199", "addressLine1": "9 Elm Rd", "addressLine2": "", "city": "Los Angeles",
        "state": "CA", "country": "US", "postalCode": "90001", "currencyCode": "",
    }
    body = mapping.map_document(guest, options(), customer_number="WEBGUEST", sell_to_from_billing=True)
    assert body["sellToAddressLine1"] == "9 Elm Rd" and body["sellToCity"] == "Los Angeles"
    assert "sellToCity" not in mapping.map_document(guest, options(), customer_number="C")


@pytest.mark.parametrize("sku", ["", "   ", None])
def test_blank_sku_names_order_line_and_product(sku: Any) -> None:
    order = load("customer")
    order["line_items"][1]["sku"] = sku
    with pytest.raises(RecordError) as info:
        mapping.map_document(order, options(), customer_number="C")
    message = str(info.value)
    assert "#16" in message and "line 2" in message and "Hoodie - M" in message


def test_sku_too_long_for_an_item_number() -> None:
    order = load("customer")
    order["line_items"][0]["sku"] = "X" * 21
    with pytest.raises(RecordError, match=r"#16: line 1 \(Test T-Shirt\)"):
        mapping.map_document(order, options(), customer_number="C")
    body = mapping.map_document(order, options(), customer_number="C", item_numbers={"X" * 21: "1000"})
    assert body["salesOrderLines"][1]["lineObjectNumber"] == "1000"


def test_shipping_without_account_names_the_key() -> None:
    order = load("customer")
    with pytest.raises(RecordError) as info:
        mapping.map_document(order, options(shipping_account=None), customer_number="C")
    assert "#16" in str(info.value) and "orders.shipping_account" in str(info.value)
    assert "orders.shipping_account" in (info.value.hint or "")
    opts = options(shipping_account=None, shipping_item="SHIP")
    body = mapping.map_document(order, opts, customer_number="C")
    ship = body["salesOrderLines"][-1]
    assert ship["lineType"] == "Item" and ship["lineObjectNumber"] == "SHIP" and ship["unitPrice"] == 10
    # an order without shipping needs no account
    mapping.map_document(load("guest"), options(shipping_account=None), customer_number="C")


def test_free_shipping_line_is_left_out() -> None:
    order = load("customer")
    order["shipping_lines"][0].update(total="0.00", total_tax="0.00")
    body = mapping.map_document(order, options(shipping_account=None), customer_number="C")
    lines = body["salesOrderLines"]
    assert [line["lineType"] for line in lines] == ["Comment", "Item", "Item"]


def test_fee_without_account_and_negative_fee() -> None:
    order = load("fee")
    with pytest.raises(RecordError) as info:
        mapping.map_document(order, options(fee_account=None), customer_number="C")
    assert "orders.fee_account" in str(info.value) and "#18" in str(info.value)
    order["fee_lines"][0].update(name="Loyalty &amp; thanks", total="-5.00", total_tax="-0.36")
    order["total"] = "42.90"  # 45.00 + 3.26 - 5.00 - 0.36
    # Issue 13: a negative fee is a discount, never negative fee income (was: -5 on the fee account 6140).
    with pytest.raises(RecordError) as info:
        mapping.map_document(order, options(), customer_number="C")
    assert "orders.discount_account" in str(info.value) and "negative fee" in str(info.value)
    body = mapping.map_document(order, options(discount_account="6910"), customer_number="C")
    fee = body["salesOrderLines"][-1]
    assert fee == {"lineType": "Account", "lineObjectNumber": "6910", "description": "Loyalty & thanks",
                   "quantity": 1, "unitPrice": -5}
    assert bc_document_total(body) == Decimal(order["total"])
    order["total"] = "-1.00"
    with pytest.raises(RecordError) as info:
        mapping.map_document(order, options(discount_account="6910"), customer_number="C")
    assert "negative" in str(info.value) and "#18" in str(info.value)


def test_line_amount_scheme_when_subtotal_does_not_divide() -> None:
    unit, discount = mapping.split_line_amount(Decimal(3), Decimal("10.00"), Decimal("9.00"), 2)
    assert unit == Decimal("3.34") and discount == Decimal("1.02")
    assert round_money(3 * unit, 2) - discount == Decimal("9.00")
    unit, discount = mapping.split_line_amount(Decimal(3), Decimal("10.00"), Decimal("10.00"), 2)
    assert discount >= 0 and round_money(3 * unit, 2) - discount == Decimal("10.00")
    with pytest.raises(ValueError):
        mapping.split_line_amount(Decimal(0), Decimal(1), Decimal(1), 2)


def test_zero_quantity_zero_total_line_is_skipped_and_bad_quantities_fail() -> None:
    order = load("customer")
    order["line_items"][0].update(quantity=0, subtotal="0", total="0", subtotal_tax="0", total_tax="0")
    lines = mapping.map_document(order, options(), customer_number="C")["salesOrderLines"]
    assert [line.get("lineObjectNumber") for line in lines] == [None, "HOODIE-M", "6130"]
    order["line_items"][0].update(quantity=0, total="5.00")
    with pytest.raises(RecordError, match="line 1"):
        mapping.map_document(order, options(), customer_number="C")
    order["line_items"][0].update(quantity=1, total="abc")
    with pytest.raises(RecordError, match="not an amount"):
        mapping.map_document(order, options(), customer_number="C")


def test_document_number() -> None:
    order = load("customer")
    assert mapping.document_number(order, "") == "16"
    assert mapping.document_number(order, " wc-") == "WC-16"
    order.update(id=99, number="a-16 ")
    assert mapping.document_number(order, "web") == "WEBA-16"  # the number, not the id
    order["number"] = "9" * 33
    assert len(mapping.document_number(order, "AB")) == 35
    with pytest.raises(RecordError, match="#9999"):
        mapping.document_number(order, "ABC")
    order["number"] = ""
    with pytest.raises(RecordError):
        mapping.document_number(order, "")


def test_document_date_uses_store_time_zone() -> None:
    order = load("customer")
    order["date_created_gmt"] = "2026-11-27T03:30:00"
    order["date_created"] = "2026-11-26T19:30:00"
    assert mapping.document_date(order, "America/Los_Angeles") == "2026-11-26"
    assert mapping.document_date(order, "UTC") == "2026-11-27"
    assert mapping.document_date(order, "Asia/Tokyo") == "2026-11-27"
    order["date_created_gmt"] = None
    assert mapping.document_date(order, "Asia/Tokyo") == "2026-11-26"  # local date as given
    body = mapping.map_document({**order, "date_created_gmt": "2026-11-27T03:30:00"},
                                options(time_zone="America/Los_Angeles"), customer_number="C")
    assert body["orderDate"] == "2026-11-26"
    order["date_created"] = None
    with pytest.raises(RecordError):
        mapping.document_date(order, "UTC")


def test_ship_to_falls_back_to_billing() -> None:
    order = load("guest")
    order["shipping"] = {key: "" for key in order["shipping"]}
    order["shipping"]["country"] = "US"
    body = mapping.map_document(order, options(), customer_number="C")
    assert body["shipToName"] == "Gus Guest" and body["shipToAddressLine1"] == "9 Elm Rd"
    assert body["shipToCity"] == "Los Angeles"


def test_unicode_text_is_kept_and_cut_to_bc_lengths() -> None:
    order = load("guest")
    billing = order["billing"]
    billing.update(first_name="Zoë 🎉", last_name="O'Brien & Sons", company="",
                   address_1="Straße " + "x" * 120, city="Sankt Peterburg-Kolpino-Ust-Izhora-Extra",
                   postcode="A" * 25, phone="+49 " + "1" * 40)
    customer = mapping.map_customer(order, options())
    assert customer["displayName"] == "Zoë 🎉 O'Brien & Sons"
    assert len(customer["addressLine1"]) == 100 and customer["addressLine1"].startswith("Straße ")
    assert len(customer["city"]) == 30 and len(customer["postalCode"]) == 20
    assert len(customer["phoneNumber"]) <= 30
    order["shipping"]["first_name"] = "Ünïcödé 🎉"
    order["shipping"]["last_name"] = "Ø" * 98
    body = mapping.map_document(order, options(), customer_number="C")
    assert mapping._utf16_len(body["shipToName"]) <= 100  # noqa: SLF001 - BC counts UTF-16 units
    assert "\ud83c" not in body["shipToName"]


def test_clip_never_breaks_a_character() -> None:
    assert mapping.clip("ab🎉", 3) == "ab"  # the emoji needs 2 UTF-16 units
    assert mapping.clip("ab🎉", 4) == "ab🎉"
    assert mapping.clip("abce\u0301f", 4) == "abc"  # e + combining acute stays together or goes
    assert mapping.clip("  a   b  ", 10) == "a b"
    assert mapping.clip("ab 👍🏽", 5) == "ab"  # no thumb without its skin tone
    assert mapping.clip(None, 5) == ""


def test_long_email_is_left_out_not_cut() -> None:
    order = load("guest")
    order["billing"]["email"] = "a" * 75 + "@example.test"
    assert "email" not in mapping.map_customer(order, options())
    assert "email" not in mapping.map_document(order, options(), customer_number="C")


def test_customer_company_type_and_template() -> None:
    order = load("customer")
    terms = "04a5738a-44e3-ea11-bb43-000d3a2feca1"
    opts = options(customer_template={"taxLiable": "true", "paymentTermsId": terms,
                                      "creditLimit": "1000.50", "type": "Person"})
    customer = mapping.map_customer(order, opts)
    assert customer["displayName"] == "Acme" and customer["type"] == "Person"  # the template wins
    assert customer["taxLiable"] is True and customer["creditLimit"] == 1000.5
    assert customer["paymentTermsId"] == terms
    assert mapping.map_customer(order, options())["type"] == "Company"
    for bad in ({"customerPostingGroup": "DOMESTIC"}, {"taxLiable": "maybe"}, {"type": "Robot"},
                {"creditLimit": "lots"}):
        with pytest.raises(ConfigError) as info:
            options(customer_template=bad)
        assert info.value.key == "orders.customer_template"


def test_customer_without_any_name_fails() -> None:
    order = load("guest")
    order["billing"].update(first_name="", last_name="", company="", email="")
    with pytest.raises(RecordError, match="displayName"):
        mapping.map_customer(order, options())
    order["billing"]["email"] = "x@example.test"
    assert mapping.map_customer(order, options())["displayName"] == "x@example.test"


def test_order_without_lines_fails() -> None:
    order = load("guest")
    order["line_items"] = []
    with pytest.raises(RecordError, match="nothing to book"):
        mapping.map_document(order, options(), customer_number="C")


def test_comment_line_and_descriptions_are_cut() -> None:
    order = load("customer")
    order["payment_method_title"] = "P" * 200
    order["shipping_lines"][0]["method_title"] = "Express &ndash; " + "s" * 150
    lines = mapping.map_document(order, options(), customer_number="C")["salesOrderLines"]
    assert len(lines[0]["description"]) == 100 and lines[0]["description"].startswith("WooCommerce order #16")
    assert len(lines[-1]["description"]) == 100 and lines[-1]["description"].startswith("Express – ")
    assert "Comment" not in [line["lineType"] for line in
                             mapping.map_document(order, options(add_comment=False),
                                                  customer_number="C")["salesOrderLines"]]


# ------------------------------------------------------------------------------------------ totals


def test_compare_totals_and_rounding_line() -> None:
    order = load("customer")
    check = mapping.compare_totals(order, {"totalAmountIncludingTax": 89.88}, Decimal("0.01"))
    assert check == mapping.TotalCheck(Decimal("89.88"), Decimal("89.88"), Decimal("0.00"), True)
    check = mapping.compare_totals(order, {"totalAmountIncludingTax": 89.87}, "0.01")
    assert check.within_tolerance and check.difference == Decimal("0.01")
    check = mapping.compare_totals(order, {"totalAmountIncludingTax": 89.9}, Decimal("0.01"))
    assert not check.within_tolerance and check.difference == Decimal("-0.02")
    assert json.dumps(check.as_dict())
    assert mapping.expected_total(order) == Decimal("89.88")
    with pytest.raises(RecordError):
        mapping.compare_totals(order, {}, Decimal("0.01"))
    line = mapping.rounding_line(check.difference, "9999")
    assert line == {"lineType": "Account", "lineObjectNumber": "9999",
                    "description": "Rounding difference to the WooCommerce total", "quantity": 1,
                    "unitPrice": -0.02}
    with pytest.raises(ConfigError):
        mapping.rounding_line(Decimal("0.02"), "")


# ------------------------------------------------------------------------- fingerprint / echo


def test_fingerprint_ignores_meta_status_dates_and_money_format() -> None:
    order = load("customer")
    base = mapping.order_fingerprint(order)
    echo = copy.deepcopy(order)
    echo["meta_data"].append({"id": 80, "key": mapping.DOCUMENT_META_KEY, "value": "SO-1001"})
    echo["meta_data"].append({"id": 81, "key": "_wcbc_booked", "value": "2026-11-26T20:30:00Z"})
    echo["status"] = "completed"
    echo["date_modified"] = echo["date_modified_gmt"] = "2026-11-27T08:00:00"
    echo["date_completed_gmt"] = "2026-11-27T08:00:00"
    echo["line_items"][1]["meta_data"].append({"id": 90, "key": "_reduced_stock", "value": "1"})
    echo["line_items"][0]["total"] = "36"
    echo["shipping_lines"][0]["total"] = "10.0"
    echo["refunds"] = [{"id": 30, "reason": "", "total": "-5.00"}]
    echo["customer_note"] = "changed note"
    assert mapping.order_fingerprint(echo) == base
    assert mapping.is_own_echo(echo, base)
    assert not mapping.is_own_echo(order, base)  # no _wcbc_bc_document meta: not our write-back
    assert mapping.diff_orders(mapping.summarize(order), echo) == []


@pytest.mark.parametrize("change", [
    lambda o: o["line_items"][0].update(quantity=3),
    lambda o: o["line_items"][1].update(sku="HOODIE-S"),
    lambda o: o["line_items"][0].update(total="35.00"),
    lambda o: o["shipping_lines"][0].update(total="12.00"),
    lambda o: o["shipping"].update(address_1="1 Other St"),
    lambda o: o["billing"].update(email="someone@example.test"),
    lambda o: o.update(currency="EUR"),
    lambda o: o["line_items"].pop(),
    lambda o: o["fee_lines"].append({"id": 99, "name": "Wrap", "total": "1.00", "total_tax": "0"}),
])
def test_fingerprint_changes_with_content(change: Any) -> None:
    order = load("customer")
    changed = copy.deepcopy(order)
    change(changed)
    fingerprint = mapping.order_fingerprint(order)
    assert mapping.order_fingerprint(changed) != fingerprint
    own = [{"key": mapping.DOCUMENT_META_KEY, "value": "X"}]
    assert not mapping.is_own_echo({**changed, "meta_data": own}, fingerprint)
    assert mapping.diff_orders(mapping.summarize(order), changed)


def test_own_echo_is_recognised_by_the_key_the_order_sync_writes() -> None:
    # The order sync writes the BC number back as meta _wcbc_bc_document: that, and only that, is our echo
    # (the old check looked for _wcbc_document, a key nothing writes).
    order = load("customer")
    base = mapping.order_fingerprint(order)
    meta = [*order["meta_data"], {"key": "_wcbc_bc_document", "value": "S-ORD101001"}]
    written = {**order, "meta_data": meta}
    assert mapping.DOCUMENT_META_KEY == "_wcbc_bc_document"
    assert mapping.is_own_echo(written, base)
    assert mapping.has_document_meta(written) and mapping.has_document_meta(written, "S-ORD101001")
    assert not mapping.has_document_meta(written, "S-ORD999999")
    old_key = {**order, "meta_data": [*order["meta_data"], {"key": "_wcbc_document", "value": "S-ORD101001"}]}
    assert not mapping.is_own_echo(old_key, base)
    assert not mapping.has_document_meta(old_key)


def test_diff_orders_reads_like_a_person_wrote_it() -> None:
    order = load("customer")
    before = mapping.summarize(order)
    changed = copy.deepcopy(order)
    changed["line_items"][1].update(quantity=2, subtotal="84.00", total="75.60", total_tax="5.48")
    changed["total"] = "131.88"
    changes = mapping.diff_orders(before, changed)
    assert "line 2 (HOODIE-M) quantity 1 -> 2" in changes
    assert "line 2 (HOODIE-M) total 37.80 -> 75.60" in changes
    assert "total 89.88 -> 131.88" in changes
    changed["line_items"].append({"id": 9, "sku": "MUG-001", "quantity": 1, "total": "12.50"})
    changed["shipping"]["city"] = "Oakland"
    changes = mapping.diff_orders(before, changed)
    assert "line 3 added: MUG-001 1" in changes and "shipping address changed" in changes
    assert mapping.diff_orders({"fingerprint": "old"}, order) == ["order content changed"]


def test_summarize_is_small_and_json_able() -> None:
    order = load("guest")
    summary = mapping.summarize(order)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["number"] == "17" and summary["status"] == "processing" and summary["total"] == "40.22"
    assert summary["currency"] == "USD" and summary["lines"] == 1
    assert summary["customer"] == "guest:gus.guest@example.test"
    assert summary["fingerprint"] == mapping.order_fingerprint(order)
    assert summary["items"] == [["MUG-001", "3", "37.50", "2.72"]]
    assert "9 Elm Rd" not in json.dumps(summary)  # addresses only as hashes


# --------------------------------------------------------------------------------------- options


def test_options_from_config_duck_typed() -> None:
    cfg = SimpleNamespace(
        orders=SimpleNamespace(target="sales_invoice", number_prefix="WEB-", prices_include_tax=False,
                               shipping_account="6130", shipping_item=None, fee_account=None,
                               local_currency="USD", customer_template={"taxLiable": "false"},
                               guest_customer="G1"),
        woocommerce=SimpleNamespace(time_zone="Europe/Berlin", decimals=3),
    )
    opts = MappingOptions.from_config(cfg)
    assert opts.target == "sales_invoice" and opts.number_prefix == "WEB-" and opts.decimals == 3
    assert opts.time_zone == "Europe/Berlin" and opts.guest_customer == "G1"
    assert MappingOptions.from_config(SimpleNamespace()) == MappingOptions()


def test_options_refuse_bad_values() -> None:
    with pytest.raises(ConfigError) as info:
        MappingOptions(target="quote")
    assert info.value.key == "orders.target"
    with pytest.raises(ConfigError) as info:
        MappingOptions(time_zone="Mars/Olympus")
    assert info.value.key == "woocommerce.time_zone"
    with pytest.raises(ConfigError):
        MappingOptions(decimals=-1)
    with pytest.raises(ConfigError):
        MappingOptions(number_prefix="P" * 35)
    assert MappingOptions(shipping_account="  ").shipping_account is None
