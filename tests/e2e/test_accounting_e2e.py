"""Accounting integrity end to end (issue 13): every booked document equals the store's order to the cent,
or the order fails, alone, saying why; nothing is plugged on the rounding account beyond its cap."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import E2E, make_env
from tests.e2e.test_orders_e2e import SHIP, docs, jane

CODES = '[orders.tax_codes]\nstandard = "TAXABLE"\n"reduced-rate" = "REDUCED"\nuntaxed = "NONTAXABLE"\n'


def _money(value: object) -> Decimal:
    return Decimal(str(value))


def _exact(doc: dict, order: dict) -> None:
    """The document equals the order: total and tax to the cent, no rounding line."""
    assert _money(doc["totalAmountIncludingTax"]) == _money(order["total"])
    assert _money(doc["totalTaxAmount"]) == _money(order["total_tax"])
    assert not any(ln["lineObjectNumber"] == "6630" for ln in doc["lines"])


def _reduced_env(tmp_path, monkeypatch):
    for env in make_env(tmp_path, monkeypatch, woo_options={"reduced_rate": "5"}):
        env.woo.add_product("BOOK-001", "A book", "15.00", tax_class="reduced-rate")
        env.bc.add_item("BOOK-001", "A book", "15.00", 10)
        env.bc.add_tax_group("REDUCED", "5", "Reduced rate")
        yield env


def test_mixed_rates_fail_without_a_tax_code_and_book_exactly_with_one(tmp_path, monkeypatch) -> None:
    """Before: BC taxed the book at 7.25 % and the 0.68 tax difference went to 6630 as "rounding"."""
    for env in _reduced_env(tmp_path, monkeypatch):
        order = env.woo.create_order(
            customer_id=jane(env),
            line_items=[{"sku": "BOOK-001", "quantity": 2}, {"sku": "MUG-001", "quantity": 1}],
        )
        assert len(order["tax_lines"]) == 2
        code, out, err = env.cli("sync-orders")
        assert code == 1
        text = out + err
        assert f"#{order['number']}" in text and "BOOK-001" in text and "draft was deleted" in text
        assert docs(env, order["number"]) == []  # never posted nor left while it disagrees
        # The fix: map the store's tax classes; the failed order is booked by the next run, exactly.
        env.write_config(extra=CODES)
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        _exact(doc, order)
        codes = [ln.get("taxCode") for ln in doc["lines"] if ln["lineType"] == "Item"]
        assert codes == ["REDUCED", "TAXABLE"]


def test_reduced_rate_cart_ships_untaxed_as_the_store_does(tmp_path, monkeypatch) -> None:
    """Shipping tax class "inherit": a cart of reduced-rate items only pays no tax on shipping (the reduced
    rate does not apply to shipping). Before: BC taxed the shipping line and -0.36... was plugged."""
    for env in _reduced_env(tmp_path, monkeypatch):
        env.write_config(extra=CODES)
        order = env.woo.create_order(
            customer_id=jane(env), line_items=[{"sku": "BOOK-001", "quantity": 1}], shipping_lines=SHIP
        )
        assert _money(order["shipping_tax"]) == 0 and _money(order["total_tax"]) > 0
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        _exact(doc, order)
        shipping = next(ln for ln in doc["lines"] if ln["lineObjectNumber"] == "6610")
        assert shipping["taxCode"] == "NONTAXABLE" and _money(shipping["totalTaxAmount"]) == 0


def test_customer_not_tax_liable_in_bc_fails_instead_of_plugging_the_tax(e2e: E2E) -> None:
    """Before: the store's 3.90... tax went to the rounding account and the run exited 0."""
    buyer = e2e.woo.add_customer("exempt@example.test", "Ex", "Empt")
    e2e.bc.add_customer("Ex Empt", "exempt@example.test", taxLiable=False)
    order = e2e.woo.create_order(customer_id=buyer["id"], line_items=[{"sku": "TSHIRT-001", "quantity": 2}])
    assert _money(order["total_tax"]) > 0
    code, out, err = e2e.cli("sync-orders")
    assert code == 1
    assert "tax liable" in out + err
    assert docs(e2e, order["number"]) == []


