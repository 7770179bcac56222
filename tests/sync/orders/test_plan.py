"""The order planner on plain data: dicts for orders, state snapshots and BC lookups; no HTTP, no state DB."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sync.orders.fakes import config, order
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders import plan
from wcbc.sync.orders.plan import Found, Known, Policy


def setup(**orders_cfg: Any) -> tuple[Policy, mapping.MappingOptions]:
    cfg = config(**orders_cfg)
    options = mapping.MappingOptions.from_config(cfg)
    return Policy.from_config(cfg, options), options


def booked_link(o: dict, number: str = "S-1") -> dict:
    return {"woo_id": str(o["id"]), "bc_id": "doc-1", "bc_number": number,
            "data": {"entity": "salesOrders", "summary": mapping.summarize(o)}}


def decide(o: dict, *, known: Known | None = None, found: Found | None = None, skus: SkuMap | None = None,
           **orders_cfg: Any) -> plan.OrderPlan:
    policy, options = setup(**orders_cfg)
    found = found if found is not None else Found(items={"MUG-001": False})
    return plan.decide(o, known or Known(), found, policy, options, skus or SkuMap())


# ------------------------------------------------------------------------------------------- triage


def test_triage_unchanged_order_needs_nothing() -> None:
    o = order(16, meta=[{"key": mapping.DOCUMENT_META_KEY, "value": "S-1"}])
    policy, _ = setup()
    p = plan.triage(o, Known(links={16: booked_link(o)}), policy)
    assert p is not None and p.decision == "unchanged" and p.document == "S-1" and p.writes == []


def test_triage_unchanged_without_meta_plans_the_write_back_again() -> None:
    o = order(16)
    policy, _ = setup(add_note=True)
    p = plan.triage(o, Known(links={16: booked_link(o)}), policy)
    assert p is not None and p.decision == "unchanged"
    assert [(w.action, w.system, w.key) for w in p.writes] == [
        ("write_back", "woocommerce", "16"), ("add_note", "woocommerce", "16")]


def test_triage_changed_after_booking_is_a_conflict() -> None:
    before = order(16)
    after = order(16, price="12.00")
    policy, _ = setup()
    p = plan.triage(after, Known(links={16: booked_link(before)}), policy)
    assert p is not None and p.decision == "conflict" and p.document == "S-1"
    assert "line 1 (MUG-001) total 10.00 -> 12.00" in p.changes
    assert p.message and p.message.startswith("changed after booking: ")
    assert p.writes == []  # a conflict is reported, never booked a second time


def test_triage_on_hold_is_held_unless_replayed() -> None:
    o = order(16)
    known = Known(records={16: {"status": "on_hold"}})
    policy, _ = setup()
    held = plan.triage(o, known, policy)
    assert held is not None and held.decision == "held"
    cfg = config()
    replaying = Policy.from_config(cfg, mapping.MappingOptions.from_config(cfg), replay=True)
    assert plan.triage(o, known, replaying) is None


def test_triage_status_outside_the_list_is_skipped_with_the_reason() -> None:
    policy, _ = setup()
    p = plan.triage(order(16, status="on-hold"), Known(), policy)
    assert p is not None and p.decision == "skipped"
    assert p.message == "status 'on-hold' is not in orders.statuses (processing, completed)"


def test_triage_new_order_needs_the_lookups() -> None:
    policy, _ = setup()
    assert plan.triage(order(16), Known(records={16: {"status": "failed"}}), policy) is None


# ------------------------------------------------------------------------------------------- lookups


def test_what_to_look_up() -> None:
    policy, options = setup()
    orders = [order(1, skus=("MUG-001", "CAP-001")), order(2, email="Linked@Example.test"),
              order(3, customer_id=7, email="reg@example.test"), order(4, email="")]
    known = Known(customers={"guest:linked@example.test": "C1"})
    assert plan.wanted_emails(orders, known, options) == {"gus@example.test", "reg@example.test"}
    assert plan.wanted_skus(orders, SkuMap(), {"MUG-001": False}) == {"CAP-001"}
    assert plan.wanted_skus(orders, SkuMap({"BC-MUG": "MUG-001"}), {}) == {"BC-MUG", "CAP-001"}
    _, shared = setup(guest_customer="GUESTS")
    assert plan.wanted_emails(orders, Known(), shared) == {"reg@example.test"}


# ------------------------------------------------------------------------------------------- decide


GUS = Known(customers={"guest:gus@example.test": "C1"})  # the guest of order(16) has BC customer C1


def ours(o: dict, entity: str = "salesOrders", **fields: Any) -> dict:
    """A BC document as the mapping wrote it for ``o``: its comment line, customer C1 and total."""
    lines = "salesOrderLines" if entity == "salesOrders" else "salesInvoiceLines"
    doc = {"id": "d1", "number": "S-9", "externalDocumentNumber": str(o["number"]), "@entity": entity,
           "customerNumber": "C1", "totalAmountIncludingTax": float(o["total"]),
           lines: [{"lineType": "Comment", "description": mapping.comment_text(o)},
                   {"lineType": "Item", "description": "Mug"}]}
    doc.update(fields)
    return doc


def test_document_found_in_bc_is_linked_not_booked() -> None:
    # Changed with issue 14: the document must be proved to be the order's (comment line, customer,
    # total); a bare document carrying the key is no longer linked (see the test after this one).
    o = order(16, number="16")
    doc = ours(o)
    p = decide(o, known=GUS, found=Found(documents={"16": doc}, items={}), add_note=True)
    assert p.decision == "linked" and p.document == "S-9" and p.found is doc
    assert [w.action for w in p.writes] == ["write_back", "add_note"]


def test_a_document_that_merely_carries_the_key_is_refused_naming_it() -> None:
    o = order(16, number="16")
    bare = {"id": "d1", "number": "S-9", "externalDocumentNumber": "16", "@entity": "salesOrders",
            "customerNumber": "C9", "totalAmountIncludingTax": 99, "salesOrderLines": []}
    p = decide(o, known=GUS, found=Found(documents={"16": bare}, items={}))
    assert p.decision == "rejected" and p.writes == []
    assert "BC document S-9 (customer C9) carries its externalDocumentNumber 16" in str(p.message)
    for reason in ("no comment line names web order #16", "its customer is C9, the order's is C1",
                   "its total is 99, the order's 10.00", "wcbc replay order:16"):
        assert reason in str(p.message)
    # another web order's comment line: refused too (wc-16 upper-cased is WC-16)
    other = ours(order(17, number="wc-16"), externalDocumentNumber="WC-16")
    p = decide(order(16, number="WC-16"), known=GUS, found=Found(documents={"WC-16": other}, items={}))
    assert p.decision == "rejected" and "no comment line names web order #WC-16" in str(p.message)
    # a buyer without a BC customer yet cannot own a document
    p = decide(o, found=Found(documents={"16": ours(o)}, items={}))
    assert p.decision == "rejected" and "the buyer has no BC customer yet" in str(p.message)
    # ours among others: the proved one is linked
    both = Found(candidates={"16": [bare, ours(o, id="d2", number="S-10")]}, items={})
    p = decide(o, known=GUS, found=both)
    assert p.decision == "linked" and p.document == "S-10"


def test_two_orders_whose_keys_collide_for_bc_the_second_is_refused_before_any_write() -> None:
    claimed: dict[str, Any] = {}
    policy, options = setup()
    first = plan.decide(order(16, number="wc-16"), Known(), Found(items={"MUG-001": False}), policy, options,
                        SkuMap(), claimed=claimed)
    second = plan.decide(order(17, number=" WC-16 "), Known(), Found(items={"MUG-001": False}), policy,
                         options, SkuMap(), claimed=claimed)
    assert first.decision == "book" and claimed == {"WC-16": {"id": 16, "number": "wc-16"}}
    assert second.decision == "rejected" and second.writes == []
    assert "as that of order wc-16 (id 16) in this run" in str(second.message)


def test_draft_invoice_found_is_posted_when_the_target_is_posted_invoice() -> None:
    doc = ours(order(16), "salesInvoices", number="I-9", status="Draft")
    p = decide(order(16), known=GUS, found=Found(documents={"16": doc}), target="posted_invoice")
    assert p.decision == "linked" and [(w.action, w.key) for w in p.writes][0] == ("post", "16")
    p = decide(order(16), known=GUS, found=Found(documents={"16": doc}), target="sales_invoice")
    assert p.write("post") is None


def test_order_carrying_our_meta_is_never_booked_again() -> None:
    o = order(16, meta=[{"key": mapping.DOCUMENT_META_KEY, "value": "S-7"}])
    p = decide(o, number_prefix="WEB-")
    assert p.decision == "linked_by_meta" and p.document == "S-7" and p.writes == []
    assert "WEB-16" in str(p.message) and "not booked again" in str(p.message)


def test_new_buyer_gets_a_customer_then_the_document() -> None:
    p = decide(order(16), add_note=True)
    assert p.decision == "book"
    assert [(w.action, w.system, w.key) for w in p.writes] == [
        ("create_customer", "bc", "guest:gus@example.test"),
        ("create_document", "bc", "16"),
        ("write_back", "woocommerce", "16"),
        ("add_note", "woocommerce", "16"),
    ]
    assert p.customer is not None and p.customer.number is None and p.customer.email == "gus@example.test"
    document = p.write("create_document")
    assert document is not None and document.note == "salesOrders"
    assert document.body["customerNumber"] == "(new customer for gus@example.test)"
    assert document.body["externalDocumentNumber"] == "16"
    assert [ln["lineType"] for ln in document.body["salesOrderLines"]] == ["Comment", "Item"]


def test_linked_buyer_and_buyer_found_by_email_create_no_customer() -> None:
    o = order(16, customer_id=7)
    p = decide(o, known=Known(customers={"customer:7": "C7"}))
    assert p.write("create_customer") is None and p.customer is not None and p.customer.number == "C7"
    assert p.write("create_document").body["customerNumber"] == "C7"  # type: ignore[union-attr]
    bc_customer = {"id": "c9", "number": "C9", "email": "gus@example.test"}
    p = decide(o, found=Found(items={"MUG-001": False}, customers={"gus@example.test": bc_customer}))
    assert p.write("create_customer") is None and p.customer is not None
    assert p.customer.number == "C9" and p.customer.found is bc_customer  # apply links it
    assert p.customer.key == "customer:7"


def test_shared_guest_customer_keeps_the_buyers_address() -> None:
    p = decide(order(16), guest_customer="GUESTS")
    body = p.write("create_document").body  # type: ignore[union-attr]
    assert p.write("create_customer") is None
    assert body["customerNumber"] == "GUESTS" and body["sellToCity"] == "Portland"
    assert "sellToCity" not in decide(order(17)).write("create_document").body  # type: ignore[union-attr]


def test_posted_invoice_target_plans_the_post() -> None:
    p = decide(order(16), target="posted_invoice")
    assert [w.action for w in p.writes] == ["create_customer", "create_document", "post", "write_back"]
    assert p.write("create_document").note == "salesInvoices"  # type: ignore[union-attr]


@pytest.mark.parametrize(("items", "skus", "o", "message"), [
    ({"NEW-1": None}, None, order(16, skus=("NEW-1",)),
     "order 16: order 16: line 100 (New-1): SKU 'NEW-1' is not a BC item number"),
    ({"MUG-001": True}, None, order(16),
     "order 16: order 16: line 100 (Mug-001): BC item 'MUG-001' is blocked"),
    ({"BC-9": None}, SkuMap({"BC-9": "SHOP-9"}), order(16, skus=("SHOP-9",)),
     "order 16: order 16: line 100 (Shop-9): SKU 'SHOP-9' (mapped to BC-9 by items.mapping_file) is not a "
     "BC item number"),
    ({"MUG-001": False}, None, order(16, email=""), "order 16: order #16 is a guest order without an e-mail "
     "address and orders.guest_customer is not set"),
    ({}, None, order(16, line_items=[]),
     "order 16: order #16 has nothing to book (no items, shipping or fees)"),
])
def test_orders_that_cannot_be_booked_are_rejected_with_the_reason(items: dict, skus: SkuMap | None, o: dict,
                                                                   message: str) -> None:
    p = decide(o, found=Found(items=items), skus=skus)
    assert p.decision == "rejected" and p.writes == []
    assert p.message == message


def test_an_order_number_bc_cannot_hold_is_rejected_not_a_crash_of_the_page() -> None:
    p = decide(order(16, number="9" * 40))
    assert p.decision == "rejected" and "longer than BC's 35 characters" in str(p.message)


def test_rejected_before_anything_is_written_no_customer_for_a_bad_order() -> None:
    shipping = [{"id": 1, "method_title": "Flat", "total": "5.00", "total_tax": "0"}]
    p = decide(order(16, shipping_lines=shipping))
    assert p.decision == "rejected" and "orders.shipping_account" in str(p.message)
    assert p.write("create_customer") is None


# ------------------------------------------------------------------------------------------- totals


def test_totals_check_after_booking_rounds_only_up_to_the_cap() -> None:
    """Issue 13 replaced the unbounded follow-up (any difference went to the rounding account): the
    read-back check (:mod:`wcbc.sync.mapping.orders.agreement`) rounds at most ``rounding_cap``."""
    from wcbc.sync.mapping.orders import agreement

    policy, options = setup(rounding_account="9999")
    o = order(16)
    expected = agreement.expected_lines(o, options)
    lines = [{"sequence": 10000 * (i + 1), "lineType": "Item", "netAmount": e.net, "netTaxAmount": e.tax}
             for i, e in enumerate(expected)]
    exact = agreement.compare(o, expected, {"totalAmountIncludingTax": 10.0, "totalTaxAmount": 0}, lines)
    assert exact.verdict(policy.total_tolerance, policy.rounding_cap, policy.rounding_account) == "agree"
    cents = agreement.compare(o, expected, {"totalAmountIncludingTax": 9.97, "totalTaxAmount": 0}, lines)
    assert cents.verdict(policy.total_tolerance, policy.rounding_cap, "9999") == "round"
    assert cents.verdict(policy.total_tolerance, policy.rounding_cap, None) == "disagree"
    dime = agreement.compare(o, expected, {"totalAmountIncludingTax": 9.9, "totalTaxAmount": 0}, lines)
    assert dime.difference == Decimal("0.10")
    assert dime.verdict(policy.total_tolerance, policy.rounding_cap, "9999") == "disagree"  # beyond 0.05


def test_values_bc_would_refuse_in_a_filter_are_not_asked_for() -> None:
    """A 21-character SKU or an 81-character e-mail would make BC refuse the page's whole lookup: they are
    left out, and the mapping fails that order alone (or makes the customer without the e-mail)."""
    long_sku = order(1, skus=("X" * 21, "MUG-001"))
    assert plan.wanted_skus([long_sku], SkuMap(), {}) == {"MUG-001"}
    long_mail = order(2, email="a" * 70 + "@example.test")  # 83 characters
    policy, options = setup()
    assert plan.wanted_emails([long_mail, order(3)], Known(), options) == {"gus@example.test"}
    p = decide(long_sku, found=Found(items={"MUG-001": False}))
    assert p.decision == "rejected" and "is not a BC item number (longer than BC's 20" in str(p.message)
