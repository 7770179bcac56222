"""OrderSync (read -> plan -> apply) against in-memory WooCommerce and BC fakes and a real State: no HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.orders.fakes import T0, FakeBC, FakeWoo, config, order
from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.errors import UnreachableError
from wcbc.core.state import State
from wcbc.sync.common.cursors import ORDERS_LAST_SEEN, ORDERS_MODIFIED_AFTER
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders.sync import OrderSync

SINCE = T0 - dt.timedelta(days=1)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State(tmp_path / "state.db") as s:
        yield s


def sync(woo: FakeWoo, bc: FakeBC, state: State, cfg: Any = None, **kwargs: Any) -> OrderSync:
    return OrderSync(woo=woo, bc=bc, state=state, config=cfg or config(), **kwargs)


def journal_steps(state: State, rid: str) -> list[str]:
    return [row["step"] for row in state.journal_for(rid)]


def test_books_a_page_one_customer_per_new_buyer_and_writes_back_once(state: State) -> None:
    woo = FakeWoo(order(1), order(2), order(3, customer_id=7, email="reg@example.test"))
    bc = FakeBC()
    run_id = state.run_start("sync-orders")
    report = sync(woo, bc, state, config(add_note=True), concurrency=3, run_id=run_id).run(since=SINCE)
    assert report.counts == {"booked": 3} and not report.failed
    assert report.customers_created == 2  # the guest of orders 1 and 2 once, the registered buyer once
    assert sorted(c["email"] for c in bc.customers) == ["gus@example.test", "reg@example.test"]
    docs = bc.documents["salesOrders"]
    assert sorted(d["externalDocumentNumber"] for d in docs) == ["1", "2", "3"]
    by_order = {d["externalDocumentNumber"]: d for d in docs}
    assert by_order["1"]["customerNumber"] == by_order["2"]["customerNumber"]  # the placeholder was replaced
    assert not any(d["customerNumber"].startswith("(new customer") for d in docs)
    # One write-back batch for the poll, after its last page; one note per booked order.
    assert len(woo.batches) == 1 and sorted(u["id"] for u in woo.batches[0]) == [1, 2, 3]
    assert sorted(n for n, _ in woo.notes) == [1, 2, 3]
    for o in (1, 2, 3):
        rid = f"order:{o}"
        assert state.record_get(rid)["status"] == "done"
        link = state.link_get("order", str(o))
        assert link["bc_number"] == by_order[str(o)]["number"]
        assert link["data"]["summary"]["fingerprint"] == mapping.order_fingerprint(woo.orders[o])
        rows = state.journal_for(rid)
        assert {r["run_id"] for r in rows} == {run_id}  # every journal row carries the run id
        assert [r["step"] for r in rows if r["step"] != "sent" or "entity" in (r["detail"] or {})][-4:] == [
            "mapped", "sent", "answered", "result"]
    guest = state.link_get("customer", "guest:gus@example.test")
    assert guest["bc_number"] == by_order["1"]["customerNumber"]
    assert state.cursor_get(ORDERS_MODIFIED_AFTER)
    assert state.cursor_get(ORDERS_LAST_SEEN) == "2026-11-26T20:00:00Z"

    again = sync(woo, bc, state).run(since=SINCE)
    assert again.counts == {"unchanged": 3}
    assert len(bc.documents["salesOrders"]) == 3 and len(woo.batches) == 1  # the meta is on the orders now


def test_dry_run_is_the_plan_printed_and_records_nothing(state: State) -> None:
    woo = FakeWoo(order(1), order(2), order(3, status="pending"))
    state.inbox_add("woocommerce", "order.updated", "1", b"{}")
    bc = FakeBC()
    report = sync(woo, bc, state, config(add_note=True), dry_run=True).run(since=SINCE)
    assert report.counts == {"skipped": 1, "would_book": 2}
    assert [o.message for o in report.outcomes if o.result == "would_book"] == ["2 lines", "2 lines"]
    customers = [p for p in report.preview if "create_customer" in p]
    documents = [p for p in report.preview if "document" in p]
    assert len(customers) == 1 and customers[0]["create_customer"]["email"] == "gus@example.test"
    assert [d["document"]["customerNumber"] for d in documents] == ["(new customer for gus@example.test)"] * 2
    assert documents[0]["entity"] == "salesOrders" and documents[0]["woo_total"] == "10.00"
    assert bc.posts == [] and woo.batches == [] and woo.notes == []
    assert state.records() == [] and state.links("order") == [] and state.links("customer") == []
    assert state.cursors() == {} and state.journal_for("order:1") == [] and state.journal_for("order:3") == []
    assert state.inbox_backlog("woocommerce") == 1  # not even claimed


def test_failed_orders_are_retried_by_scheduled_runs_only(state: State) -> None:
    woo = FakeWoo(order(5))
    bc = FakeBC()
    state.record_put("order:5", "order", "5", "failed", error="BC was down")
    window = {"since": T0 + dt.timedelta(hours=1)}  # the poll does not see order 5
    # serve's per-delivery runs: no poll, and so no retry (each delivery would use up the attempts)
    assert sync(woo, bc, state).run(poll=False, **window).outcomes == []
    assert woo.reads == [] and state.record_get("order:5")["status"] == "failed"
    # explicit now: a run without poll that retries anyway
    report = sync(woo, bc, state).run(poll=False, retry_failed=True, **window)
    assert report.counts == {"booked": 1} and woo.reads == [5]
    # and a poll that does not retry
    state.record_put("order:5", "order", "5", "failed", error="again")
    state.link_delete("order", "5")
    assert sync(woo, bc, state).run(retry_failed=False, **window).outcomes == []
    assert woo.reads == [5]


def test_scheduled_run_retries_failed_orders_by_default(state: State) -> None:
    woo = FakeWoo(order(5))
    state.record_put("order:5", "order", "5", "failed", error="BC was down")
    report = sync(woo, FakeBC(), state).run(since=T0 + dt.timedelta(hours=1))
    assert report.counts == {"booked": 1} and woo.reads == [5]


def test_lost_state_relinks_what_bc_already_has(state: State) -> None:
    woo, bc = FakeWoo(order(1)), FakeBC()
    sync(woo, bc, state).run(since=SINCE)
    woo.orders[1]["meta_data"] = []  # and the write-back was lost too
    with State(state.path.with_name("fresh.db")) as fresh:
        report = sync(woo, bc, fresh).run(since=SINCE)
        assert [(o.result, o.message) for o in report.outcomes] == [("linked", "found in BC, linked")]
        assert fresh.record_get("order:1")["status"] == "done"
        assert "answered" in journal_steps(fresh, "order:1")
    assert len(bc.documents["salesOrders"]) == 1 and len(woo.batches) == 2


def test_order_with_our_meta_but_nothing_in_bc_is_not_booked_again(state: State) -> None:
    woo = FakeWoo(order(1, meta=[{"key": mapping.DOCUMENT_META_KEY, "value": "S-OLD"}]))
    bc = FakeBC()
    report = sync(woo, bc, state).run(since=SINCE)
    assert [(o.result, o.document) for o in report.outcomes] == [("linked", "S-OLD")]
    assert bc.posts == [] and state.link_get("order", "1")["bc_id"] == "number:S-OLD"
    warning = state.journal_for("order:1")[-1]["detail"]["warning"]
    assert warning.startswith("the order names BC document S-OLD")


def test_lost_answer_settled_by_the_lookup(state: State) -> None:
    woo, bc = FakeWoo(order(1, customer_id=7)), FakeBC()
    bc.customers.append({"id": "c7", "number": "C7", "email": "gus@example.test"})
    bc.fail["salesOrders"] = [AmbiguousWriteError("read timeout", system="business_central", call="POST")]
    bc.land_before_failing = True
    report = sync(woo, bc, state).run(since=SINCE)
    assert report.counts == {"booked": 1} and len(bc.documents["salesOrders"]) == 1
    assert "retried" in journal_steps(state, "order:1")
    assert state.link_get("customer", "customer:7")["bc_number"] == "C7"  # found by e-mail, linked


def test_lost_answer_with_nothing_in_bc_fails_uncounted_then_books(state: State) -> None:
    woo, bc = FakeWoo(order(1)), FakeBC()
    bc.fail["salesOrders"] = [AmbiguousWriteError("read timeout", system="business_central", call="POST")]
    report = sync(woo, bc, state).run(since=SINCE)
    assert report.counts == {"failed": 1} and report.failed
    record = state.record_get("order:1")
    assert record["status"] == "failed" and record["attempts"] == 0  # the order did nothing wrong
    assert "retried on the next run" in record["last_error"]
    assert sync(woo, bc, state).run(since=SINCE).counts == {"booked": 1}
    assert len(bc.customers) == 1  # the customer of the first attempt is reused


def test_bc_down_aborts_the_run_and_releases_the_inbox(state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2)), FakeBC()
    state.inbox_add("woocommerce", "order.created", "1", b"{}")
    bc.fail["customers"] = [UnreachableError("connection refused", system="business_central")]
    with pytest.raises(UnreachableError):
        sync(woo, bc, state).run(since=SINCE)
    assert state.inbox_backlog("woocommerce") == 1  # pending again for the next run
    assert state.journal_for("order:1")[-1]["detail"] == {"aborted": "business_central: connection refused"}
    assert state.cursor_get(ORDERS_MODIFIED_AFTER) is None


def test_bad_orders_fail_then_go_on_hold_and_the_run_goes_on(state: State) -> None:
    woo, bc = FakeWoo(order(1, skus=("NEW-1",)), order(2)), FakeBC()
    cfg = config(max_attempts=2)
    first = sync(woo, bc, state, cfg).run(since=SINCE)
    assert first.counts == {"failed": 1, "booked": 1}
    assert "SKU 'NEW-1' is not a BC item number" in str(first.outcomes[0].message)
    assert sync(woo, bc, state, cfg).run(since=SINCE).count("on_hold") == 1
    held = sync(woo, bc, state, cfg).run(since=SINCE)
    assert [o.result for o in held.outcomes if o.order_id == 1] == ["held"]
    bc.items["NEW-1"] = {"number": "NEW-1", "blocked": False}
    replayed = sync(woo, bc, state, cfg, replay=True).run(order_ids=[1], poll=False, drain_inbox=False)
    assert replayed.counts == {"booked": 1}


def test_an_order_number_too_long_for_bc_fails_alone(state: State) -> None:
    woo, bc = FakeWoo(order(1, number="9" * 40), order(2)), FakeBC()
    report = sync(woo, bc, state).run(since=SINCE)
    assert report.counts == {"failed": 1, "booked": 1}
    assert "longer than BC's 35 characters" in str(state.record_get("order:1")["last_error"])


def test_conflict_and_skip_are_recorded(state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2, status="on-hold")), FakeBC()
    assert sync(woo, bc, state).run(since=SINCE).counts == {"booked": 1, "skipped": 1}
    assert state.record_get("order:2")["status"] == "skipped"
    woo.orders[1] = order(1, price="12.00", meta=woo.orders[1]["meta_data"])
    report = sync(woo, bc, state).run(since=SINCE)
    assert report.count("conflict") == 1 and len(bc.documents["salesOrders"]) == 1
    (conflict,) = state.conflicts()
    assert conflict["record_id"] == "order:1"
    link = state.link_get("order", "1")
    assert link["data"]["summary"]["total"] == "12.00" and link["data"]["previous"]["total"] == "10.00"


def test_inbox_hints_are_read_fresh_and_settled(state: State) -> None:
    woo, bc = FakeWoo(order(1), order(2)), FakeBC()
    state.inbox_add("woocommerce", "order.created", "2", b"{}")
    state.inbox_add("woocommerce", "product.updated", "99", b"{}")
    state.inbox_add("woocommerce", "order.deleted", "404", b"{}")
    report = sync(woo, bc, state).run(poll=False)
    assert [o.order_id for o in report.outcomes] == [2] and woo.reads == [2, 404]
    assert state.inbox_backlog("woocommerce") == 0
    assert state.journal_for("order:404")[0]["detail"] == {"error": "not found in WooCommerce"}


def test_limit_and_bookmark(state: State) -> None:
    woo = FakeWoo(*(order(i, modified=T0 + dt.timedelta(minutes=i)) for i in range(1, 6)))
    bc = FakeBC()
    report = sync(woo, bc, state, config(batch_size=2)).run(since=SINCE, limit=3)
    assert [o.order_id for o in report.outcomes] == [1, 2, 3]
    # Not the whole window: the bookmark stops at the newest committed order, not the run's start.
    assert state.cursor_get(ORDERS_MODIFIED_AFTER) == "2026-11-26T20:03:00Z"
    report = sync(woo, bc, state, config(batch_size=2, overlap_seconds=0)).run()
    assert [o.order_id for o in report.outcomes] == [4, 5]
    # The whole window was read: the newest change read, by the store's clock. (Changed with issue 14: it
    # was the run's start by this host's clock, which lost orders when the host's clock was ahead.)
    assert state.cursor_get(ORDERS_MODIFIED_AFTER) == "2026-11-26T20:05:00Z"


def test_posted_invoice_and_totals(state: State) -> None:
    woo, bc = FakeWoo(order(1)), FakeBC()
    report = sync(woo, bc, state, config(target="posted_invoice")).run(since=SINCE)
    (doc,) = bc.documents["salesInvoices"]
    assert report.counts == {"booked": 1} and doc["status"] == "Open"
    assert bc.actions == [f"salesInvoices({doc['id']})/Microsoft.NAV.post"]
    assert state.record_get("order:1")["data"] == {"document": doc["number"], "entity": "salesInvoices"}


def test_a_crash_while_committing_leaves_no_link_without_its_record(state: State) -> None:
    """Link, record and journal of an order commit in one transaction: no repair code is needed."""

    class Crash(BaseException):
        pass

    woo, bc = FakeWoo(order(1)), FakeBC()

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    state.record_done = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        sync(woo, bc, state).run(since=SINCE)
    del state.record_done
    assert state.link_get("order", "1") is None  # rolled back with the record
    assert state.record_get("order:1")["status"] == "pending"
    assert journal_steps(state, "order:1")[-1] == "answered"
    report = sync(woo, bc, state).run(since=SINCE)
    assert [(o.result, o.message) for o in report.outcomes] == [("linked", "found in BC, linked")]
    assert state.record_get("order:1")["status"] == "done" and len(bc.documents["salesOrders"]) == 1


def test_the_default_prefix_is_wc_and_an_empty_one_is_kept(state: State) -> None:
    from wcbc.core.config import OrdersConfig

    assert OrdersConfig().number_prefix == "WC-"
    woo, bc = FakeWoo(order(1)), FakeBC()
    cfg = config()
    cfg.orders = OrdersConfig(add_note=False)  # the default
    sync(woo, bc, state, cfg).run(since=SINCE)
    assert [d["externalDocumentNumber"] for d in bc.documents["salesOrders"]] == ["WC-1"]
    woo.orders[2] = order(2)
    sync(woo, bc, state, config(number_prefix="")).run(since=SINCE)  # an install that set "" keeps it
    assert [d["externalDocumentNumber"] for d in bc.documents["salesOrders"]] == ["WC-1", "2"]


def test_keys_colliding_for_bc_across_pages_of_one_run_book_one_document(state: State) -> None:
    woo = FakeWoo(order(1, number="wc-7", modified=T0), order(2, modified=T0 + dt.timedelta(minutes=1)),
                  order(3, number=" WC-7 ", modified=T0 + dt.timedelta(minutes=2)))
    bc = FakeBC()
    report = sync(woo, bc, state, config(batch_size=2)).run(since=SINCE)  # order 3 is on the second page
    assert report.counts == {"booked": 2, "failed": 1}
    assert [d["externalDocumentNumber"] for d in bc.documents["salesOrders"]] == ["WC-7", "2"]
    assert "as that of order wc-7 (id 1) in this run" in state.record_get("order:3")["last_error"]
    # the next run meets order 1's document under the key: not order 3's (its comment names #wc-7)
    again = sync(woo, bc, state, config(batch_size=2)).run(since=SINCE)
    assert [o.result for o in again.outcomes if o.order_id == 3] == ["failed"]
    assert "no comment line names web order #WC-7" in state.record_get("order:3")["last_error"]
    assert len(bc.documents["salesOrders"]) == 2