def test_untaxed_store_line_booked_untaxed_or_failed(tmp_path, monkeypatch) -> None:
    """The store charged no tax (a zero-rate product), BC would: without a code the order fails naming
    the cause; with ``untaxed`` mapped it is booked exactly."""
    for env in make_env(tmp_path, monkeypatch):
        env.woo.add_product("FOOD-001", "Bread", "4.00", tax_class="zero-rate")
        env.bc.add_item("FOOD-001", "Bread", "4.00", 10)
        order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "FOOD-001", "quantity": 3}])
        assert _money(order["total_tax"]) == 0
        code, out, err = env.cli("sync-orders")
        assert code == 1 and "charged tax where the store charged none" in out + err
        assert docs(env, order["number"]) == []
        env.write_config(extra='[orders.tax_codes]\nstandard = "TAXABLE"\n')
        code, out, err = env.cli("sync-orders")  # an unmapped class: the order, the field and the fix
        assert code == 1
        assert "untaxed" in out + err and "orders.tax_codes" in out + err
        env.write_config(extra='[orders.tax_codes]\nstandard = "TAXABLE"\nuntaxed = "NONTAXABLE"\n')
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        _exact(docs(env, order["number"])[0], order)


def _target(env: E2E, target: str) -> None:
    text = env.config_path.read_text().replace("[orders]\n", f'[orders]\ntarget = "{target}"\n')
    env.config_path.write_text(text)


def test_a_post_that_fails_is_that_order_outcome_not_the_run(e2e: E2E) -> None:
    """Before: the re-post of a found draft ran outside the per-order handling: every later run "stopped",
    new orders were never booked and the failing order never reached on hold."""
    _target(e2e, "posted_invoice")
    bad = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    good = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "CAP-001", "quantity": 1}])
    e2e.bc.fail_posting(external_document_number=f"WC-{bad['number']}", message="Posting Date is not within "
                        "your range of allowed posting dates.")
    code, out, err = e2e.cli("sync-orders")
    assert code == 1, out + err
    assert "refused to post" in out + err and "allowed posting dates" in out + err
    [draft] = docs(e2e, bad["number"])
    assert draft["status"] == "Draft"  # reported, kept, reused on retry
    assert docs(e2e, good["number"])[0]["status"] == "Open"
    later = []
    for attempt in (2, 3):
        items = [{"sku": "CAP-001", "quantity": attempt}]
        later.append(e2e.woo.create_order(customer_id=jane(e2e), line_items=items))
        code, out, err = e2e.cli("sync-orders")
        assert code == 1 and "stopped" not in out.lower(), out + err
        assert docs(e2e, later[-1]["number"])[0]["status"] == "Open"  # new orders are still booked
        assert len(docs(e2e, bad["number"])) == 1  # the one draft, never a second
    assert "on hold" in (out + err).lower() or "on_hold" in out + err
    e2e.bc.clear_post_failures()
    code, out, err = e2e.cli("replay", f"order:{bad['id']}")
    assert code == 0, out + err
    [posted] = docs(e2e, bad["number"])
    assert posted["status"] == "Open"


def test_foreign_currency_orders_carry_their_currency_and_unknown_ones_fail_alone(e2e: E2E) -> None:
    """Before: without local_currency an EUR order was booked in USD with the EUR amounts, and a new
    buyer's card took the first order's currency."""
    buyer = e2e.woo.add_customer("eu.buyer@example.test", "Eu", "Buyer")
    eur = e2e.woo.create_order(customer_id=buyer["id"], currency="EUR",
                               line_items=[{"sku": "MUG-001", "quantity": 1}])
    yen = e2e.woo.create_order(customer_id=jane(e2e), currency="JPY",
                               line_items=[{"sku": "CAP-001", "quantity": 1}])
    code, out, err = e2e.cli("sync-orders")
    assert code == 1
    assert f"#{yen['number']}" in out + err and "currency JPY" in out + err and "Currencies" in out + err
    assert docs(e2e, yen["number"]) == []
    [doc] = docs(e2e, eur["number"])
    assert doc["currencyCode"] == "EUR"
    card = next(c for c in e2e.bc.customers() if c["email"] == "eu.buyer@example.test")
    assert card["currencyCode"] in ("", "USD")  # the local currency, not the first order's EUR
    # Without local_currency the EUR order is still an EUR document.
    e2e.write_config()
    e2e.config_path.write_text(e2e.config_path.read_text().replace('local_currency = "USD"\n', ""))
    again = e2e.woo.create_order(customer_id=jane(e2e), currency="EUR",
                                 line_items=[{"sku": "MUG-001", "quantity": 2}])
    e2e.cli("sync-orders", "--order", str(again["id"]))
    assert docs(e2e, again["number"])[0]["currencyCode"] == "EUR"


