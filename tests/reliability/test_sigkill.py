"""sync-orders killed with SIGKILL at many moments of a 200-order run: nothing lost, nothing doubled."""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, run, seed_orders, spawn, state_rows, tally, wait_for
from wcbc.sync.orders.sync import OrderSync

pytestmark = pytest.mark.reliability

KILLS = 24


def bc_calls(env: E2E) -> int:
    return sum(env.bc.requests.values())


def posted(env: E2E) -> int:
    """Sales orders POSTed so far (a cheap stand-in for the number of documents while polling)."""
    return env.bc.requests["POST salesOrders"]


def test_sigkill_mid_run_then_clean_rerun(env: E2E) -> None:
    no_notes(env)
    orders = seed_orders(env, 200, seed=11)
    env.bc.faults.latency = 0.03  # every BC call takes 30 ms more: the kills land mid-run
    rng = random.Random(2024)
    kills = finished = in_doubt_kills = 0
    progress: list[int] = []
    log = env.tmp / "children.log"
    for attempt in range(KILLS):
        before = bc_calls(env)
        child = spawn(env, "sync-orders", log=log)
        if attempt % 6 == 0:
            # at start-up: the state DB (migrations on the first run), the lock, the token, the lookups,
            # the customers; never later than the first sales order POST
            first = posted(env)
            wait_for(lambda p=first, c=child: posted(env) > p or c.poll() is not None, rng.uniform(0.05, 2.2))
        else:
            # while booking: a few documents further on each time, so the kills cover the whole run
            target = min(len(orders) - 2, posted(env) + rng.randint(2, 7))
            wait_for(lambda t=target, c=child: posted(env) >= t or c.poll() is not None, 30, 0.005)
            time.sleep(rng.uniform(0.0, 0.05))
        if child.poll() is not None:
            finished += 1  # the run ended before the kill
            continue
        calls = bc_calls(env) - before
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        kills += 1
        documents = len(env.bc.sales_orders())
        done = {r[0] for r in state_rows(env.state_path, "SELECT id FROM records WHERE status='done'")}
        in_bc = {d["externalDocumentNumber"] for d in env.bc.sales_orders()}
        if any(str(o["number"]) in in_bc and f"order:{o['id']}" not in done for o in orders):
            in_doubt_kills += 1  # a document in BC whose order is not committed locally (settled next run)
        progress.append((documents, calls))
    final = run(env, "sync-orders")
    figures = tally(env, orders)
    journal_settled = state_rows(
        env.state_path,
        "SELECT COUNT(DISTINCT record_id) FROM journal WHERE step='answered' AND detail LIKE ?",
        ('%"lookup"%',),
    )[0][0]
    print(f"sigkill: {kills} kills ({finished} runs ended before their kill); (documents in BC, BC calls of "
          f"the killed run) at each kill: {progress}")
    print(f"sigkill: {in_doubt_kills} kills landed between a BC write and its local commit; "
          f"{journal_settled} orders settled by the externalDocumentNumber lookup")
    print(f"sigkill: final rerun exit {final.returncode}: {figures.line()}")
    assert kills >= 20
    landed = sorted({documents for documents, _ in progress})
    assert len(landed) >= 12 and landed[-1] >= len(orders) // 2, "the kills were not spread over the run"
    assert final.returncode == 0, final.stdout[-1000:] + final.stderr[-2000:]
    assert figures.duplicates == 0 and figures.missing == 0
    assert figures.documents == len(orders)
    not_done = state_rows(env.state_path, "SELECT id, status, last_error, data FROM records "
                          "WHERE kind='order' AND status != 'done'")
    assert figures.not_done == 0, (not_done, final.stdout[-3000:])
    assert figures.customer_duplicates == 0
    # Each order's link points at the one document BC has for it.
    links = dict(state_rows(env.state_path, "SELECT woo_id, bc_number FROM links WHERE kind='order'"))
    for order in orders:
        (doc,) = env.documents(order["number"])
        assert links[str(order["id"])] == doc["number"]


class Crash(BaseException):
    """Stands for SIGKILL at one exact line."""


def test_crash_between_link_and_record_done(env: E2E) -> None:
    # The link, the "done" record and the journal row commit in one transaction: a crash while writing
    # them leaves the record "pending" (the intent) and no link; the next run's lookup settles the order.
    no_notes(env)
    (order,) = seed_orders(env, 1, new_buyers=0, guests=0)
    ctx = env.context()
    try:
        def crash(*args: object, **kwargs: object) -> None:
            raise Crash

        ctx.state.record_done = crash  # type: ignore[method-assign]
        with pytest.raises(Crash):
            OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
        del ctx.state.record_done
        assert ctx.state.record_get(f"order:{order['id']}")["status"] == "pending"
        assert ctx.state.link_get("order", str(order["id"])) is None  # rolled back with the record
    finally:
        ctx.close()
    code, out, err = env.cli("sync-orders")
    rid = f"order:{order['id']}"
    statuses = state_rows(env.state_path, "SELECT status FROM records WHERE id = ?", (rid,))
    print(f"crash while committing link + record: rerun exit {code}, record {statuses}, "
          f"{len(env.documents(order['number']))} document(s)")
    assert code == 0, out + err
    assert statuses == [("done",)]
    assert len(env.documents(order["number"])) == 1
