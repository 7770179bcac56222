"""fulfilment: BC shipments back to the store and web payments into BC (sync-fulfilment's two halves).

Seeded like the orders scenario (the same buyers and lines), booked as sales orders without latency, then
every order shipped and invoiced in BC (a quarter of them shipped in two parts first) and paid by a
mapped method. Measured with latency: the ShipmentSync run (every shipment, lines expanded), then the
PaymentSync run (every invoice open). Each figure stands beside the fewest calls possible:

* shipments, BC: one read of the shipments with their lines and one read of the open orders per run;
  WooCommerce: one note per shipment (notes have no batch) and one read and one batch update per 100;
* payments, BC: one journal line per payment, and per run one post, one read of the journal, one of the
  journal lines and one of the open invoices (posting the whole batch at once; wcbc posts each payment
  alone so that a failing post fails that payment alone, then reads the run's invoices back together: 2
  calls a payment);
  WooCommerce: one read per 100 orders.
"""

from __future__ import annotations

import math
import random
from typing import Any

from bench.scenarios import orders as orders_scenario
from bench.scenarios.common import Env, Options, client_calls, delta, environment, figure, measure

MAX_ORDERS = 300  # payments are sequential (one post each): keep the run minutes long, not hours


def prepare(env: Env, count: int, rng: random.Random) -> tuple[int, int]:
    """Seeded, booked, shipped, invoiced and paid orders; returns (orders, shipments)."""
    from wcbc.sync.orders.sync import OrderSync

    orders_scenario.seed(env, count, rng)
    with env.woo.lock:
        for order in env.woo.order_index.values():
            order.payment_method, order.transaction_id = "stripe", f"ch_{order.id}"
    ctx = env.context()
    report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
    assert report.counts.get("booked") == count, report.counts
    shipments = 0
    for n, doc in enumerate(list(env.bc.sales_orders())):
        if n % 4 == 0:
            first = next(ln for ln in doc["salesOrderLines"] if ln["lineType"] == "Item")
            env.bc.ship_order(doc["id"], {first["lineObjectNumber"]: 1})
            shipments += 1
        env.bc.ship_order(doc["id"], None, invoice=True)
        shipments += 1
    env.bc.add_account("10100", "Bank Checking", "NONTAXABLE")
    env.bc.add_payment_journal("WEB-STRIPE", "Stripe", "10100")
    payments = '\n[payments]\njournals = {stripe = "WEB-STRIPE"}\n'
    env.config_path.write_text(env.config_path.read_text() + payments)
    return count, shipments


def fewest(case: str, records: int) -> dict[str, int]:
    pages = math.ceil(records / 100)
    if case == "shipments":
        return {"business_central": 2, "woocommerce": records + 2 * pages}
    return {"business_central": records + 4, "woocommerce": pages}


def run(opts: Options) -> dict[str, Any]:
    from wcbc.sync.payments.sync import PaymentSync
    from wcbc.sync.shipments.sync import ShipmentSync

    rng = random.Random(opts.seed)
    count = min(opts.orders, MAX_ORDERS)
    cases = []
    with environment(opts) as env:
        orders, shipments = prepare(env, count, rng)
        for name, cls, records in (("shipments", ShipmentSync, shipments), ("payments", PaymentSync, orders)):
            if opts.cases and name not in opts.cases:
                continue
            ctx = env.context()
            ctx.tokens.token()
            run_id = ctx.state.run_start(f"sync-{name}")
            env.set_latency(opts.bc_latency, opts.woo_latency)
            before = env.server_counts()
            with measure(opts, f"fulfilment-{name}") as m:
                sync = cls(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, run_id=run_id)
                report = sync.run(since=None) if name == "shipments" else sync.run()
            env.set_latency(0, 0)
            server = {k: delta(v, before[k]) for k, v in env.server_counts().items()}
            client = {"business_central": client_calls(ctx.bc), "woocommerce": client_calls(ctx.woo)}
            cases.append(summarise(name, records, m, server, client, report.counts))
    return {"scenario": "fulfilment", "cases": cases}


def summarise(name: str, records: int, m: Any, server: dict, client: dict, counts: dict) -> dict[str, Any]:
    bound = fewest(name, records)
    calls: dict[str, Any] = {}
    for system in ("business_central", "woocommerce"):
        total = sum(server[system].values())
        calls[system] = {"server": total, "client": sum(client[system].values()), "fewest": bound[system],
                         "per_record_server": round(total / records, 4),
                         "per_record_client": round(sum(client[system].values()) / records, 4),
                         "by_route_server": server[system], "by_route_client": client[system]}
    unit = "shipment" if name == "shipments" else "payment"
    figures = {
        f"bc_calls_per_{unit}": figure(calls["business_central"]["server"] / records,
                                       bound["business_central"] / records, better="lower", unit="calls",
                                       note="bound: fewest calls possible", target=False),
        f"woo_calls_per_{unit}": figure(calls["woocommerce"]["server"] / records,
                                        bound["woocommerce"] / records, better="lower", unit="calls",
                                        note="bound: fewest calls possible", target=False),
        "wall_s": figure(m.wall_s, None, better="lower", unit="s"),
        "peak_rss_mb": figure(m.rss_peak_mb, None, better="lower", unit="MB"),
    }
    return {"case": name, "records": records, "outcomes": counts, "measurement": m.as_dict(), "calls": calls,
            "figures": figures}
