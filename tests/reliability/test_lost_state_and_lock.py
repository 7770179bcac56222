"""The state DB deleted between runs, and two sync-orders started together."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, run, seed_orders, spawn, state_rows, tally

pytestmark = pytest.mark.reliability


def test_state_db_deleted_links_rebuilt_without_duplicates(env: E2E) -> None:
    no_notes(env)
    booked = seed_orders(env, 60, seed=21)
    first = run(env, "sync-orders")
    assert first.returncode == 0, first.stderr[-2000:]
    customers_before = len(env.bc.customers())
    newer = seed_orders(env, 20, seed=22, new_buyers=2, guests=1, tag="b")
    for suffix in ("", "-wal", "-shm"):
        path = env.state_path.with_name(env.state_path.name + suffix)
        if path.exists():
            path.unlink()
    again = run(env, "--json", "sync-orders")
    orders = booked + newer
    figures = tally(env, orders)
    links = dict(state_rows(env.state_path, "SELECT woo_id, bc_number FROM links WHERE kind='order'"))
    meta_agrees = 0
    for order in orders:
        meta = {m["key"]: m["value"] for m in env.woo.get_order(order["id"])["meta_data"]}
        if meta.get("_wcbc_bc_document") == links.get(str(order["id"])):
            meta_agrees += 1
    counts = json.loads(again.stdout)["counts"]
    linked = counts.get("linked", 0)
    print(f"state deleted: rerun exit {again.returncode}, {counts}: {linked} orders relinked from BC, "
          f"{len(links)} links rebuilt, {meta_agrees} agree with the order meta _wcbc_bc_document; "
          f"{figures.line()}; customers {customers_before} -> {len(env.bc.customers())}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
    assert figures.documents == len(orders) and figures.customer_duplicates == 0
    assert linked == len(booked) and counts.get("booked") == len(newer)
    assert len(links) == len(orders) and meta_agrees == len(orders)


def test_two_sync_orders_started_together(env: E2E) -> None:
    no_notes(env)
    orders = seed_orders(env, 80, seed=31)
    env.bc.faults.latency = 0.02  # the first run holds the lock while the second starts
    logs = [env.tmp / "first.log", env.tmp / "second.log"]
    children = [spawn(env, "sync-orders", log=log) for log in logs]
    codes = [child.wait(timeout=120) for child in children]
    outputs = [log.read_text() for log in logs]
    refused = [out for out in outputs if "another `wcbc sync-orders` is running" in out]
    figures = tally(env, orders)
    posts = sum(n for key, n in env.bc.requests.items() if key == "POST salesOrders")
    runs = state_rows(env.state_path, "SELECT COUNT(*) FROM runs WHERE command = 'sync-orders'")[0][0]
    print(f"two at once: exit codes {codes}, {len(refused)} refused by the run lock "
          f"({refused[0].strip().splitlines()[-1] if refused else '-'}), {runs} run recorded, "
          f"{posts} sales order POSTs; {figures.line()}")
    assert codes == [0, 0]
    assert len(refused) == 1
    assert runs == 1
    assert posts == len(orders)  # nothing was sent twice
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
