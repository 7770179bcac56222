"""What `wcbc serve`'s background worker runs: the same syncs as cron, under the same run locks.

The worker drains the webhook inbox with OrderSync (WooCommerce deliveries) and ItemSync (BC
notifications) so that a change reaches the other side within seconds. It takes the command's run lock
without waiting: when a cron run holds it, this round is skipped and the cron run drains the same inbox
(rows are claimed atomically, so nothing is ever processed twice at once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wcbc.core.errors import LockHeld
from wcbc.core.lock import run_lock

log = logging.getLogger("wcbc.worker")


SOURCES = {"sync-orders": "woocommerce", "sync-items": "business_central"}


def release_orphans(state: Any, command: str) -> int:
    """Put back to pending the inbox rows left 'claimed' by a ``command`` run that died (SIGKILL, power
    loss). Call it only while holding the command's run lock: then no live process can own such a claim.
    Without this a restarted serve would leave them alone until their lease (300 s) runs out."""
    claimed = state.inbox_list(status="claimed", source=SOURCES[command])
    rows = [r for r in claimed if r.get("claimed_by") == command]
    for row in rows:
        state.inbox_retry(row["id"])
    if rows:
        log.warning("%d inbox deliveries claimed by a %s run that did not finish are pending again",
                    len(rows), command)
    return len(rows)


def make_processor(ctx: Any) -> Callable[[Any], dict]:
    """A processor for :class:`wcbc.webhooks.app.Service`: ``process(state) -> {"claimed": n, ...}``."""
    orphans_checked: set[str] = set()

    def run(state: Any, command: str, job: Callable[[int], dict]) -> dict:
        try:
            with run_lock(ctx.config.state.path, command):
                if command not in orphans_checked:  # once per serve process, under the lock
                    release_orphans(state, command)
                    orphans_checked.add(command)
                run_id = state.run_start(command + " (serve)")
                try:
                    summary = job(run_id)
                except BaseException as exc:
                    state.run_finish(run_id, "error", {"error": str(exc)[:500]})
                    raise
                state.run_finish(run_id, "failed" if summary.pop("_failed", False) else "ok", summary)
                return summary
        except LockHeld:
            log.debug("%s is running from cron: it drains the inbox this time", command)
            return {}

    def orders(run_id: int) -> dict:
        from wcbc.sync.orders.sync import OrderSync

        report = OrderSync(
            woo=ctx.woo, bc=ctx.bc, state=ctx.state_for_worker, config=ctx.config, run_id=run_id
        ).run(poll=False)
        return {**report.counts, "_failed": report.failed}

    def items(run_id: int) -> dict:
        from wcbc.sync.items.sync import ItemSync

        report = ItemSync(ctx.woo, ctx.bc, ctx.state_for_worker, ctx.config, run_id=run_id).run()
        return {**report.counts, "_failed": report.failed}

    def process(state: Any) -> dict:
        ctx.state_for_worker = state
        claimed = 0
        if state.inbox_backlog("woocommerce"):
            before = state.inbox_backlog("woocommerce")
            run(state, "sync-orders", orders)
            claimed += before - state.inbox_backlog("woocommerce")
        if state.inbox_backlog("business_central"):
            before = state.inbox_backlog("business_central")
            run(state, "sync-items", items)
            claimed += before - state.inbox_backlog("business_central")
        return {"claimed": max(claimed, 0)}

    return process
