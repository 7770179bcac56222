"""The buyer's customer by e-mail: case-insensitive key, several customers refused unless linked."""

from __future__ import annotations

from tests.sync.orders.fakes import order
from tests.sync.orders.test_plan import decide
from wcbc.sync.orders import buyers
from wcbc.sync.orders.plan import Found, Known


def test_email_filters_compare_lower_cased() -> None:
    [flt] = buyers.email_filters(["Jane.Doe@Example.test", "jane.doe@example.test ", "O'Hara@x.test"])
    assert flt == "tolower(email) in ('jane.doe@example.test','o''hara@x.test')"
    assert buyers.email_equals(" A@B.test") == "tolower(email) eq 'a@b.test'"


def test_group_by_email_keeps_every_customer_of_one_address() -> None:
    one = {"id": "1", "number": "C1", "email": "Twin@X.test"}
    rows = [one, {"id": "2", "number": "C2", "email": "twin@x.test"}, one,
            {"id": "3", "number": "C3", "email": "a@x.test"}]
    first, same = buyers.group_by_email(rows)
    assert first["twin@x.test"]["number"] == "C1" and first["a@x.test"]["number"] == "C3"
    assert [c["number"] for c in same["twin@x.test"]] == ["C1", "C2"] and "a@x.test" not in same


def test_two_customers_for_one_email_reject_the_order_unless_the_buyer_is_linked() -> None:
    o = order(16, email="Twin@X.test")
    rows = [{"id": "1", "number": "C1", "email": "twin@x.test", "displayName": "One"},
            {"id": "2", "number": "C2", "email": "TWIN@x.test", "displayName": "Two"}]
    first, same = buyers.group_by_email(rows)
    found = Found(items={"MUG-001": False}, customers=first, same_email=same)
    p = decide(o, found=found)
    assert p.decision == "rejected" and "C1 (One), C2 (Two)" in str(p.message) and "#16" in str(p.message)
    linked = decide(o, found=found, known=Known(customers={"guest:twin@x.test": "C2"}))
    assert linked.decision == "book" and linked.customer is not None and linked.customer.number == "C2"
    single = decide(o, found=Found(items={"MUG-001": False}, customers={"twin@x.test": rows[0]}))
    assert single.decision == "book" and single.customer is not None and single.customer.number == "C1"