def _doctor(e2e: E2E) -> dict[str, object]:
    from wcbc.ops.doctor import run_checks

    return {c.name: c for c in run_checks(e2e.config_path)}


def test_doctor_checks_tax_codes_rounding_account_and_currency(e2e: E2E) -> None:
    code, out, err = e2e.cli("doctor")
    assert code == 0, out + err
    checks = _doctor(e2e)
    assert checks["currency"].ok and "local currency USD" in checks["currency"].detail
    assert checks["rounding account"].ok and "not visible" in checks["rounding account"].detail
    e2e.write_config(extra='[orders.tax_codes]\nstandard = "TAXABLE"\nuntaxed = "ZERO"\n')
    assert e2e.cli("doctor")[0] != 0
    bad = _doctor(e2e)["tax codes"]
    assert not bad.ok and "untaxed = ZERO" in bad.detail and "TAXABLE" in str(bad.hint)
    e2e.write_config(extra='[orders.tax_codes]\nstandard = "TAXABLE"\nuntaxed = "NONTAXABLE"\n')
    assert e2e.cli("doctor")[0] == 0
    assert "sent with tax group NONTAXABLE" in _doctor(e2e)["rounding account"].detail
    text = e2e.config_path.read_text()
    e2e.config_path.write_text(text.replace('local_currency = "USD"', 'local_currency = "EUR"'))
    assert e2e.cli("doctor")[0] != 0
    assert "EUR is a foreign currency in BC" in _doctor(e2e)["currency"].detail


def _reconcile_orders(env: E2E) -> list:
    from wcbc.sync.reconcile import Reconciler

    ctx = env.context()
    try:
        report = Reconciler(ctx.woo, ctx.bc, ctx.state, ctx.config, dry_run=True).run(orders=True)
    finally:
        ctx.close()
    return report.orders.issues


def test_reconcile_orders_none_after_mixed_orders_and_a_wrong_tax_reported(tmp_path, monkeypatch) -> None:
    for env in _reduced_env(tmp_path, monkeypatch):
        env.write_config(extra=CODES)
        env.woo.add_product("FOOD-001", "Bread", "4.00", tax_class="zero-rate")
        env.bc.add_item("FOOD-001", "Bread", "4.00", 10)
        orders = [
            env.woo.create_order(customer_id=jane(env), shipping_lines=SHIP, line_items=[
                {"sku": "BOOK-001", "quantity": 2}, {"sku": "MUG-001", "quantity": 1}]),
            env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "BOOK-001", "quantity": 3}],
                                 shipping_lines=SHIP, coupon_lines=[{"code": "save10"}]),
            env.woo.create_order(customer_id=jane(env), line_items=[
                {"sku": "FOOD-001", "quantity": 1}, {"sku": "TSHIRT-001", "quantity": 1}],
                fee_lines=[{"name": "Gift wrap", "total": "2.50", "tax_status": "taxable"}]),
            env.woo.create_order(customer_id=jane(env), currency="EUR",
                                 line_items=[{"sku": "HOODIE-M", "quantity": 1}], shipping_lines=SHIP),
        ]
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        for order in orders:
            _exact(docs(env, order["number"])[0], order)
        assert _reconcile_orders(env) == []
        # A document booked another way, whose tax BC computed differently (the store charged none):
        # reported by reconcile --orders.
        food = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "FOOD-001", "quantity": 5}])
        ctx = env.context()
        try:
            line = {"lineType": "Item", "lineObjectNumber": "FOOD-001", "quantity": 5, "unitPrice": 4}
            ctx.bc.post("salesOrders", {"externalDocumentNumber": f"WC-{food['number']}",
                                        "customerNumber": env.bc.customers()[0]["number"],
                                        "salesOrderLines": [line]})
        finally:
            ctx.close()
        found = _reconcile_orders(env)
        number = f"WC-{food['number']}"
        kinds = {(i.kind, i.external_number) for i in found}
        assert kinds == {("total_differs", number), ("tax_differs", number)}
        assert "tax: WooCommerce 0.00 vs BC 1.45" in next(i.detail for i in found if i.kind == "tax_differs")


