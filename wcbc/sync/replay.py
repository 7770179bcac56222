"""`wcbc replay`: re-run a failed or held record from a fresh read of its source.

Same shape as every sync: :func:`replay_targets` reads what to replay (a named record, or every failed and
held one) and refuses what replaying would not change; the replay itself is the ordinary sync, run on
those records alone, under its own run lock: orders through
:class:`~wcbc.sync.orders.sync.OrderSync` (``replay=True`` books orders on hold; no poll, no inbox, no
other retries), items through :class:`~wcbc.sync.items.sync.ItemSync`. Nothing is booked twice: the
order sync's lookup by externalDocumentNumber runs as always, ``--force`` included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from wcbc.core.errors import UsageError
from wcbc.core.time import iso_z
from wcbc.sync.common.outcome import FAILED_RESULTS

KINDS = ("order", "item", "inbox", "shipment", "payment")
ORDER_PARTS = ("refund", "cancel")  # refund:<order>-<refund>, cancel:<order>: replayed through their order


@dataclass
class ReplayTarget:
    kind: str  # order | item | inbox
    key: str


def parse_record_id(value: str) -> ReplayTarget:
    """Accept `order:16`, `item:TSHIRT-001`, `inbox:5`, or a bare WooCommerce order id."""
    if value.isdigit():
        return ReplayTarget("order", value)
    kind, sep, key = value.partition(":")
    if kind in ORDER_PARTS and key.partition("-")[0].isdigit():
        return ReplayTarget("order", key.partition("-")[0])
    if not sep or kind not in KINDS or not key:
        raise UsageError(f"cannot read record id {value!r}: use order:<id>, item:<number>, inbox:<id>, "
                         "shipment:<number> or payment:<order id>")
    return ReplayTarget(kind, key)


def check_replayable(state: Any, record_id: str, *, force: bool) -> dict | None:
    record = state.record_get(record_id)
    if record and record["status"] == "done" and not force:
        raise UsageError(
            f"{record_id} is already done; replaying it would change nothing "
            "(use --force to re-run it anyway: it still books nothing twice)"
        )
    return record


@dataclass
class ReplayResult:
    outcomes: list[dict]

    @property
    def failed(self) -> bool:
        return any(o["result"] in FAILED_RESULTS for o in self.outcomes)

    def rows(self) -> list[tuple[str, str]]:
        if not self.outcomes:
            return [("replayed", "nothing to replay")]
        return [
            (o["record"], f"{o['result']}{' — ' + o['message'] if o.get('message') else ''}")
            for o in self.outcomes
        ]

    def as_dict(self) -> dict:
        return {"outcomes": self.outcomes}


def _from_inbox(state: Any, key: str) -> ReplayTarget:
    """An inbox delivery names the order to replay (BC notifications name no item)."""
    row = state.inbox_get(int(key))
    if row is None:
        raise UsageError(f"no inbox delivery {key}")
    if row["source"] == "woocommerce" and str(row.get("resource_id") or "").isdigit():
        return ReplayTarget("order", str(row["resource_id"]))
    if row["source"] == "business_central":
        raise UsageError(
            "BC notifications name no item number: run `wcbc sync-items` (or `wcbc reconcile`) instead"
        )
    raise UsageError(f"inbox delivery {key} names no order ({row.get('topic')})")


def replay_targets(state: Any, record: str | None, *, since: dt.datetime | None = None,
                   force: bool = False) -> list[ReplayTarget]:
    """The named record (refused when done, unless ``force``), else every failed and held order and item
    (updated since ``since``)."""
    if record:
        target = parse_record_id(record)
        if target.kind == "inbox":
            target = _from_inbox(state, target.key)
        named = record if record.partition(":")[0] in ORDER_PARTS else f"{target.kind}:{target.key}"
        check_replayable(state, named, force=force)
        return [target]
    since_iso = iso_z(since) if since else None
    rows = state.records(status="failed", since=since_iso) + state.records(status="on_hold", since=since_iso)
    kinds = ("order", "item", "shipment", "payment", *ORDER_PARTS)
    targets = [parse_record_id(r["id"]) for r in rows if r["kind"] in kinds]
    return list({(t.kind, t.key): t for t in targets}.values())


def _order_sync(ctx: Any, run_id: int, *, force: bool = False) -> Any:
    from wcbc.sync.orders.sync import OrderSync

    return OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, replay=True, run_id=run_id,
                     force=force)


def _item_sync(ctx: Any, run_id: int) -> Any:
    from wcbc.sync.items.sync import ItemSync

    return ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config)


def replay_records(
    ctx: Any,
    *,
    record: str | None,
    failed: bool,
    since: dt.datetime | None = None,
    run: Callable[[Any, str], AbstractContextManager[Any]],
    force: bool = False,
    order_sync: Callable[[Any, int], Any] = _order_sync,
    item_sync: Callable[[Any, int], Any] = _item_sync,
) -> ReplayResult:
    """Replays orders through OrderSync and items through ItemSync, each under its run (lock, run row).

    ``record`` names one record; without it, every failed and held record is replayed (the CLI asks for
    ``failed`` then). ``run`` is the run wrapper (the CLI passes :func:`wcbc.ops.runs.command_run`: a sync
    never imports the operations layer); ``order_sync`` and ``item_sync`` build the syncs (tests pass fakes).
    """
    targets = replay_targets(ctx.state, record, since=since, force=force)
    outcomes: list[dict] = []
    orders = [int(t.key) for t in targets if t.kind == "order"]
    items = [t.key for t in targets if t.kind == "item"]
    if orders:
        with run(ctx, "sync-orders") as current:
            sync = order_sync(ctx, current.id, force=True) if force else order_sync(ctx, current.id)
            report = sync.run(order_ids=orders, poll=False, drain_inbox=False, retry_failed=False)
            current.summary = {"replay": True, **report.counts}
        outcomes += [
            {"record": f"order:{o.order_id}", "result": o.result, "message": o.message,
             "document": o.document}
            for o in report.outcomes
        ]
    if items:
        with run(ctx, "sync-items") as current:
            item_report = item_sync(ctx, current.id).replay(items)
            current.summary = {"replay": True}
        outcomes += [{"record": f"item:{n}", "result": r, "message": None} for n, r in item_report.items()]
    outcomes += _replay_fulfilment(ctx, targets, run)
    return ReplayResult(outcomes)


def _replay_fulfilment(ctx: Any, targets: list[ReplayTarget],
                       run: Callable[[Any, str], AbstractContextManager[Any]]) -> list[dict]:
    """Shipments and payments through their own syncs (``replay=True`` takes records on hold too)."""
    from wcbc.sync.payments.sync import PaymentSync
    from wcbc.sync.shipments.sync import ShipmentSync

    outcomes: list[dict] = []
    kw = {"woo": ctx.woo, "bc": ctx.bc, "state": ctx.state, "config": ctx.config, "replay": True}
    for kind, cls, command in (("shipment", ShipmentSync, "sync-shipments"),
                               ("payment", PaymentSync, "sync-payments")):
        keys = [t.key for t in targets if t.kind == kind]
        if not keys:
            continue
        with run(ctx, command) as current:
            args = {"numbers": keys} if kind == "shipment" else {"order_ids": [int(k) for k in keys]}
            report = cls(**kw, run_id=current.id).run(**args)
            current.summary = {"replay": True, **report.counts}
        outcomes += [o.as_dict() for o in report.outcomes]
    return outcomes
