"""wcbc.webhooks.worker: serve's rounds go through the one run wrapper, with the worker's own State."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wcbc.core.config import ServeConfig
from wcbc.core.lock import run_lock
from wcbc.core.state import State
from wcbc.webhooks.service import Service, service_from_context
from wcbc.webhooks.worker import make_processor


class _Frozen(SimpleNamespace):
    """A context nothing may add attributes to (the worker used to monkeypatch the context)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AssertionError(f"the worker set ctx.{name}")


def make_ctx(tmp_path: Path) -> Any:
    config = SimpleNamespace(
        state=SimpleNamespace(path=tmp_path / "state.db", journal_days=90),
        alerts=SimpleNamespace(heartbeat_url=None),
        verify=lambda: True,
    )
    ctx = _Frozen()
    object.__setattr__(ctx, "config", config)
    object.__setattr__(ctx, "woo", "woo-client")
    object.__setattr__(ctx, "bc", "bc-client")
    return ctx


@pytest.fixture()
def fake_syncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, int]]:
    seen: list[tuple[str, Any, int]] = []

    class FakeOrderSync:
        def __init__(self, *, woo: Any, bc: Any, state: State, config: Any, run_id: int) -> None:
            self.state, self.run_id = state, run_id

        def run(self, *, poll: bool) -> Any:
            assert poll is False
            seen.append(("orders", self.state, self.run_id))
            for row in self.state.inbox_claim("woocommerce", worker="sync-orders"):
                self.state.inbox_done(row["id"])
            return SimpleNamespace(counts={"booked": 1}, failed=False)

    class FakeItemSync:
        def __init__(self, woo: Any, bc: Any, state: State, config: Any, *, run_id: int) -> None:
            self.state, self.run_id = state, run_id

        def run(self) -> Any:
            seen.append(("items", self.state, self.run_id))
            for row in self.state.inbox_claim("business_central", worker="sync-items"):
                self.state.inbox_done(row["id"])
            return SimpleNamespace(counts={"updated": 1}, failed=True)

    import wcbc.sync.items.sync as items_mod
    import wcbc.sync.orders.sync as orders_mod

    monkeypatch.setattr(orders_mod, "OrderSync", FakeOrderSync)
    monkeypatch.setattr(items_mod, "ItemSync", FakeItemSync)
    return seen


def test_worker_passes_its_state_and_records_serve_runs(tmp_path: Path, fake_syncs: list) -> None:
    ctx = make_ctx(tmp_path)
    metrics = tmp_path / "wcbc.prom"
    process = make_processor(ctx, metrics_file=metrics)
    with State(ctx.config.state.path) as state:
        state.inbox_add("woocommerce", "order.created", "16", b'{"id": 16}')
        state.inbox_add("business_central", "updated", "items(1)", b"{}")
        assert process(state) == {"claimed": 2}
        assert [(kind, used is state) for kind, used, _ in fake_syncs] == [("orders", True), ("items", True)]
        last = state.last_runs()
        assert last["sync-orders (serve)"]["outcome"] == "ok"
        assert last["sync-items (serve)"]["outcome"] == "failed"
        assert "_failed" not in last["sync-items (serve)"]["summary"]
        assert [run_id for *_, run_id in fake_syncs] == [last["sync-orders (serve)"]["id"],
                                                         last["sync-items (serve)"]["id"]]
    assert 'command="sync-orders"' in metrics.read_text() and 'command="sync-items"' in metrics.read_text()


def test_worker_skips_a_round_while_cron_holds_the_lock(tmp_path: Path, fake_syncs: list) -> None:
    ctx = make_ctx(tmp_path)
    process = make_processor(ctx)
    with State(ctx.config.state.path) as state:
        state.inbox_add("woocommerce", "order.created", "16", b'{"id": 16}')
        with run_lock(ctx.config.state.path, "sync-orders"):
            assert process(state) == {"claimed": 0}
        assert fake_syncs == [] and state.last_runs() == {}
        assert process(state) == {"claimed": 1}


def test_service_from_context_takes_serve_settings(tmp_path: Path) -> None:
    serve = ServeConfig(host="127.0.0.1", port=8787, workers=3, max_body=2048, max_backlog=10)
    vault = SimpleNamespace(get=lambda name: f"value-of-{name}")
    ctx = SimpleNamespace(config=SimpleNamespace(serve=serve, state=SimpleNamespace(path=tmp_path / "s.db")),
                          vault=vault, redactor=None)
    service = service_from_context(ctx, port=0, interval=5.0)
    assert isinstance(service, Service)
    assert (service.host, service.port, service.workers, service.interval) == ("127.0.0.1", 0, 3, 5.0)
    assert (service.app.max_body, service.app.max_backlog) == (2048, 10)
    assert service.app.secrets() == {"woo_webhook_secret": "value-of-woo_webhook_secret",
                                      "bc_client_state": "value-of-bc_client_state"}
    assert service.processor is not None
    assert service_from_context(ctx).port == 8787


def test_serve_tells_copies_it_is_alive_at_most_every_ten_minutes(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from wcbc.core.errors import StateError
    from wcbc.webhooks.service import HEARTBEAT_S

    beats: list[int] = []
    state = SimpleNamespace(heartbeat=lambda: beats.append(1))
    service = Service(state_factory=lambda: State(tmp_path / "s.db"), secret_provider=dict, processor=None)
    service._run_rounds(state)  # type: ignore[arg-type]
    service._run_rounds(state)  # type: ignore[arg-type]
    assert beats == [1]
    assert service._last_heartbeat is not None
    service._last_heartbeat -= HEARTBEAT_S + 1
    service._run_rounds(state)  # type: ignore[arg-type]
    assert beats == [1, 1]

    def full() -> None:
        raise StateError("state file s.db: the disk is full")

    service._last_heartbeat = None
    service._run_rounds(SimpleNamespace(heartbeat=full))  # type: ignore[arg-type]
    assert "cannot record this host's activity" in caplog.text and "disk is full" in caplog.text


def test_serve_opens_the_state_like_every_command_take_over_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.core.test_config import MINIMAL, write
    from wcbc.core.config import load_config
    from wcbc.core.errors import StateError
    from wcbc.core.state import HOST_ID_ENV

    config = load_config(write(tmp_path, MINIMAL + f'\n[state]\npath = "{tmp_path / "s.db"}"\n'))
    monkeypatch.setenv(HOST_ID_ENV, "host-b")
    State(tmp_path / "s.db").close()  # host-b used it just now
    monkeypatch.setenv(HOST_ID_ENV, "host-a")
    ctx = SimpleNamespace(config=config, vault=SimpleNamespace(get=lambda name: None), redactor=None,
                          take_over=False)
    with pytest.raises(StateError, match="in use elsewhere"):
        service_from_context(ctx).state_factory()
    ctx.take_over = True
    state = service_from_context(ctx).state_factory()
    try:
        assert {h["host_id"] for h in state.instance()["hosts"]} == {"host-a"}
    finally:
        state.close()