def test_unit_price_keeps_its_decimals_and_no_discount_is_invented(e2e: E2E) -> None:
    """Before: 450 x 4.995 was sent as 5.00 less a made-up 2.25 line discount."""
    e2e.woo.add_product("PEN-001", "Pen", "4.995")
    e2e.bc.add_item("PEN-001", "Pen", "4.995", 1000)
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "PEN-001", "quantity": 450}])
    assert order["line_items"][0]["subtotal"] == order["line_items"][0]["total"] == "2247.75"
    code, out, err = e2e.cli("sync-orders")
    assert code == 0, out + err
    doc = docs(e2e, order["number"])[0]
    [line] = [ln for ln in doc["lines"] if ln["lineType"] == "Item"]
    assert _money(line["unitPrice"]) == Decimal("4.995") and _money(line["discountAmount"]) == 0
    _exact(doc, order)


def test_start_date_is_a_floor_for_every_read(e2e: E2E) -> None:
    """Before: the overlap window (or --since) reached before start_date and booked orders created before
    go-live."""
    import datetime as dt

    old = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "MUG-001", "quantity": 1}])
    with e2e.woo.lock:  # an order placed three days before go-live (the sandbox clock only moves forward)
        record = e2e.woo.order_index[old["id"]]
        record.date_created -= dt.timedelta(days=3)
        old = e2e.woo.get_order(old["id"])
    new = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "CAP-001", "quantity": 1}])
    go_live = (dt.datetime.fromisoformat(new["date_created_gmt"]) - dt.timedelta(days=1)).date().isoformat()
    text = e2e.config_path.read_text().replace('start_date = "2020-01-01"', f'start_date = "{go_live}"')
    e2e.config_path.write_text(text)
    e2e.woo.set_order_status(old["id"], "completed")  # modified after go-live, created before
    code, out, err = e2e.cli("sync-orders", "--since", old["date_created_gmt"])
    assert code == 0, out + err
    assert docs(e2e, old["number"]) == [] and len(docs(e2e, new["number"])) == 1
    assert f"before orders.start_date {go_live}" in out
    for args in (("sync-orders", "--order", str(old["id"])), ("replay", f"order:{old['id']}")):
        code, out, err = e2e.cli(*args)  # a webhook's or a replay's order is skipped alike
        assert code == 0 and docs(e2e, old["number"]) == [], out + err
    code, out, err = e2e.cli("replay", f"order:{old['id']}", "--force")
    assert code == 0, out + err
    assert len(docs(e2e, old["number"])) == 1


def test_email_matched_case_insensitively_and_several_customers_fail_the_order(e2e: E2E) -> None:
    """Before: Jane.Doe@Example.test created a second Jane; of two customers with one e-mail the first won."""
    billing = {"first_name": "Jane", "last_name": "Doe", "email": "Jane.Doe@Example.test", "country": "US",
               "state": "CA", "city": "San Francisco", "postcode": "94103", "address_1": "1 Main Street"}
    before = len(e2e.bc.customers())
    jane_order = e2e.woo.create_order(billing=billing, line_items=[{"sku": "MUG-001", "quantity": 1}])
    e2e.bc.add_customer("Twin One", "twin@example.test")
    e2e.bc.add_customer("Twin Two", "Twin@Example.TEST")
    twin = e2e.woo.create_order(billing={**billing, "first_name": "Twin", "email": "twin@example.test"},
                                line_items=[{"sku": "CAP-001", "quantity": 1}])
    code, out, err = e2e.cli("sync-orders")
    assert code == 1
    jane_card = next(c for c in e2e.bc.customers() if c["displayName"] == "Jane Doe")
    assert docs(e2e, jane_order["number"])[0]["customerNumber"] == jane_card["number"]
    assert len(e2e.bc.customers()) == before + 2  # only the two twins added by the test, no second Jane
    text = out + err
    assert f"#{twin['number']}" in text and "2 BC customers" in text and "Twin One" in text
    assert "Twin Two" in text and docs(e2e, twin["number"]) == []


