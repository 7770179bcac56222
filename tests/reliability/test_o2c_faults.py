"""sync-fulfilment against BC and a store that answer 500 (a POST's answer counts as lost) or drop the
connection now and then: reruns converge, and nothing is written twice (notes, tracking, payments)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import jane_id, no_notes
from tests.reliability.test_o2c_sigkill import notes

pytestmark = pytest.mark.reliability


def test_faults_converge_exactly_once(env: E2E) -> None:
    no_notes(env)
    env.woo.set_extensions(shipment_tracking=True)
    env.bc.publish_tracking_api()
    env.bc.add_payment_journal("WEB-STRIPE", "Stripe", "10100")
    env.config_path.write_text(env.config_path.read_text() + (
        '\n[payments]\njournals = {stripe = "WEB-STRIPE"}\n[fulfilment]\ntracking_extension = true\n'
        'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n'))
    jane = jane_id(env)
    orders = [env.woo.create_order(customer_id=jane, payment_method="stripe", transaction_id=f"ch_{i}",
                                   line_items=[{"sku": "MUG-001", "quantity": 1}]) for i in range(12)]
    assert env.cli("sync-orders")[0] == 0
    for order in orders:
        doc = env.bc.documents_by_external_number(f"WC-{order['number']}")[0]
        env.bc.ship_order(doc["id"], None, invoice=True, package_tracking_no=f"TRK{order['id']}",
                          shipping_agent_code="UPS")
    for faults in (env.bc.faults, env.woo.faults):
        faults.seed = 7
        faults.share_500, faults.share_drop = 0.08, 0.04
        faults.retry_after = 0
    codes = []
    for _ in range(12):
        code, _out, _err = env.cli("sync-fulfilment", "--since", "2020-01-01")
        codes.append(code)
    for faults in (env.bc.faults, env.woo.faults):
        faults.reset()
    code, out, err = env.cli("sync-fulfilment", "--since", "2020-01-01")
    print(f"o2c faults: exit codes under faults {codes}; injected BC {env.bc.faults.injected}, "
          f"store {env.woo.faults.injected}")
    assert code == 0, out + err
    ctx = env.context()
    try:
        statuses = {r["id"]: (r["status"], r.get("last_error")) for r in ctx.state.records(kind="shipment")}
    finally:
        ctx.close()
    assert {s for s, _ in statuses.values()} == {"done"}, statuses
    assert sum(env.bc.faults.injected.values()) + sum(env.woo.faults.injected.values()) >= 5
    assert set(notes(env).values()) == {1} and len(notes(env)) == len(orders)
    assert {env.woo.get_order(o["id"])["status"] for o in orders} == {"completed"}
    ctx = env.context()
    try:
        trackings = [len(ctx.woo.shipment_trackings(o["id"])) for o in orders]
    finally:
        ctx.close()
    assert trackings == [1] * len(orders)
    assert Counter(e["documentNumber"] for e in env.bc.payment_entries()) == Counter(
        {f"WCP-{o['number']}": 1 for o in orders})
