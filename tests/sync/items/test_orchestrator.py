"""ItemSync's three steps, driven directly with the fake adapters of test_sync: the inbox read, the same
plan shown (dry run) and performed, every journal row with the run id, and one transaction per answer."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.sync.items.fakes import COMPANY, Env, notify
from wcbc.sync.items.apply import Apply, DryRun
from wcbc.sync.items.read import wanted_from_inbox
from wcbc.sync.items.sync import ItemSync

STARTED = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
ITEM_ID = "0000000A-0000-0000-0000-000000000001"


@pytest.fixture
def env(tmp_path: Path):
    environment = Env(tmp_path)
    yield environment
    environment.state.close()


def row(topic: str, resource: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": 1, "topic": topic, "resource_id": resource, "body": json.dumps(body or {}).encode()}


def test_inbox_rows_name_items_deletions_and_collection_times() -> None:
    base = f"api/v2.0/companies({COMPANY})"
    wanted = wanted_from_inbox([
        row("updated", f"{base}/items({ITEM_ID})"),
        row("created", f"{base}/items({ITEM_ID.lower()})"),
        row("deleted", f"{base}/items(00000000-0000-0000-0000-00000000000b)"),
        row("updated", f"{base}/customers({ITEM_ID})"),  # not about items: ignored
        row("collection", f"{base}/items?$filter=lastModifiedDateTime%20gt%202026-01-05T09:00:00Z"),
        row("collection", f"{base}/items", {"lastModifiedDateTime": "2026-01-05T11:00:00Z"}),
    ], STARTED)
    assert wanted.ids == {ITEM_ID.lower()}
    assert wanted.deleted == ["00000000-0000-0000-0000-00000000000b"]
    # The earlier of: the filter's time, and 5 minutes before a notice without a filter.
    assert wanted.since == dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    alone = wanted_from_inbox([row("collection", f"{base}/items", {})], STARTED)
    assert alone.since == STARTED - dt.timedelta(minutes=5)


def shop(env: Env) -> None:
    env.bc.add_item("A-1", "5", 3)
    env.bc.add_item("A-2", "7", 2)
    env.bc.add_item("A-3", "0", 1)  # no price: skipped
    env.bc.add_item("A-4", "4", 1)  # no product: unknown
    env.bc.add_item("H-S", "30", 2)
    env.woo.add_product("A-1", "4.00", 3)
    env.woo.add_product("A-2", "7.00", 2)
    env.woo.add_product("A-3", "1.00", 1)
    env.woo.add_variable("H", [("H-S", "29.00", 1)])
    env.from_start()


def test_the_dry_run_shows_exactly_the_plan_the_real_run_performs(env: Env) -> None:
    shop(env)
    notify(env.state, env.bc.item("A-1"))
    dry = ItemSync(env.woo, env.bc, env.state, env.config, dry_run=True)
    assert type(dry.sink) is DryRun
    shown = dry.run()
    assert env.woo.writes == [] and env.state.records() == [] and env.state.links("product") == []
    assert shown.notifications == 1 and env.state.inbox_backlog("business_central") == 1  # not claimed
    real = ItemSync(env.woo, env.bc, env.state, env.config)
    assert type(real.sink) is Apply
    done = real.run()
    assert shown.plan.as_list() == done.plan.as_list()
    assert env.state.inbox_backlog("business_central") == 0
    assert [(w["action"], w["key"], w["body"]) for w in done.plan.as_list()] == [
        ("update_product", str(env.woo.by_sku("A-1")["id"]),
         {"id": env.woo.by_sku("A-1")["id"], "regular_price": "5.00"}),
        ("update_variation", str(env.woo.by_sku("H-S")["id"]),
         {"id": env.woo.by_sku("H-S")["id"], "regular_price": "30.00", "manage_stock": True,
          "stock_quantity": 2}),
    ]
    sent = [change for _, chunk in env.woo.writes for change in chunk]
    assert sent == [w["body"] for w in done.plan.as_list()]
    assert shown.by_number() == {"A-1": "would_update", "A-2": "unchanged", "A-3": "skipped",
                                 "A-4": "unknown", "H-S": "would_update"}
    assert done.by_number() == {"A-1": "updated", "A-2": "unchanged", "A-3": "skipped", "A-4": "unknown",
                                "H-S": "updated"}


def test_every_journal_row_of_a_run_carries_its_run_id(env: Env) -> None:
    shop(env)
    env.woo.fail_ids.add(env.woo.by_sku("A-1")["id"])
    run_id = env.state.run_start("sync-items")
    report = ItemSync(env.woo, env.bc, env.state, env.config, run_id=run_id).run()
    assert report.by_number()["A-1"] == "failed"
    rows = env.state.db.execute("SELECT record_id, step, run_id FROM journal").fetchall()
    steps = {step for _, step, _ in rows}
    assert {"read", "linked", "mapped", "sent", "result", "skipped"} <= steps
    assert {r for _, _, r in rows} == {run_id}
    # The unchanged item is done, and its journal says so.
    assert env.state.record_get("item:A-2")["status"] == "done"
    assert env.state.journal_for("item:A-2")[-1]["detail"]["unchanged"] is True


def test_a_crash_while_recording_a_batch_answer_leaves_none_of_it(env: Env) -> None:
    shop(env)
    real = env.state.journal

    def journal(record: str, step: str, detail: Any = None, **kwargs: Any) -> None:
        real(record, step, detail, **kwargs)
        if step == "result" and record == "item:A-1":  # after the link and the record were written
            raise RuntimeError("disk full")

    env.state.journal = journal  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        ItemSync(env.woo, env.bc, env.state, env.config).run()
    env.state.journal = real  # type: ignore[method-assign]
    # The product was written, but nothing of its answer was committed: the next run does it again.
    assert env.woo.by_sku("A-1")["regular_price"] == "5.00"
    assert env.state.record_get("item:A-1") is None
    assert not [j for j in env.state.journal_for("item:A-1") if j["step"] == "result"]
    links = {link["bc_number"]: link["data"] for link in env.state.links("product")}
    assert links["A-1"]["regular_price"] == "4.00"  # as linked before the write, not as answered
    assert env.state.inbox_backlog("business_central") == 0
    report = ItemSync(env.woo, env.bc, env.state, env.config).run()
    assert report.by_number()["A-1"] == "updated"  # the link still had 4.00: the same write, sent again
    assert env.state.record_get("item:A-1")["status"] == "done"


def test_replay_leaves_the_bookmarks_and_reads_only_the_named_items(env: Env) -> None:
    shop(env)
    before = env.state.cursors()
    env.bc.change("A-2", unitPrice=Decimal("8"))
    result = ItemSync(env.woo, env.bc, env.state, env.config).replay(["A-2", "NOPE"])
    assert result == {"A-2": "updated", "NOPE": "unknown"}
    assert env.state.cursors() == before
    reads = [q["$filter"] for p, q in env.bc.queries if p == "items"]
    assert reads == ["(number eq 'A-2' or number eq 'NOPE')"]
