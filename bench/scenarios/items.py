"""items: a full reconcile of a large catalogue, then single-item notifications through ItemSync.

WooCommerce is seeded directly (no webhooks) with simple products and variable products with their
variations, every one managing stock; BC gets one item per product or variation with the same price and
inventory, and then ``changed`` (5 %) of them get another price or inventory. The reconcile must write
exactly those. Then ``notifications`` items change price in BC and each change is stored in the state
inbox as ``wcbc serve`` stores a BC notification; ItemSync drains them.
"""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from typing import Any

from bench.scenarios.common import Env, Options, client_calls, delta, environment, figure, measure
from wcbc.sandbox.woo import app as woo_mod

TIME_BOUND_S = 180.0
RSS_BOUND_MB = 200.0


def shape(items: int) -> tuple[int, int, int]:
    """(simple products, variable products, variations each): 75 % simple, 25 % variations in fives."""
    variable = max(1, items // 20)
    return items - variable * 5, variable, 5


def seed(env: Env, items: int, rng: random.Random) -> dict[str, Any]:
    store, bc = env.woo, env.bc
    simple, variable, per = shape(items)
    woo_mod.seed_bulk(store, simple=simple, variable=variable, variations_per=per, orders=0, customers=0,
                      seed=rng.randint(0, 10**6))
    sellable = []
    with store.lock:
        for product in store.products_by_id.values():
            if product.type == "simple" and not product.manage_stock:
                product.manage_stock, product.stock_quantity = True, rng.randint(0, 500)
                store._derive_stock_status(product)
            if product.type in ("simple", "variation"):
                sellable.append(product)
    changed = rng.sample(range(len(sellable)), max(1, round(len(sellable) * 0.05)))
    price_changed = set(changed[: len(changed) // 2])
    stock_changed = set(changed[len(changed) // 2:])
    rows = []
    parents_touched: set[int] = set()
    simple_changes = 0
    for index, product in enumerate(sellable):
        price = Decimal(product.regular_price or "1.00")
        quantity = int(product.stock_quantity or 0)
        if index in price_changed:
            price += Decimal("1.00")
        if index in stock_changed:
            quantity += 3
        if index in price_changed or index in stock_changed:
            if product.type == "variation":
                parents_touched.add(product.parent_id)
            else:
                simple_changes += 1
        rows.append((product.sku, product.name or product.sku, f"{price:.2f}", quantity))
    bc.bulk_add_items(rows)
    return {"bc_items": len(rows), "simple": simple, "variable": variable, "variations": variable * per,
            "changed": len(changed), "simple_changed": simple_changes,
            "variations_changed": len(changed) - simple_changes, "parents_touched": len(parents_touched)}


def notify(env: Env, state: Any, count: int, rng: random.Random) -> list[str]:
    """Change ``count`` item prices in BC and store one notification per item, as wcbc serve does."""
    items = env.bc.items()
    picked = rng.sample(items, min(count, len(items)))
    company = env.sandbox.company_id
    for item in picked:
        updated = env.bc.set_price(item["number"], Decimal(str(item["unitPrice"])) + Decimal("0.50"))
        resource = f"api/v2.0/companies({company})/items({item['id']})"
        entry = {"subscriptionId": "bench-items", "resource": resource, "changeType": "updated",
                 "lastModifiedDateTime": updated.get("lastModifiedDateTime", item["lastModifiedDateTime"]),
                 "expirationDateTime": "2099-01-01T00:00:00Z"}
        state.inbox_add("business_central", "updated", resource, json.dumps(entry, sort_keys=True).encode())
    return [i["number"] for i in picked]


def _calls(env: Env, ctx: Any, server_before: dict, client_before: dict) -> tuple[dict, dict]:
    server = {k: delta(v, server_before[k]) for k, v in env.server_counts().items()}
    client = {"business_central": delta(client_calls(ctx.bc), client_before["business_central"]),
              "woocommerce": delta(client_calls(ctx.woo), client_before["woocommerce"])}
    return server, client


def _call_block(server: dict, client: dict, fewest: dict[str, int], records: int) -> dict[str, Any]:
    out = {}
    for system in ("business_central", "woocommerce"):
        s, c = sum(server[system].values()), sum(client[system].values())
        out[system] = {"server": s, "client": c, "fewest": fewest[system],
                       "per_record_server": round(s / records, 5), "per_record_client": round(c / records, 5),
                       "by_route_server": server[system], "by_route_client": client[system]}
    return out


def run(opts: Options) -> dict[str, Any]:
    from wcbc.sync.items.sync import ItemSync
    from wcbc.sync.reconcile import Reconciler

    rng = random.Random(opts.seed)
    cases = []
    want = set(opts.cases)
    with environment(opts) as env:
        seeded = seed(env, opts.items, rng)
        ctx = env.context()
        ctx.tokens.token()
        state = ctx.state
        env.set_latency(opts.bc_latency, opts.woo_latency)

        # ---------------------------------------------------------------- reconcile
        server_before, client_before = env.server_counts(), {
            "business_central": client_calls(ctx.bc), "woocommerce": client_calls(ctx.woo)}
        with measure(opts, "items-reconcile") as m:
            report = Reconciler(ctx.woo, ctx.bc, state, ctx.config, run_id=state.run_start("reconcile")).run()
        server, client = _calls(env, ctx, server_before, client_before)
        n = seeded["bc_items"]
        top_level = seeded["simple"] + seeded["variable"]
        changes = len(report.differences)
        bc_fewest = math.ceil(n / 20000) + 2  # items in the largest pages + open orders + newest ledger entry
        woo_target = math.ceil(top_level / 100) + seeded["variable"] + math.ceil(changes / 100)
        woo_fewest = (math.ceil(top_level / 100) + seeded["variable"]
                      + math.ceil(seeded["simple_changed"] / 100) + seeded["parents_touched"]
                      + 2)  # + the reservations' two reads of web orders
        bc_calls = sum(server["business_central"].values())
        woo_calls = sum(server["woocommerce"].values())
        summary = report.summary()
        reconcile_case = {
            "case": "reconcile", "records": n, "seeded": seeded,
            "outcomes": {k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)},
            "measurement": m.as_dict(),
            "calls": _call_block(server, client,
                                 {"business_central": bc_fewest, "woocommerce": woo_fewest}, n),
            "bc_page_size": f"Prefer: odata.maxpagesize={ctx.bc.page_size}",
            "figures": {
                "bc_calls": figure(bc_calls, bc_fewest, better="lower", unit="calls",
                                   note="bound: ceil(items/20,000) + open orders + ledger top"),
                "woo_calls_target": figure(woo_calls, woo_target, better="lower", unit="calls",
                                           note="target: ceil(products/100) + variable + ceil(changes/100)"),
                "woo_calls_fewest": figure(woo_calls, woo_fewest, better="lower", unit="calls",
                                           note="fewest: variation writes need one call per parent touched"
                                                " + 2 web-order reads", target=False),
                "changes_written": figure(summary.get("updated", 0), seeded["changed"], better="higher",
                                          unit="products", note="bound: the values changed in BC"),
                "wall_s": figure(m.wall_s, TIME_BOUND_S, better="lower", unit="s", note="target: < 3 min"),
                "items_per_s": figure(n / max(m.wall_s, 1e-9), n / TIME_BOUND_S, better="higher",
                                      unit="items/s", note="bound: the items in 3 minutes"),
                "cpu_s_per_1000": figure(m.cpu_s / n * 1000, None, better="lower", unit="s",
                                         note="process CPU (wcbc + in-process sandbox)"),
                "peak_rss_mb": figure(m.rss_peak_mb, RSS_BOUND_MB, better="lower", unit="MB",
                                      note="whole process, sandbox's 20k items + 21k products included"),
                "rss_growth_mb": figure(m.rss_peak_mb - m.rss_start_mb, RSS_BOUND_MB, better="lower",
                                        unit="MB", note="peak minus RSS before the run: wcbc's share"),
            },
        }
        if not want or "reconcile" in want:
            cases.append(reconcile_case)

        # ---------------------------------------------------------------- notifications
        if not want or "notifications" in want:
            env.set_latency(0, 0)
            numbers = notify(env, state, opts.notifications, rng)
            env.set_latency(opts.bc_latency, opts.woo_latency)
            server_before, client_before = env.server_counts(), {
                "business_central": client_calls(ctx.bc), "woocommerce": client_calls(ctx.woo)}
            with measure(opts, "items-notifications") as m:
                item_report = ItemSync(ctx.woo, ctx.bc, state, ctx.config,
                                       run_id=state.run_start("sync-items")).run()
            server, client = _calls(env, ctx, server_before, client_before)
            k = len(numbers)
            variations = sum(1 for x in numbers if x.startswith("VAR-"))
            parents = len({x.rsplit("-", 1)[0] for x in numbers if x.startswith("VAR-")})
            # fewest: the items read in one page (the modified poll finds them all), the ledger poll, the
            # open orders; WooCommerce: the writes (simple products 100 a call, variations one call per
            # parent) + the reservations' read of web orders.
            bc_fewest = 3
            woo_fewest = math.ceil((k - variations) / 100) + parents + 2
            bc_calls = sum(server["business_central"].values())
            woo_calls = sum(server["woocommerce"].values())
            cases.append({
                "case": "notifications", "records": k, "outcomes": item_report.counts,
                "measurement": m.as_dict(),
                "calls": _call_block(server, client,
                                     {"business_central": bc_fewest, "woocommerce": woo_fewest}, k),
                "figures": {
                    "bc_calls": figure(bc_calls, bc_fewest, better="lower", unit="calls",
                                       note="bound: modified poll + ledger poll + open orders", target=False),
                    "woo_calls": figure(woo_calls, woo_fewest, better="lower", unit="calls",
                                        note="bound: writes 100 a call (variations per parent) + 2 reads",
                                        target=False),
                    "updated": figure(item_report.count("updated"), k, better="higher", unit="items"),
                    "wall_s": figure(m.wall_s, None, better="lower", unit="s"),
                    "items_per_s": figure(k / max(m.wall_s, 1e-9), None, better="higher", unit="items/s"),
                    "cpu_s_per_1000": figure(m.cpu_s / k * 1000, None, better="lower", unit="s",
                                             note="process CPU (wcbc + in-process sandbox)"),
                    "peak_rss_mb": figure(m.rss_peak_mb, RSS_BOUND_MB, better="lower", unit="MB"),
                },
            })
        env.set_latency(0, 0)
    return {"scenario": "items", "cases": cases}
