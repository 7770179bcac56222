"""The shipments planner (pure): which writes a shipment needs, each with its idempotency key."""

from __future__ import annotations

from wcbc.sync.shipments.plan import (
    Policy,
    Tracking,
    fully_shipped,
    meta_key,
    note_text,
    plan_shipment,
)
from wcbc.sync.shipments.weborders import OrderLinks, confirmed

SHIPMENT = {
    "id": "sh-1", "number": "S-SHPT1", "orderNumber": "S-ORD1", "externalDocumentNumber": "17",
    "postingDate": "2026-12-07",
    "salesShipmentLines": [
        {"lineType": "Item", "lineObjectNumber": "MUG-001", "description": "Coffee Mug", "quantity": 2},
        {"lineType": "Item", "lineObjectNumber": "CAP-001", "description": "Cap", "quantity": 0},
        {"lineType": "G_x002F_L_x0020_Account", "lineObjectNumber": "6610", "description": "Ship",
         "quantity": 1},
    ],
}


def order(status: str = "processing", **meta: str) -> dict:
    return {"id": 17, "number": "17", "status": status,
            "meta_data": [{"key": k, "value": v} for k, v in meta.items()]}


def test_full_shipment_note_then_status_and_key_in_one_update() -> None:
    plan = plan_shipment(SHIPMENT, order(), order_id=17, full=True, tracking=None, policy=Policy())
    assert plan.decision == "ship"
    assert [(w.action, w.key) for w in plan.writes] == [("add_note", "S-SHPT1"),
                                                       ("update_order", "_wcbc_shipment_S-SHPT1")]
    note = "Your order has shipped: 2 x Coffee Mug (MUG-001). (shipment S-SHPT1)"
    assert plan.writes[0].body == {"note": note, "customer_note": True}
    assert plan.writes[1].body == {"status": "completed",
                                   "meta_data": [{"key": "_wcbc_shipment_S-SHPT1", "value": "sh-1"}]}


def test_partial_shipment_note_only_unless_partial_status() -> None:
    plan = plan_shipment(SHIPMENT, order(), order_id=17, full=False, tracking=None, policy=Policy())
    assert "status" not in plan.writes[-1].body
    assert plan.writes[0].body["note"].startswith("Part of your order has shipped")
    plan = plan_shipment(SHIPMENT, order(), order_id=17, full=False, tracking=None,
                         policy=Policy(partial_status="on-hold"))
    assert plan.writes[-1].body["status"] == "on-hold"


def test_tracking_item_first_and_in_the_note() -> None:
    tracking = Tracking("1Z999", "UPS")
    plan = plan_shipment(SHIPMENT, order(), order_id=17, full=True, tracking=tracking,
                         policy=Policy(tracking_extension=True))
    assert [w.action for w in plan.writes] == ["add_tracking", "add_note", "update_order"]
    assert plan.writes[0].key == "1Z999"
    assert plan.writes[0].body == {"tracking_number": "1Z999", "custom_tracking_provider": "UPS",
                                   "date_shipped": "2026-12-07"}
    assert "Tracking: UPS 1Z999." in plan.writes[1].body["note"]
    no_ext = plan_shipment(SHIPMENT, order(), order_id=17, full=True, tracking=tracking, policy=Policy())
    assert [w.action for w in no_ext.writes] == ["add_note", "update_order"]


def test_done_by_the_order_meta_and_final_statuses_kept() -> None:
    done = plan_shipment(SHIPMENT, order(**{meta_key("S-SHPT1"): "sh-1"}), order_id=17, full=True,
                         tracking=None, policy=Policy())
    assert done.decision == "unchanged" and done.writes == []
    cancelled = plan_shipment(SHIPMENT, order("cancelled"), order_id=17, full=True, tracking=None,
                              policy=Policy(customer_note=False))
    assert [w.action for w in cancelled.writes] == ["update_order"]
    assert "status" not in cancelled.writes[0].body
    skipped = plan_shipment(SHIPMENT, None, order_id=0, full=True, tracking=None, policy=Policy())
    assert skipped.decision == "skipped" and "S-ORD1" in skipped.reason


def test_fully_shipped() -> None:
    assert fully_shipped(None)  # BC deleted the order: shipped and invoiced in full
    lines = [{"lineType": "Item", "quantity": 2, "shippedQuantity": 2},
             {"lineType": "Account", "quantity": 1, "shippedQuantity": 0},
             {"lineType": "Comment", "quantity": 0, "shippedQuantity": 0}]
    assert not fully_shipped(lines)
    lines[1]["shippedQuantity"] = 1
    assert fully_shipped(lines)


def test_note_without_item_lines() -> None:
    text = note_text({"number": "S-2", "salesShipmentLines": []}, Tracking("", "DHL"), full=True)
    assert text == "Your order has shipped: your order. (shipment S-2)"


class FakeState:
    def links(self, kind: str) -> list[dict]:
        return [{"woo_id": "17", "bc_id": "ID-1", "bc_number": "S-ORD1"},
                {"woo_id": "x", "bc_id": "", "bc_number": ""}]


def test_web_order_by_link_else_by_external_number_confirmed_by_meta() -> None:
    links = OrderLinks(FakeState(), "wc-")
    assert links.candidate(["s-ord1"], None, "WC-99") == (17, True)
    assert links.candidate([None], "id-1", None) == (17, True)
    assert links.candidate(["S-ORD2"], None, "WC-42") == (42, False)
    assert links.candidate(["S-ORD2"], None, "PHONE") == (0, False)
    assert confirmed(order(_wcbc_bc_document="S-ORD2"), ["s-ord2"])
    assert not confirmed(order(_wcbc_bc_document="S-ORD3"), ["S-ORD2"])
    assert not confirmed(None, ["S-ORD2"])
