"""The pure undo planning of a reduction (wcbc.sync.refunds.restore): patch back, re-create, delete added."""

from __future__ import annotations

import copy

from tests.sync.refunds.test_reduce import bc_line, sales_order
from wcbc.sync.refunds import restore


def reduced(doc: dict, **changes: dict | None) -> dict:
    """``doc`` with lines changed by id (None deletes), new etags on changed lines."""
    out = copy.deepcopy(doc)
    kept = []
    for line in out["salesOrderLines"]:
        change = changes.get(str(line.get("id")), {})
        if change is None:
            continue
        if change:
            line.update(change)
            line["@odata.etag"] = 'W/"changed"'
        kept.append(line)
    out["salesOrderLines"] = kept
    return out


def test_nothing_changed_nothing_to_undo() -> None:
    doc = sales_order()
    assert restore.plan_restore(doc, copy.deepcopy(doc)) == []


def test_a_reduced_line_is_patched_back_with_the_etag_of_the_after_read() -> None:
    before = sales_order()
    after = reduced(before, l20000={"quantity": "1", "unitPrice": "17.99", "discountAmount": "0.5"})
    [step] = restore.plan_restore(before, after)
    assert step.action == "patch"
    assert step.line is not None and step.line["@odata.etag"] == 'W/"changed"' and step.line["id"] == "l20000"
    assert step.body == {"quantity": 2, "unitPrice": 18, "discountAmount": 0}


def test_a_deleted_line_is_recreated_with_its_type_number_amounts_and_tax_code() -> None:
    before = sales_order(bc_line(50000, "Account", "6630", "1", "7.5", description="Fee", taxCode="VAT20"))
    after = reduced(before, l30000=None, l50000=None)
    steps = {s.text: s for s in restore.plan_restore(before, after)}
    assert {s.action for s in steps.values()} == {"add"}
    mug = next(s for t, s in steps.items() if "MUG-001" in t)
    assert mug.line is None
    assert mug.body == {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 1, "unitPrice": 12,
                        "discountAmount": 0}
    fee = next(s for t, s in steps.items() if "6630" in t)
    assert fee.body == {"lineType": "Account", "lineObjectNumber": "6630", "description": "Fee",
                        "quantity": 1, "unitPrice": 7.5, "taxCode": "VAT20"}


def test_a_line_added_by_the_reduction_is_deleted_and_comments_are_left_alone() -> None:
    before = sales_order()
    residual = bc_line(60000, "Account", "6630", "1", "-5", description="Refund WC-1-R9 not tied to a line")
    comment = {"id": "c1", "lineType": "Comment", "description": "WooCommerce refund WC-1-R9"}
    after = reduced(before)
    after["salesOrderLines"] += [residual, comment]
    [step] = restore.plan_restore(before, after)
    assert step.action == "delete" and step.line is residual


def test_patch_delete_and_add_together_undo_a_full_reduction() -> None:
    before = sales_order()
    after = reduced(before, l20000={"quantity": "1"}, l30000=None)
    after["salesOrderLines"].append(bc_line(60000, "Account", "6630", "1", "-1", description="Refund x"))
    actions = sorted(s.action for s in restore.plan_restore(before, after))
    assert actions == ["add", "delete", "patch"]


def test_the_snapshot_keeps_what_an_undo_needs_and_the_first_attempt_not_undone_is_the_before() -> None:
    doc = sales_order()
    doc["totalAmountIncludingTax"] = 58
    snap = restore.snapshot(doc)
    assert snap["totalAmountIncludingTax"] == 58 and len(snap["salesOrderLines"]) == 3  # no comment
    assert restore.plan_restore(snap, doc) == []  # a snapshot is as good as the read it came from
    part = restore.snapshot(reduced(doc, l30000={"quantity": "0.5"}))
    sent = [{"step": "sent", "detail": {"reduce": "S-ORD1", "before": snap}},
            {"step": "sent", "detail": {"reduce": "S-ORD1", "before": part}}]  # killed, then again
    assert restore.pending_before(sent) == snap
    assert restore.pending_before([*sent, {"step": "restored", "detail": {"total": 58}}]) is None
    later = [*sent, {"step": "restored", "detail": {}}, {"step": "sent", "detail": {"before": part}}]
    assert restore.pending_before(later) == part
    assert restore.pending_before([{"step": "sent", "detail": "not json"}]) is None
    assert restore.pending_before([*sent, {"step": "result", "detail": {"status": "done"}}]) is None
    failed = {"step": "result", "detail": {"status": "failed", "error": "BC NOT restored"}}
    assert restore.pending_before([*sent, failed]) == snap  # not undone: still the order before the refund


def test_the_difference_table_shows_store_and_bc_before_and_after() -> None:
    from decimal import Decimal

    before = {"totalAmountIncludingTax": 26.81, "totalAmountExcludingTax": 25, "totalTaxAmount": 1.81}
    after = {"totalAmountIncludingTax": 13.41, "totalAmountExcludingTax": 12.5, "totalTaxAmount": 0.91}
    text = restore.difference_rows(Decimal("13.40"), before, after, [{"action": "patch", "line": "Mug: x"}])
    assert "13.40" in text and "26.81" in text and "13.41" in text and "patch Mug: x" in text