def test_customer_templates_per_billing_country_and_the_vat_number(e2e: E2E) -> None:
    e2e.write_config(extra='[orders.customer_templates.DE]\ntaxLiable = "false"\n')
    meta_key = '[orders]\nvat_number_meta = "_billing_vat_number"\n'
    text = e2e.config_path.read_text().replace("[orders]\n", meta_key)
    e2e.config_path.write_text(text)
    billing = {"first_name": "Grete", "last_name": "Berg", "email": "grete@example.test", "country": "DE",
               "city": "Berlin", "postcode": "10115", "address_1": "Unter den Linden 1"}
    e2e.woo.create_order(billing=billing, line_items=[{"sku": "MUG-001", "quantity": 1}],
                         meta_data=[{"key": "_billing_vat_number", "value": "DE 123 456 789"}])
    american = {**billing, "email": "sam@example.test", "country": "US", "state": "CA"}
    us = e2e.woo.create_order(billing=american, line_items=[{"sku": "MUG-001", "quantity": 1}])
    e2e.cli("sync-orders")
    cards = {c["email"]: c for c in e2e.bc.customers()}
    assert cards["grete@example.test"]["taxRegistrationNumber"] == "DE123456789"
    assert cards["grete@example.test"]["taxLiable"] is False
    sam = cards["sam@example.test"]
    assert sam["taxLiable"] is True and not sam["taxRegistrationNumber"]
    assert docs(e2e, us["number"])  # the US buyer is booked as usual


def test_prices_including_tax_on_invoices_are_sent_net_or_the_order_fails(tmp_path, monkeypatch) -> None:
    """Before: gross unit prices were sent on an invoice (pricesIncludeTax read-only, following the
    customer), BC added tax on top and the difference was plugged."""
    for env in make_env(tmp_path, monkeypatch, woo_options={"prices_include_tax": True}):
        env.bc.store.tax_mode = "vat"
        text = env.config_path.read_text().replace(
            "[orders]\n", '[orders]\nprices_include_tax = true\ntarget = "sales_invoice"\n')
        env.config_path.write_text(text)
        order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "TSHIRT-001", "quantity": 3}],
                                     shipping_lines=SHIP)
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        assert doc["pricesIncludeTax"] is False
        _exact(doc, order)
        # A customer whose card says "Prices Including VAT" (not visible through the API): the net prices
        # would be read as gross: the order fails, nothing is left in BC.
        buyer = env.woo.add_customer("gross@example.test", "Gro", "Ss")
        card = env.bc.add_customer("Gro Ss", "gross@example.test")
        env.bc.set_customer_prices_including_vat(card["number"], True)
        gross = env.woo.create_order(customer_id=buyer["id"], line_items=[{"sku": "MUG-001", "quantity": 2}])
        code, out, err = env.cli("sync-orders")
        assert code == 1 and "Prices Including VAT" in out + err
        assert docs(env, gross["number"]) == []


def test_negative_fee_is_a_discount_not_negative_fee_income(e2e: E2E) -> None:
    """Before: a negative fee became a negative line on the fee account (6620)."""
    e2e.bc.add_account("6910", "Sales Discounts", "TAXABLE")
    fee = {"name": "Loyalty discount", "total": "-5.00", "tax_status": "taxable"}
    order = e2e.woo.create_order(customer_id=jane(e2e), line_items=[{"sku": "TSHIRT-001", "quantity": 2}],
                                 fee_lines=[fee])
    code, out, err = e2e.cli("sync-orders")
    assert code == 1 and "orders.discount_account" in out + err and "negative fee" in out + err
    assert docs(e2e, order["number"]) == []
    text = e2e.config_path.read_text().replace("[orders]\n", '[orders]\ndiscount_account = "6910"\n')
    e2e.config_path.write_text(text)
    code, out, err = e2e.cli("sync-orders")
    assert code == 0, out + err
    doc = docs(e2e, order["number"])[0]
    _exact(doc, order)
    assert not any(ln["lineObjectNumber"] == "6620" for ln in doc["lines"])
    [discount] = [ln for ln in doc["lines"] if ln["lineObjectNumber"] == "6910"]
    assert _money(discount["unitPrice"]) == Decimal("-5")


