"""refunds: one WooCommerce refund per booked order becomes one BC credit memo (OrderSync's refund step).

The store and BC are seeded as in :mod:`bench.scenarios.orders`, the orders are booked once (not
measured), then each order gets one refund of its first line (all of it, not restocked, the line's own
amounts: an Account line on ``orders.refund_account``), made the way wp-admin makes it. The measured run
is the next ``OrderSync.run()``: the poll reads the refunded orders again, and the refund step books the
credit memos. Figures: BC calls per refund beside the fewest possible.
"""

from __future__ import annotations

import math
import random
from typing import Any

from bench.scenarios.common import Options, client_calls, delta, environment, figure, measure
from bench.scenarios.orders import Case, Seeded, seed

# target sales_order reduces the open sales order instead (README "A refund of an open sales order reduces
# it"): the credit memo cases are the invoice targets.
CASES = (Case("sales_invoice", "sales_invoice"), Case("posted_invoice", "posted_invoice"))
ACCOUNTS = 'refund_account = "6620"\nrefund_amount_account = "6630"\n'


def fewest_calls(refunds: int, case: Case, batch_size: int) -> int:
    """Per page of orders: the orders' documents on salesOrders and salesInvoices and the credit memos
    by key (3 lookups); per refund one deep insert, plus one post action for posted invoices."""
    pages = math.ceil(refunds / batch_size)
    return 3 * pages + refunds * (2 if case.target == "posted_invoice" else 1)


def refund_every_order(env: Any) -> int:
    store = env.woo
    count = 0
    for order in list(store.order_index.values()):
        line = order.line_items[0]
        store.refund_order(order.id, line_items=[{"id": line.id, "quantity": line.quantity}], restock=False)
        count += 1
    return count


def run_case(opts: Options, case: Case) -> dict[str, Any]:
    from wcbc.sync.orders.sync import OrderSync

    rng = random.Random(opts.seed)
    extra = f'target = "{case.target}"\nadd_note = false\n{ACCOUNTS}'
    with environment(opts, orders_config=extra) as env:
        seeded: Seeded = seed(env, opts.orders, rng)
        ctx = env.context()
        ctx.tokens.token()
        state = ctx.state
        booked = OrderSync(woo=ctx.woo, bc=ctx.bc, state=state, config=ctx.config).run()
        refunds = refund_every_order(env)
        run_id = state.run_start("sync-orders")
        env.set_latency(opts.bc_latency, opts.woo_latency)
        server_before = env.server_counts()
        client_before = client_calls(ctx.bc)
        with measure(opts, f"refunds-{case.name}") as m:
            report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=state, config=ctx.config, run_id=run_id).run()
        env.set_latency(0, 0)
        server = {k: delta(v, server_before[k]) for k, v in env.server_counts().items()}
        bc_routes = server["business_central"]
        bc_server = sum(bc_routes.values())
        bc_client = sum(delta(client_calls(ctx.bc), client_before).values())
        fewest = fewest_calls(refunds, case, ctx.config.orders.batch_size)
        counts = report.counts
        credited = counts.get("credited", 0)
        wall = max(m.wall_s, 1e-9)
        figures = {
            "bc_calls_per_refund": figure(
                bc_server / refunds,
                fewest / refunds,
                better="lower",
                unit="calls",
                note="bound: fewest calls the design allows",
                target=False,
            ),
            "refunds_per_s": figure(credited / wall, None, better="higher", unit="refunds/s"),
            "wall_s": figure(m.wall_s, None, better="lower", unit="s"),
        }
        failures = [o.message for o in report.outcomes if o.result in ("failed", "on_hold")][:5]
        result = {
            "case": case.name,
            "target": case.target,
            "records": refunds,
            "seeded": seeded.__dict__,
            "booked_before": booked.counts,
            "outcomes": counts,
            "measurement": m.as_dict(),
            "calls": {
                "business_central": {
                    "server": bc_server,
                    "client": bc_client,
                    "fewest": fewest,
                    "per_record_server": round(bc_server / refunds, 4),
                    "by_route_server": bc_routes,
                }
            },
            "figures": figures,
        }
        if failures:
            result["failures_sample"] = failures
        return result


def run(opts: Options) -> dict[str, Any]:
    cases = [c for c in CASES if not opts.cases or c.name in opts.cases]
    return {"scenario": "refunds", "cases": [run_case(opts, c) for c in cases]}
