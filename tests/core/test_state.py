"""wcbc.core.state: migrations, every API, concurrency across threads and processes."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.core.conftest import FakeClock
from wcbc.core import state as state_mod
from wcbc.core.errors import StateError
from wcbc.core.redact import Redactor
from wcbc.core.state import MIGRATIONS, State, iso, normalise_ts


@pytest.fixture
def st(tmp_path: Path, clock: FakeClock) -> State:
    with State(tmp_path / "wcbc.db", clock=clock) as s:
        yield s  # type: ignore[misc]


# --------------------------------------------------------------------------- file and migrations


def test_file_is_private_wal_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "wcbc.db"
    with State(path) as s:
        assert s.migrations() == [name for name, _ in MIGRATIONS]
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        tables = set(s.db.table_names())
        assert {"migrations", "links", "records", "journal", "cursors", "inbox", "subscriptions", "runs",
                "conflicts"} <= tables
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with State(path) as again:  # reopening applies nothing twice
        assert len(again.migrations()) == len(MIGRATIONS)


def test_older_file_is_upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wcbc.db"
    monkeypatch.setattr(state_mod.migrations, "MIGRATIONS", MIGRATIONS[:1])
    with State(path) as old:
        assert old.migrations() == [MIGRATIONS[0][0]]
        assert "inbox" not in old.db.table_names()
        old.link_set("order", "16", "guid-16", "SO-1")
    monkeypatch.setattr(state_mod.migrations, "MIGRATIONS", MIGRATIONS)
    with State(path) as new:
        assert new.migrations() == [name for name, _ in MIGRATIONS]
        assert new.link_get("order", "16")["bc_number"] == "SO-1"  # type: ignore[index]
        assert new.inbox_add("woocommerce", "order.updated", "16", b"{}") == 1


def test_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.db"
    with State(path) as s:
        s.db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                     ["0099_future", "2030-01-01T00:00:00Z"])
    with pytest.raises(StateError) as info:
        State(path)
    assert str(info.value) == (f"state file {path} was written by a newer wcbc (migration '0099_future'); "
                               "upgrade wcbc")
    assert info.value.exit_code == 2


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="not a usable wcbc state database"):
        State(path)


def test_use_after_close(tmp_path: Path) -> None:
    s = State(tmp_path / "wcbc.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(StateError):
        s.cursor_set("x", "1")


def test_timestamps() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    assert normalise_ts("2026-01-02T03:04:05Z") == "2026-01-02T03:04:05.000000Z"
    assert normalise_ts("2026-01-02T04:04:05+01:00") == "2026-01-02T03:04:05.000000Z"
    assert normalise_ts("2026-01-02") == "2026-01-02T00:00:00.000000Z"
    with pytest.raises(ValueError):
        normalise_ts("yesterday")


# --------------------------------------------------------------------------- links


def test_links(st: State) -> None:
    assert st.link_get("order", "16") is None
    st.link_set("order", "16", "guid-a", "SO-1001", {"total": "10.00"})
    st.link_set("order", 17, "guid-b")  # type: ignore[arg-type]
    st.link_set("customer", "16", "guid-c", "C-1")
    link = st.link_get("order", "16")
    assert link is not None
    assert (link["bc_id"], link["bc_number"], link["data"]) == ("guid-a", "SO-1001", {"total": "10.00"})
    assert link["updated_at"].endswith("Z")
    assert st.link_by_bc("order", "guid-b")["woo_id"] == "17"  # type: ignore[index]
    assert st.link_by_bc("customer", "guid-a") is None
    # update keeps data and number when not given
    st.link_set("order", "16", "guid-a2")
    link = st.link_get("order", "16")
    assert link is not None and link["bc_id"] == "guid-a2" and link["bc_number"] == "SO-1001"
    assert link["data"] == {"total": "10.00"}
    assert [row["woo_id"] for row in st.links("order")] == ["16", "17"]
    assert st.link_delete("order", "17") is True
    assert st.link_delete("order", "17") is False


# --------------------------------------------------------------------------- records


def test_record_put_keeps_attempts_and_data(st: State) -> None:
    st.record_put("order:16", "order", "16", "pending", data={"number": "16"})
    st.record_fail("order:16", "order", "16", "BC said no", max_attempts=3)
    st.record_put("order:16", "order", "16", "pending")
    rec = st.record_get("order:16")
    assert rec is not None
    assert rec["attempts"] == 1 and rec["status"] == "pending" and rec["data"] == {"number": "16"}
    assert rec["last_error"] is None
    with pytest.raises(ValueError):
        st.record_put("order:16", "order", "16", "weird")


def test_record_fail_until_on_hold_then_done(st: State) -> None:
    assert st.record_fail("item:1000", "item", "1000", "unknown SKU", max_attempts=3) == "failed"
    assert st.record_fail("item:1000", "item", "1000", "unknown SKU", max_attempts=3) == "failed"
    assert st.record_fail("item:1000", "item", "1000", "unknown SKU", max_attempts=3) == "on_hold"
    rec = st.record_get("item:1000")
    assert rec is not None and rec["attempts"] == 3 and rec["last_error"] == "unknown SKU"
    st.record_done("item:1000", "item", "1000", data={"price": "9.99"})
    rec = st.record_get("item:1000")
    assert rec is not None
    assert (rec["status"], rec["attempts"], rec["last_error"]) == ("done", 0, None)
    assert rec["data"] == {"price": "9.99"}
    assert st.record_fail("order:1", "order", "1", "x", max_attempts=1) == "on_hold"


def test_records_filters_and_counts(st: State, clock: FakeClock) -> None:
    st.record_put("order:1", "order", "1", "pending")
    clock.advance(hours=1)
    since = iso(clock.now)
    st.record_done("order:2", "order", "2")
    st.record_put("item:A", "item", "A", "skipped")
    assert [r["id"] for r in st.records()] == ["order:1", "item:A", "order:2"]
    assert [r["id"] for r in st.records(status="done")] == ["order:2"]
    assert [r["id"] for r in st.records(kind="item")] == ["item:A"]
    assert {r["id"] for r in st.records(since=since)} == {"order:2", "item:A"}
    assert {r["id"] for r in st.records(since=since.replace(".000000Z", "Z"))} == {"order:2", "item:A"}
    counts = st.counts()
    assert counts["pending"] == 1 and counts["done"] == 1 and counts["skipped"] == 1
    assert counts["on_hold"] == 0 and counts["failed"] == 0


def test_errors_are_redacted(tmp_path: Path) -> None:
    red = Redactor(["sup3r-s3cret"])
    with State(tmp_path / "wcbc.db", redact=red) as s:
        s.record_fail("order:1", "order", "1", "401 with key sup3r-s3cret", max_attempts=3)
        assert s.record_get("order:1")["last_error"] == "401 with key ***"  # type: ignore[index]
        inbox_id = s.inbox_add("woocommerce", "order.updated", "1", b"{}")
        s.inbox_fail(inbox_id, "Authorization: Basic c3VwM3ItczNjcmV0OnNlY3JldA==")
        assert "c3VwM3Itcz" not in s.inbox_get(inbox_id)["last_error"]  # type: ignore[index]
        run = s.run_start("sync")
        s.run_finish(run, "failed", {"error": "token sup3r-s3cret"})
        assert s.last_runs()["sync"]["summary"] == {"error": "token ***"}
        s.conflict_add("order:1", {"note": "sup3r-s3cret"})
        assert s.conflicts()[0]["detail"] == {"note": "***"}


# --------------------------------------------------------------------------- journal


def test_journal_is_redacted_and_ordered(tmp_path: Path, clock: FakeClock) -> None:
    red = Redactor(["cs_0123456789"])
    with State(tmp_path / "wcbc.db", redact=red, clock=clock) as s:
        run = s.run_start("sync")
        s.journal("order:16", "received", {"url": "/orders/16?consumer_secret=cs_0123456789"}, run_id=run)
        s.journal("order:16", "sent", "POST salesOrders with secret cs_0123456789")
        s.journal("order:16", "result")
        s.journal("order:17", "read", {"n": 1})
        rows = s.journal_for("order:16")
        assert [r["step"] for r in rows] == ["received", "sent", "result"]
        assert rows[0]["detail"] == {"url": "/orders/16?consumer_secret=***"}
        assert rows[0]["run_id"] == run
        assert rows[1]["detail"] == "POST salesOrders with secret ***"
        assert rows[2]["detail"] is None
        raw = s.db.execute("SELECT group_concat(detail) FROM journal").fetchone()[0]
        assert "cs_0123456789" not in raw


def test_prune_journal_and_inbox(st: State, clock: FakeClock) -> None:
    st.journal("order:1", "received", "old")
    done = st.inbox_add("woocommerce", "order.updated", "1", b"a")
    st.inbox_claim("woocommerce", worker="w")
    st.inbox_done(done)
    clock.advance(days=10)
    st.journal("order:1", "result", "new")
    pending = st.inbox_add("woocommerce", "order.updated", "2", b"b")
    assert st.prune_journal(5) == 1
    assert [r["detail"] for r in st.journal_for("order:1")] == ["new"]
    assert st.prune_journal(5) == 0
    assert st.prune_inbox(5) == 1
    assert st.inbox_get(done) is None and st.inbox_get(pending) is not None


# --------------------------------------------------------------------------- cursors


def test_cursors(st: State) -> None:
    assert st.cursor_get("woo.orders.modified") is None
    st.cursor_set("woo.orders.modified", "2026-01-01T00:00:00")
    st.cursor_set("bc.itemLedgerEntries", "1234")
    st.cursor_set("woo.orders.modified", "2026-01-02T00:00:00")
    assert st.cursor_get("woo.orders.modified") == "2026-01-02T00:00:00"
    assert st.cursors() == {"bc.itemLedgerEntries": "1234", "woo.orders.modified": "2026-01-02T00:00:00"}


# --------------------------------------------------------------------------- inbox


def test_inbox_lifecycle(st: State, clock: FakeClock) -> None:
    body = b'{"id":16,"link":"https:\\/\\/shop\\/"}'
    headers = {
        "X-WC-Webhook-Signature": "c2lnbmF0dXJl", "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Delivery-ID": "77", "Authorization": "Basic abc", "Content-Type": "application/json",
        "Cookie": "a=b",
    }
    first = st.inbox_add("woocommerce", "order.updated", "16", body, headers)
    second = st.inbox_add("business_central", "items", None, b"{}")
    row = st.inbox_get(first)
    assert row is not None
    assert row["body"] == body and row["body_hash"] == hashlib.sha256(body).hexdigest()
    assert row["headers"] == {"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Delivery-ID": "77",
                              "Content-Type": "application/json"}
    assert row["status"] == "pending" and row["attempts"] == 0 and row["received_at"].endswith("Z")
    assert st.inbox_backlog() == 2 and st.inbox_backlog("woocommerce") == 1
    claimed = st.inbox_claim("woocommerce", worker="w1", lease_seconds=60)
    assert [r["id"] for r in claimed] == [first]
    assert (claimed[0]["status"], claimed[0]["claimed_by"], claimed[0]["attempts"]) == ("claimed", "w1", 1)
    assert st.inbox_claim("woocommerce", worker="w2") == []  # lease still valid
    assert st.inbox_backlog("woocommerce") == 1
    clock.advance(seconds=61)
    reclaimed = st.inbox_claim("woocommerce", worker="w2")  # the lease expired: w1 died
    assert [(r["id"], r["claimed_by"], r["attempts"]) for r in reclaimed] == [(first, "w2", 2)]
    st.inbox_done(first)
    row = st.inbox_get(first)
    assert row is not None and row["status"] == "done" and row["processed_at"] and row["lease_until"] is None
    assert st.inbox_backlog("woocommerce") == 0
    assert st.inbox_claim("woocommerce", worker="w3") == []
    [bc_row] = st.inbox_claim("business_central", worker="w1")
    st.inbox_fail(bc_row["id"], "BC 500")
    failed = st.inbox_get(second)
    assert failed is not None and failed["status"] == "failed" and failed["last_error"] == "BC 500"
    assert [r["id"] for r in st.inbox_list(status="failed")] == [second]
    st.inbox_retry(second)
    assert st.inbox_backlog("business_central") == 1
    assert st.inbox_get(999) is None


def test_inbox_claim_limit_and_order(st: State) -> None:
    ids = [st.inbox_add("woocommerce", "order.updated", str(n), str(n).encode()) for n in range(5)]
    first = st.inbox_claim("woocommerce", worker="a", limit=2)
    second = st.inbox_claim("woocommerce", worker="b", limit=10)
    assert [r["id"] for r in first] == ids[:2]
    assert [r["id"] for r in second] == ids[2:]


def _claim_all(path: str, worker: str, queue: multiprocessing.Queue, start: threading.Event) -> None:  # type: ignore[type-arg]
    start.wait(30)
    got: list[int] = []
    with State(Path(path)) as s:
        while True:
            rows = s.inbox_claim("woocommerce", worker=worker, limit=3)
            if not rows:
                break
            got.extend(r["id"] for r in rows)
            for r in rows:
                s.inbox_done(r["id"])
    queue.put((worker, got))


def test_concurrent_claim_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.db"
    with State(path) as s:
        for n in range(120):
            s.inbox_add("woocommerce", "order.updated", str(n), f"body {n}".encode())
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=_claim_all, args=(str(path), f"w{i}", queue, start)) for i in range(3)]
    for p in procs:
        p.start()
    start.set()
    results = dict(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    claimed = [i for ids in results.values() for i in ids]
    assert len(claimed) == 120
    assert len(set(claimed)) == 120  # no row claimed twice
    with State(path) as s:
        assert s.inbox_backlog() == 0
        assert all(r["attempts"] == 1 for r in s.inbox_list())


def test_threads_share_one_connection(st: State) -> None:
    errors: list[BaseException] = []

    def producer(n: int) -> None:
        try:
            for i in range(25):
                st.inbox_add("woocommerce", "order.updated", f"{n}-{i}", b"x")
                st.journal(f"order:{n}", "received", {"i": i})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    drained: list[int] = []
    while any(t.is_alive() for t in threads) or st.inbox_backlog():
        for row in st.inbox_claim("woocommerce", worker="main", limit=7):
            drained.append(row["id"])
            st.inbox_done(row["id"])
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(drained) == list(range(1, 101))


# --------------------------------------------------------------------------- subscriptions, runs, conflicts


def test_subscriptions(st: State) -> None:
    st.subscription_put("sub-1", "companies(c)/items", "https://h/bc", "2026-03-04T12:00:00Z", 'W/"1"')
    st.subscription_put("sub-2", "companies(c)/customers", "https://h/bc", "2026-03-04T12:00:00Z", None)
    st.subscription_put("sub-1", "companies(c)/items", "https://h/bc", "2026-03-07T12:00:00Z", 'W/"2"')
    subs = {s["id"]: s for s in st.subscriptions()}
    assert subs["sub-1"]["expiration"] == "2026-03-07T12:00:00Z" and subs["sub-1"]["etag"] == 'W/"2"'
    assert subs["sub-2"]["etag"] is None
    st.subscription_delete("sub-2")
    assert [s["id"] for s in st.subscriptions()] == ["sub-1"]


def test_runs(st: State, clock: FakeClock) -> None:
    first = st.run_start("sync")
    st.run_finish(first, "ok", {"orders": 3})
    clock.advance(minutes=5)
    second = st.run_start("sync")
    items = st.run_start("items")
    st.run_finish(items, "failed", {"failed": 1})
    last = st.last_runs()
    assert set(last) == {"sync", "items"}
    assert last["sync"]["id"] == second and last["sync"]["finished_at"] is None
    assert last["items"]["outcome"] == "failed" and last["items"]["summary"] == {"failed": 1}
    assert second > first


def test_conflicts(st: State) -> None:
    a = st.conflict_add("order:16", {"woo_total": "10.00", "bc_total": "10.50"})
    b = st.conflict_add("order:17", {"reason": "edited in BC"})
    assert [c["id"] for c in st.conflicts()] == [a, b]
    assert st.conflicts()[0]["detail"] == {"woo_total": "10.00", "bc_total": "10.50"}
    st.conflict_resolve(a)
    assert [c["id"] for c in st.conflicts()] == [b]
    assert [c["id"] for c in st.conflicts(open_only=False)] == [a, b]
    assert st.conflicts(open_only=False)[0]["resolved_at"] is not None


def test_busy_writer_waits_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.db"
    with State(path) as s:
        other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(0.2, lambda: other.execute("COMMIT"))
        released.start()
        s.cursor_set("x", "1")  # blocks until the other writer commits, then succeeds
        released.join()
        other.close()
        assert s.cursor_get("x") == "1"


def test_batch_is_one_transaction_all_or_nothing(tmp_path) -> None:
    import pytest as _pytest

    from wcbc.core.state import State

    with State(tmp_path / "s.db") as state:
        with _pytest.raises(RuntimeError), state.batch():
            state.link_set("product", "1", "bc-1", "A")
            state.link_set("product", "2", "bc-2", "B")
            raise RuntimeError("boom")
        assert state.links("product") == []
        with state.batch():
            state.link_set("product", "1", "bc-1", "A")
            state.cursor_set("x", "y")
        assert len(state.links("product")) == 1
        assert state.cursor_get("x") == "y"


def test_link_set_many_is_one_transaction(tmp_path) -> None:
    from wcbc.core.state import State

    with State(tmp_path / "s.db") as state:
        assert state.link_set_many("product", [("1", "g1", "1000", {"a": 1}), ("2", "g2", "1001", None)]) == 2
        assert state.link_get("product", "1")["data"] == {"a": 1}
        assert state.link_get("product", "2")["bc_number"] == "1001"
        rows = [("3", "g3", "1002", None), ("4", "g4", "1003", {(1, 2): "not JSON"})]
        with pytest.raises(TypeError):  # the second row cannot be stored: the first is rolled back with it
            state.link_set_many("product", rows)
        assert state.link_get("product", "3") is None


def test_inbox_oldest_pending(tmp_path) -> None:
    from wcbc.core.state import State

    with State(tmp_path / "s.db") as state:
        assert state.inbox_oldest_pending() is None
        first = state.inbox_add("woocommerce", "order.updated", "1", b"{}", {})
        state.inbox_add("woocommerce", "order.updated", "2", b"{}", {})
        oldest = state.inbox_oldest_pending()
        assert oldest == state.inbox_get(first)["received_at"]
        state.inbox_done(first)
        assert state.inbox_oldest_pending() > oldest


def test_inbox_newest(tmp_path) -> None:
    from wcbc.core.state import State

    with State(tmp_path / "s.db") as state:
        assert state.inbox_newest("woocommerce") is None
        state.inbox_add("woocommerce", "order.updated", "1", b"{}", {})
        second = state.inbox_add("woocommerce", "order.updated", "2", b"{}", {})
        state.inbox_add("business_central", "updated", "x", b"{}", {})
        state.inbox_done(second)
        assert state.inbox_newest("woocommerce") == state.inbox_get(second)["received_at"]
