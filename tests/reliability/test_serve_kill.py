"""`wcbc serve` killed with SIGKILL while its inbox holds a backlog: nothing stored is lost and nothing is
processed twice after the restart."""

from __future__ import annotations

import signal

import pytest
import requests

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, seed_orders, spawn, state_rows, tally, wait_for
from wcbc.core.vault import Vault, generate_client_state
from wcbc.ops.demo import free_port

pytestmark = pytest.mark.reliability


def inbox(env: E2E) -> dict[str, int]:
    sql = "SELECT status, COUNT(*) FROM inbox WHERE source='woocommerce' GROUP BY status"
    rows = state_rows(env.state_path, sql)
    return dict(rows)


def test_serve_killed_with_a_backlog(env: E2E) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env.write_config(public_url=public, serve_port=port)
    no_notes(env)
    Vault.open(env.vault_path).set("bc_client_state", generate_client_state())
    code, out, err = env.cli("webhooks", "install")
    assert code == 0, out + err

    def healthy() -> bool:
        try:
            return requests.get(f"{public}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    log = env.tmp / "serve.log"
    serve = spawn(env, "serve", log=log)
    try:
        assert wait_for(healthy, 20), log.read_text()[-2000:]
        env.bc.faults.latency = 0.1  # the worker is slow: a backlog builds up
        orders = seed_orders(env, 40, seed=41, new_buyers=3, guests=2)
        assert env.woo.flush_webhooks(30)
        assert wait_for(lambda: env.bc.requests["POST salesOrders"] >= 3, 20)
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        at_kill = inbox(env)
        ids_at_kill = [r[0] for r in state_rows(env.state_path, "SELECT id FROM inbox")]
        runs_at_kill = {r[0] for r in state_rows(env.state_path, "SELECT id FROM runs")}
        delivered = [d for d in env.woo.deliveries(kind="delivery") if d["status"] == 200]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(10)
    docs_at_kill = env.bc.requests["POST salesOrders"]
    stored = sum(at_kill.values())
    env.bc.faults.latency = 0.0
    serve = spawn(env, "serve", log=log)
    try:
        assert wait_for(healthy, 20), log.read_text()[-2000:]
        drained = wait_for(lambda: set(inbox(env)) == {"done"} and tally(env, orders).missing == 0, 40, 0.2)
        health = requests.get(f"{public}/healthz", timeout=5).json()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(15)
    after = inbox(env)
    figures = tally(env, orders)
    print(f"serve kill: {len(delivered)} deliveries answered 200, {stored} stored; at the kill {at_kill} "
          f"with {docs_at_kill} documents POSTed; after the restart {after}, backlog {health['backlog']}, "
          f"drained {drained}; {figures.line()}; {env.bc.requests['POST salesOrders']} sales order POSTs")
    assert stored == len(delivered)  # everything answered 200 was stored before the answer
    assert at_kill.get("pending", 0) + at_kill.get("claimed", 0) > 0  # killed with a backlog
    marks = ",".join("?" * len(ids_at_kill))
    kept = state_rows(env.state_path, f"SELECT status FROM inbox WHERE id IN ({marks})", tuple(ids_at_kill))  # noqa: S608
    assert [status for (status,) in kept] == ["done"] * stored  # nothing stored was lost, all processed
    assert drained, (after, log.read_text()[-3000:])
    assert (figures.duplicates, figures.missing) == (0, 0)
    # Nothing processed twice: one document per order (above), and an order POSTed again only when its
    # first POST was in flight at the kill (journaled "sent" by the killed process, no answer recorded) and
    # left no document for the restart's lookup to find (a duplicate would show above).
    assert env.bc.requests["DELETE salesOrders(id)"] == 0  # no document was made and thrown away
    lost = lost_at_the_kill(env, runs_at_kill)
    posts = env.bc.requests["POST salesOrders"]
    assert len(orders) <= posts <= len(orders) + len(lost), (posts, lost)


def lost_at_the_kill(env: E2E, killed_runs: set[int]) -> list[str]:
    """The orders whose POST the killed process journaled as sent without recording any answer, and that
    the restarted process sent again."""
    rows = state_rows(env.state_path, "SELECT record_id, run_id, step, detail FROM journal "
                      "WHERE record_id LIKE 'order:%' ORDER BY id")
    steps: dict[str, list[tuple[int, str]]] = {}
    for record_id, run_id, step, detail in rows:
        posted = step == "sent" and '"externalDocumentNumber"' in (detail or "")  # the document's POST
        steps.setdefault(record_id, []).append((run_id, "post" if posted else step))
    lost = []
    for record_id, history in steps.items():
        sent = [i for i, (_, step) in enumerate(history) if step == "post"]
        if len(sent) < 2 or history[sent[0]][0] not in killed_runs:
            continue
        first_run = history[sent[0]][0]
        unanswered = all(run != first_run for run, _ in history[sent[0] + 1:])
        if unanswered and history[sent[1]][0] not in killed_runs:
            lost.append(record_id)
    return lost