@pytest.mark.parametrize("choice", ["order", "paid", "run"])
def test_posting_date_order_paid_or_run(tmp_path, monkeypatch, choice: str) -> None:
    import datetime as dt

    for env in make_env(tmp_path, monkeypatch):
        text = env.config_path.read_text().replace(
            "[orders]\n", f'[orders]\ntarget = "sales_invoice"\nposting_date = "{choice}"\n')
        env.config_path.write_text(text)
        order = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "MUG-001", "quantity": 1}])
        with env.woo.lock:  # placed two days before it was paid
            env.woo.order_index[order["id"]].date_created -= dt.timedelta(days=2)
        order = env.woo.get_order(order["id"])
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, order["number"])[0]
        zone = ZoneInfo(env.woo.time_zone)
        created = dt.datetime.fromisoformat(order["date_created_gmt"] + "+00:00").astimezone(zone).date()
        paid = dt.datetime.fromisoformat(order["date_paid_gmt"] + "+00:00").astimezone(zone).date()
        assert doc["invoiceDate"] == created.isoformat()
        if choice == "run":  # not sent: BC's work date, the day of the run (not the order's, 2 days back)
            assert doc["postingDate"] and doc["postingDate"] != created.isoformat()
        else:
            assert doc["postingDate"] == (created if choice == "order" else paid).isoformat()


def test_a_few_cents_go_to_the_rounding_account_untaxed_up_to_the_cap(tmp_path, monkeypatch) -> None:
    """BC's REDUCED group at 5.1 % against the store's 5 %: 0.03 on 30.00. Within rounding_cap (0.05) one
    untaxed line on 6630 closes it and the document is checked again; with a cap of 0.02 the order fails."""
    for env in make_env(tmp_path, monkeypatch, woo_options={"reduced_rate": "5"}):
        env.woo.add_product("BOOK-001", "A book", "15.00", tax_class="reduced-rate")
        env.bc.add_item("BOOK-001", "A book", "15.00", 10)
        env.bc.add_tax_group("REDUCED", "5.1", "Reduced rate")
        env.write_config(extra=CODES)
        first = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "BOOK-001", "quantity": 2}])
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        doc = docs(env, first["number"])[0]
        assert _money(doc["totalAmountIncludingTax"]) == _money(first["total"])
        [rounding] = [ln for ln in doc["lines"] if ln["lineObjectNumber"] == "6630"]
        assert _money(rounding["unitPrice"]) == Decimal("-0.03") and rounding["taxCode"] == "NONTAXABLE"
        text = env.config_path.read_text().replace("[orders]\n", '[orders]\nrounding_cap = "0.02"\n')
        env.config_path.write_text(text)
        second = env.woo.create_order(customer_id=jane(env), line_items=[{"sku": "BOOK-001", "quantity": 2}])
        code, out, err = env.cli("sync-orders")
        assert code == 1 and "BOOK-001" in out + err
        assert docs(env, second["number"]) == []


def test_tax_codes_agree_in_a_vat_company_too(tmp_path, monkeypatch) -> None:
    """Under VAT the table names VAT product posting groups (same line field, taxCode, §10.6)."""
    for env in _reduced_env(tmp_path, monkeypatch):
        env.bc.set_tax_mode("vat")
        env.write_config(extra=CODES)
        order = env.woo.create_order(customer_id=jane(env), shipping_lines=SHIP, line_items=[
            {"sku": "BOOK-001", "quantity": 2}, {"sku": "MUG-001", "quantity": 1}])
        code, out, err = env.cli("sync-orders")
        assert code == 0, out + err
        _exact(docs(env, order["number"])[0], order)
