"""What `wcbc serve`'s background worker runs: the same syncs as cron, through the same run wrapper.

The worker drains the webhook inbox with OrderSync (WooCommerce deliveries) and ItemSync (BC
notifications) so that a change reaches the other side within seconds. Each round is a
:func:`wcbc.ops.runs.command_run` with ``source="serve"`` (run row, metrics, heartbeat, journal pruning),
taking the command's run lock without waiting: when a cron run holds it, this round is skipped and the
cron run drains the same inbox (rows are claimed atomically, so nothing is ever processed twice at once).
The worker's State is passed explicitly: it belongs to the worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wcbc.core.errors import LockHeld
from wcbc.ops.runs import command_run

log = logging.getLogger("wcbc.worker")


SOURCES = {"sync-orders": "woocommerce", "sync-items": "business_central"}

Job = Callable[[Any, int], dict]


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


def make_processor(ctx: Any, *, metrics_file: Path | None = None) -> Callable[[Any], dict]:
    """A processor for :class:`wcbc.webhooks.service.Service`: ``process(state) -> {"claimed": n}``."""
    orphans_checked: set[str] = set()

    def run(state: Any, command: str, job: Job) -> dict:
        try:
            with command_run(ctx, command, metrics_file=metrics_file, source="serve", state=state) as run:
                if command not in orphans_checked:  # once per serve process, under the lock
                    release_orphans(state, command)
                    orphans_checked.add(command)
                summary = job(state, run.id)
                run.finish(summary, failed=summary.pop("_failed", False))
            return summary
        except LockHeld:
            log.debug("%s is running from cron: it drains the inbox this time", command)
            return {}

    def orders(state: Any, run_id: int) -> dict:
        from wcbc.sync.orders.sync import OrderSync

        report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=state, config=ctx.config, run_id=run_id).run(
            poll=False
        )
        return {**report.counts, "_failed": report.failed}

    def items(state: Any, run_id: int) -> dict:
        from wcbc.sync.items.sync import ItemSync

        report = ItemSync(ctx.woo, ctx.bc, state, ctx.config, run_id=run_id).run()
        return {**report.counts, "_failed": report.failed}

    def process(state: Any) -> dict:
        claimed = 0
        for command, source, job in (("sync-orders", "woocommerce", orders),
                                     ("sync-items", "business_central", items)):
            before = state.inbox_backlog(source)
            if before:
                run(state, command, job)
                claimed += before - state.inbox_backlog(source)
        return {"claimed": max(claimed, 0)}

    return process
