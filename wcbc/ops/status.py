"""`wcbc status`: everything an administrator checks first, from the state DB alone (no API calls)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wcbc.core.time import age_s, utcnow


def collect(ctx: Any) -> dict[str, Any]:
    state = ctx.state
    now = utcnow()
    subscriptions = []
    for sub in state.subscriptions():
        since_expiry = age_s(sub.get("expiration"), now)
        left = None if since_expiry is None else -since_expiry / 3600
        subscriptions.append({**sub, "hours_left": None if left is None else round(left, 1)})
    return {
        "records": state.counts(),
        "backlog": {
            "woocommerce": state.inbox_backlog("woocommerce"),
            "business_central": state.inbox_backlog("business_central"),
        },
        "failures": len(state.records(status="failed")),
        "on_hold": len(state.records(status="on_hold")),
        "conflicts": state.conflicts(open_only=True),
        "credit_memos": len(state.links("refund")),
        "last_runs": state.last_runs(),
        "bookmarks": state.cursors(),
        "subscriptions": subscriptions,
        "webhooks": _webhook_health(state.last_runs()),
    }


def render(data: dict[str, Any], console: Console) -> None:
    summary = Table(title="wcbc status", show_header=False)
    summary.add_column("what")
    summary.add_column("value", overflow="fold")
    records = data["records"]
    summary.add_row("records", ", ".join(f"{k} {v}" for k, v in sorted(records.items())) or "none yet")
    summary.add_row(
        "inbox backlog",
        f"woocommerce {data['backlog']['woocommerce']}, "
        f"business central {data['backlog']['business_central']}",
    )
    summary.add_row("failed / on hold", f"{data['failures']} / {data['on_hold']}")
    summary.add_row("open conflicts", str(len(data["conflicts"])))
    summary.add_row("credit memos (refunds booked)", str(data.get("credit_memos", 0)))
    for name, value in sorted(data["bookmarks"].items()):
        summary.add_row(f"bookmark {name}", str(value))
    for sub in data["subscriptions"]:
        summary.add_row(
            f"BC subscription {sub.get('resource')}",
            f"expires {sub.get('expiration')} ({sub.get('hours_left')} h left)",
        )
    if not data["subscriptions"]:
        summary.add_row("BC subscriptions", "none recorded (run `wcbc renew-subscriptions`)")
    summary.add_row("WooCommerce webhooks", escape(_webhook_health(data["last_runs"])))
    console.print(summary)
    runs = Table(title="last runs")
    for col in ("command", "started", "finished", "outcome", "summary"):
        runs.add_column(col, overflow="fold")
    for command, run in sorted(data["last_runs"].items()):
        runs.add_row(
            command,
            str(run.get("started_at")),
            str(run.get("finished_at") or "running"),
            str(run.get("outcome")),
            str(run.get("summary") or "")[:200],
        )
    console.print(runs)
    if data["conflicts"]:
        conflicts = Table(title="conflicts (changed after booking; review in BC)")
        for col in ("record", "detected", "detail"):
            conflicts.add_column(col, overflow="fold")
        for c in data["conflicts"]:
            conflicts.add_row(
                str(c.get("record_id")), str(c.get("detected_at")), escape(str(c.get("detail"))[:300])
            )
        console.print(conflicts)


def _webhook_health(last_runs: dict[str, dict]) -> str:
    """From the last `wcbc webhooks check` (or renew-subscriptions, which runs the same check)."""
    check = last_runs.get("webhooks-check")
    if not check:
        return "not checked yet (run `wcbc webhooks check`)"
    summary = check.get("summary") or {}
    problems = summary.get("problems") or []
    when = check.get("finished_at") or check.get("started_at")
    if check.get("outcome") == "ok":
        return f"ok (checked {when})"
    listed = "; ".join(f"{p.get('kind')}: {p.get('detail')}" for p in problems)
    return f"PROBLEM (checked {when}): {listed or check.get('outcome')}"
