"""The small steps around the planner: the poll window, the write-back and notes, the dry-run preview."""

from __future__ import annotations

import datetime as dt
import threading

from tests.sync.orders.fakes import T0, FakeWoo, config, order
from wcbc.adapters.woo.client import BatchResult
from wcbc.core.errors import UnreachableError
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders import plan, writeback
from wcbc.sync.orders.poll import window_start
from wcbc.sync.orders.preview import Preview
from wcbc.sync.orders.report import Outcome, Report


def test_window_start() -> None:
    started = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    args = {"overlap_seconds": 300, "start_date": None, "started": started}
    assert window_start(T0, "2026-11-30T00:00:00Z", **args) == T0
    bookmarked = window_start(None, "2026-11-30T00:00:00Z", **args)
    assert bookmarked == dt.datetime(2026, 11, 29, 23, 55, tzinfo=dt.UTC)  # minus the overlap
    dated = window_start(None, None, **{**args, "start_date": "2026-01-01"})
    assert dated == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert window_start(None, None, **args) == started - dt.timedelta(days=1)


def test_write_back_batches_per_100_defers_for_the_poll_and_survives_failures() -> None:
    woo = FakeWoo(*(order(i) for i in range(1, 151)))
    wb = writeback.WriteBack(woo, workers=2)
    for i in range(1, 151):
        wb.meta(i, f"S-{i}")
    wb.end_page(defer=True)
    assert woo.batches == []
    wb.flush()
    assert [len(b) for b in woo.batches] == [100, 50]
    assert woo.orders[1]["meta_data"] == [{"key": mapping.DOCUMENT_META_KEY, "value": "S-1"}]
    assert writeback.meta_update(16, "S-1") == {"id": 16, "meta_data": [{"key": "_wcbc_bc_document",
                                                                          "value": "S-1"}]}

    class Down(FakeWoo):
        def batch_orders(self, updates: list[dict]) -> list[BatchResult]:
            raise UnreachableError("store down", system="woocommerce")

    down = writeback.WriteBack(Down(order(1)), workers=1)
    down.meta(1, "S-1")
    down.end_page(defer=False)  # logged, not raised: the document exists and is linked


def test_notes_go_out_in_the_background_and_close_waits() -> None:
    release = threading.Event()

    class Slow(FakeWoo):
        def add_order_note(self, order_id: int, note: str) -> dict:
            release.wait(5)
            return super().add_order_note(order_id, note)

    woo = Slow()
    wb = writeback.WriteBack(woo, workers=2)
    wb.note(1, "S-1")
    wb.note(2, "S-2")
    assert woo.notes == []  # not waited for
    release.set()
    wb.close()
    assert sorted(woo.notes) == [(1, "Booked in Business Central as S-1 by wcbc."),
                                 (2, "Booked in Business Central as S-2 by wcbc.")]


def test_preview_reports_the_plan_without_writing() -> None:
    cfg = config()
    options = mapping.MappingOptions.from_config(cfg)
    policy = plan.Policy.from_config(cfg, options)
    report = Report()
    preview = Preview(policy=policy, report=report)
    found = plan.Found(items={"MUG-001": False})
    plans = [plan.decide(order(i), plan.Known(), found, policy, options, plan.SkuMap()) for i in (1, 2)]
    outcomes, error = preview.book(plans)
    assert error is None and [o.result for o in outcomes] == ["would_book", "would_book"]
    assert [list(p) for p in report.preview] == [["order", "create_customer"], ["order", "entity", "document",
                                                  "woo_total"], ["order", "entity", "document", "woo_total"]]
    # a document proved to be order 3's (issue 14: comment line, customer, total; a bare one is refused)
    doc = {"id": "d", "number": "S-9", "@entity": "salesOrders", "customerNumber": "C1",
           "totalAmountIncludingTax": 10,
           "salesOrderLines": [{"lineType": "Comment", "description": mapping.comment_text(order(3))}]}
    found = plan.Found(documents={"3": doc})
    known = plan.Known(customers={"guest:gus@example.test": "C1"})
    linked = plan.decide(order(3), known, found, policy, options, plan.SkuMap())
    assert preview.settle(linked) == Outcome(3, "3", "linked", document="S-9", message="already in BC")
