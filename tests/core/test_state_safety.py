"""wcbc.core.state under failure: disk full, read-only, damaged file, copies of the file in use elsewhere."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.core.conftest import FakeClock
from wcbc.core.config import StateConfig
from wcbc.core.errors import ExitCode, StateError
from wcbc.core.state import HOST_ID_ENV, State, host_identity, take_over
from wcbc.core.state.integrity import QUICK_CHECK_EVERY


def filled(path: Path, clock: FakeClock, rows: int = 300) -> None:
    with State(path, clock=clock) as st:
        with st.batch():
            for n in range(rows):
                st.record_put(f"order:{n}", "order", str(n), "done", data={"pad": "x" * 400})
        st.cursor_set("orders.modified_after", "2026-03-01T00:00:00Z")


# --------------------------------------------------------------------------- disk full, read-only


def test_disk_full_is_a_state_error_and_the_file_stays_usable(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "wcbc.db"
    filled(path, clock)
    with State(path, clock=clock) as st:
        pages = st.db.execute("PRAGMA page_count").fetchone()[0]
        st.db.execute(f"PRAGMA max_page_count = {pages}")  # the file cannot grow: as good as a full disk
        with pytest.raises(StateError) as info, st.batch():
            st.journal("order:1", "sent", "z" * 50_000)
            st.record_put("order:new", "order", "new", "done")
        assert str(path) in str(info.value) and "disk is full" in str(info.value)
        assert info.value.hint and "free space" in info.value.hint
        assert info.value.exit_code == ExitCode.CONFIG == 2
        assert not st.db.conn.in_transaction  # rolled back: the next write can start
        assert st.record_get("order:new") is None and st.journal_for("order:1") == []
        with pytest.raises(StateError, match="disk is full"):
            st.journal("order:1", "sent", "z" * 50_000)  # a single write too
        assert st.record_get("order:7")["status"] == "done"  # type: ignore[index]  # reads still work
        st.db.execute("PRAGMA max_page_count = 1073741823")  # space freed: writing works again
        st.journal("order:1", "sent", "z" * 50_000)
        assert len(st.journal_for("order:1")) == 1


def test_read_only_state_is_a_state_error(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "wcbc.db"
    with State(path, clock=clock) as st:
        st.cursor_set("a", "1")
        st.db.execute("PRAGMA query_only = ON")  # SQLite refuses writes as on a read-only file
        for write in (lambda: st.cursor_set("a", "2"), lambda: st.run_start("sync-orders"),
                      lambda: st.inbox_add("woocommerce", "order.updated", "1", b"{}")):
            with pytest.raises(StateError) as info:
                write()
            assert str(path) in str(info.value) and "read-only" in str(info.value)
            assert info.value.hint and "chmod 600" in info.value.hint
        assert st.cursor_get("a") == "1"


def test_unopenable_state_file_is_a_state_error(tmp_path: Path) -> None:
    # a directory where the file should be (a chmod would not stop the tests' root user)
    with pytest.raises(StateError) as info:
        State(tmp_path)
    assert str(tmp_path) in str(info.value) and info.value.exit_code == 2


# --------------------------------------------------------------------------- damaged file


def damage(path: Path) -> None:
    """Overwrite a page in the middle of the file (never the header page) with garbage."""
    pages = path.stat().st_size // 4096
    with open(path, "r+b") as fh:
        fh.seek(4096 * (pages // 2))
        fh.write(bytes(range(256)) * 16)


def test_damaged_file_is_refused_on_open_with_what_to_do(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "wcbc.db"
    filled(path, clock)
    damage(path)
    clock.advance(seconds=QUICK_CHECK_EVERY.total_seconds() + 1)  # the last check is old: open checks again
    with pytest.raises(StateError) as info:
        State(path, clock=clock)
    message = str(info.value)
    assert str(path) in message and "damaged" in message
    assert info.value.hint and 'README "Backups"' in info.value.hint and "restore" in info.value.hint
    assert info.value.exit_code == 2


def test_quick_check_on_open_is_cheap_and_doctor_check_finds_damage(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "wcbc.db"
    filled(path, clock)
    with State(path, clock=clock) as st:
        assert st.integrity_check() == [] and st.integrity_check(full=True) == []
    damage(path)
    clock.advance(hours=1)  # checked an hour ago: opening skips the check...
    with State(path, clock=clock) as st:
        problems = st.integrity_check()  # ...but doctor's check finds the damage
        assert problems and all(isinstance(p, str) for p in problems)
        with pytest.raises(StateError, match="damaged"):  # and reading the damaged page is a StateError
            for status in ("done", None):
                st.records(status=status)


def test_damaged_copy_of_a_good_file_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    good = tmp_path / "wcbc.db"
    filled(good, clock)
    copy = tmp_path / "copy" / "wcbc.db"
    copy.parent.mkdir()
    shutil.copy(good, copy)
    damage(copy)
    clock.advance(days=2)  # past the copy window and the check interval
    with pytest.raises(StateError, match="damaged"):
        State(copy, clock=clock)
    with State(good, clock=clock) as st:  # the original is untouched
        assert st.integrity_check() == [] and len(st.records()) == 300


# --------------------------------------------------------------------------- copies in use elsewhere


def test_copy_at_another_path_in_use_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    original = tmp_path / "a" / "wcbc.db"
    with State(original, clock=clock) as st:
        st.run_finish(st.run_start("sync-orders"), "ok", {})
        first = st.instance()
    assert first["instance_id"] and [h["path"] for h in first["hosts"]] == [str(original.resolve())]
    copy = tmp_path / "b" / "wcbc.db"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    clock.advance(minutes=5)
    with pytest.raises(StateError) as info:
        State(copy, clock=clock)
    message = str(info.value)
    assert str(original.resolve()) in message and str(copy.resolve()) in message and "5 min ago" in message
    assert info.value.hint and "--take-over" in info.value.hint and "on_copy" in info.value.hint
    assert info.value.exit_code == 2
    with State(original, clock=clock) as st:  # the original itself is not bothered
        assert st.instance()["instance_id"] == first["instance_id"]


def test_another_host_on_the_same_file_is_refused_until_its_last_run_is_old(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wcbc.db"
    monkeypatch.setenv(HOST_ID_ENV, "host-a")
    with State(path, clock=clock) as st:
        clock.advance(hours=3)
        st.run_start("sync-orders")  # each run is a heartbeat
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    clock.advance(hours=23)  # 23 h after host-a's last run: still within the 24 h window
    with pytest.raises(StateError, match="23.0 h ago"):
        State(path, clock=clock)
    with pytest.raises(StateError):
        State(path, clock=clock, copy_window=timedelta(hours=24))
    # a shorter window (from the configuration) lets it through: host-a's last run is 23 h old
    with State(path, clock=clock, copy_window=timedelta(hours=12)) as st:
        assert {h["host_id"] for h in st.instance()["hosts"]} == {"host-a", "host-b"}
    monkeypatch.setenv(HOST_ID_ENV, "host-a")  # host-b was active just now: host-a is refused in turn
    with pytest.raises(StateError, match="in use elsewhere"):
        State(path, clock=clock)


def test_on_copy_warn_only_warns(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "wcbc.db"
    monkeypatch.setenv(HOST_ID_ENV, "host-a")
    State(path, clock=clock).close()
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    with caplog.at_level(logging.WARNING, logger="wcbc.state"), \
            State(path, clock=clock, on_copy="warn") as st:
        st.cursor_set("x", "1")
    assert "in use elsewhere" in caplog.text and "book every order twice" in caplog.text
    with pytest.raises(ValueError):
        State(path, clock=clock, on_copy="ignore")


def test_take_over_forgets_the_other_users(tmp_path: Path, clock: FakeClock,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wcbc.db"
    monkeypatch.setenv(HOST_ID_ENV, "old-server")
    State(path, clock=clock).close()
    monkeypatch.setenv(HOST_ID_ENV, "new-server")
    with pytest.raises(StateError):
        State(path, clock=clock)
    with State(path, clock=clock, take_over=True) as st:
        assert [h["host_id"] for h in st.instance()["hosts"]] == ["new-server"]
    with State(path, clock=clock) as st:  # from now on this host opens it without the flag
        assert st.instance()["hosts"][0]["this"] is True
    monkeypatch.setenv(HOST_ID_ENV, "old-server")
    with pytest.raises(StateError):  # and the old server, started again by mistake, is refused
        State(path, clock=clock)
    info = take_over(path)  # the library function the CLI's --take-over may call
    assert [h["host_id"] for h in info["hosts"]] == ["old-server"]  # type: ignore[index]


def test_from_config_uses_on_copy_and_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wcbc.db"
    monkeypatch.setenv(HOST_ID_ENV, "host-a")
    State(path).close()
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    with pytest.raises(StateError):
        State.from_config(StateConfig(path=path))
    State.from_config(StateConfig(path=path, on_copy="warn")).close()
    monkeypatch.setenv(HOST_ID_ENV, "host-c")
    with pytest.raises(StateError):
        State.from_config(StateConfig(path=path, copy_window_hours=1.0))
    State.from_config(StateConfig(path=path), take_over=True).close()


def test_host_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_ID_ENV, "shop-prod")
    assert host_identity()[0] == "shop-prod"
    monkeypatch.delenv(HOST_ID_ENV)
    host_id, name = host_identity()
    assert name and host_id.startswith(("machine:", "host:")) and host_id == host_identity()[0]
    assert os.environ.get(HOST_ID_ENV) is None


def test_a_command_context_honours_the_state_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wcbc.ops.context import open_context

    monkeypatch.setattr("wcbc.core.vault.keys._usable_keyring", lambda: None)
    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    config = tmp_path / "config.toml"
    base = (
        '[woocommerce]\nurl = "https://shop.example.com"\n'
        '[business_central]\ntenant_id = "contoso.onmicrosoft.com"\n'
        'environment = "Production"\ncompany_id = "f03f6225-081c-ec11-bb77-000d3abcf3e1"\n'
        'client_id = "11111111-2222-3333-4444-555555555555"\n'
        f'[state]\npath = "{tmp_path / "wcbc.db"}"\n'
    )
    config.write_text(base)
    monkeypatch.setenv(HOST_ID_ENV, "host-a")
    ctx = open_context(config)
    ctx.state.cursor_set("x", "1")
    ctx.close()
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    with pytest.raises(StateError, match="in use elsewhere"):
        _ = open_context(config).state
    config.write_text(base + 'on_copy = "warn"\n')
    ctx = open_context(config)
    assert ctx.state.cursor_get("x") == "1"
    ctx.close()
    config.write_text(base)
    monkeypatch.setenv(HOST_ID_ENV, "host-c")
    ctx = open_context(config)
    ctx.take_over = True  # what the CLI's --take-over sets
    assert [h["host_id"] for h in ctx.state.instance()["hosts"]] == ["host-c"]
    ctx.close()
