"""`wcbc replay`: re-run a failed or held record from a fresh read of its source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wcbc.core.errors import UsageError


@dataclass
class ReplayTarget:
    kind: str  # order | item | inbox
    key: str


def parse_record_id(value: str) -> ReplayTarget:
    """Accept `order:16`, `item:TSHIRT-001`, `inbox:5`, or a bare WooCommerce order id."""
    if value.isdigit():
        return ReplayTarget("order", value)
    kind, sep, key = value.partition(":")
    if not sep or kind not in ("order", "item", "inbox") or not key:
        raise UsageError(f"cannot read record id {value!r}: use order:<id>, item:<number> or inbox:<id>")
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
        return any(o["result"] in ("failed", "on_hold") for o in self.outcomes)

    def rows(self) -> list[tuple[str, str]]:
        if not self.outcomes:
            return [("replayed", "nothing to replay")]
        return [
            (o["record"], f"{o['result']}{' — ' + o['message'] if o.get('message') else ''}")
            for o in self.outcomes
        ]

    def as_dict(self) -> dict:
        return {"outcomes": self.outcomes}


def _targets(ctx: Any, record: str | None, failed: bool, since: Any, force: bool) -> list[ReplayTarget]:
    if record:
        target = parse_record_id(record)
        if target.kind == "inbox":
            row = ctx.state.inbox_get(int(target.key))
            if row is None:
                raise UsageError(f"no inbox delivery {target.key}")
            if row["source"] == "woocommerce" and str(row.get("resource_id") or "").isdigit():
                target = ReplayTarget("order", str(row["resource_id"]))
            elif row["source"] == "business_central":
                raise UsageError(
                    "BC notifications name no item number: "
                    "run `wcbc sync-items` (or `wcbc reconcile`) instead"
                )
            else:
                raise UsageError(f"inbox delivery {target.key} names no order ({row.get('topic')})")
        check_replayable(ctx.state, f"{target.kind}:{target.key}", force=force)
        return [target]
    since_iso = since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else None
    rows = ctx.state.records(status="failed", since=since_iso) + ctx.state.records(
        status="on_hold", since=since_iso
    )
    return [parse_record_id(r["id"]) for r in rows if r["kind"] in ("order", "item")]


def replay_records(
    ctx: Any, *, record: str | None, failed: bool, since: Any = None, force: bool = False
) -> ReplayResult:
    """Replays orders through OrderSync and items through ItemSync, under their run locks."""
    from wcbc.ops.runs import command_run
    from wcbc.sync.orders.sync import OrderSync

    targets = _targets(ctx, record, failed, since, force)
    outcomes: list[dict] = []
    orders = [int(t.key) for t in targets if t.kind == "order"]
    items = [t.key for t in targets if t.kind == "item"]
    if orders:
        with command_run(ctx, "sync-orders") as run:
            sync = OrderSync(
                woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, replay=True, run_id=run.id
            )
            report = sync.run(order_ids=orders, poll=False, drain_inbox=False)
            run.summary = {"replay": True, **report.counts}
        outcomes += [
            {
                "record": f"order:{o.order_id}",
                "result": o.result,
                "message": o.message,
                "document": o.document,
            }
            for o in report.outcomes
        ]
    if items:
        from wcbc.sync.items.sync import ItemSync

        with command_run(ctx, "sync-items") as run:
            item_report = ItemSync(ctx.woo, ctx.bc, ctx.state, ctx.config).replay(items)
            run.summary = {"replay": True}
        outcomes += [{"record": f"item:{n}", "result": r, "message": None} for n, r in item_report.items()]
    return ReplayResult(outcomes)
