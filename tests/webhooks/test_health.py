"""WooCommerce webhooks install/check/repair against the WooCommerce sandbox over HTTPS, delivering to a
real `wcbc serve` (Service) on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wcbc.adapters.woo.client import WooClient
from wcbc.core.errors import UsageError
from wcbc.core.state import State
from wcbc.sandbox.core import SandboxServer, generate_ca
from wcbc.sandbox.woo.app import WooStore, seed_sample
from wcbc.sync.common.cursors import ORDERS_LAST_SEEN
from wcbc.webhooks.health import (
    check_quiet,
    check_webhooks,
    delivery_url_for,
    install_webhooks,
)
from wcbc.webhooks.service import Service

SECRET = "whsecAlphaNumeric0123456789abcdef"


@dataclass
class Env:
    store: WooStore
    woo: WooClient
    state: State
    service: Service
    state_path: Path
    secrets: dict[str, Any]

    @property
    def url(self) -> str:
        return self.service.url + "/webhooks/woocommerce"

    def order(self) -> dict:
        product = self.store.get_product("TSHIRT-001")
        return self.store.create_order(billing={"first_name": "Ann", "email": "ann@example.test"},
                                       line_items=[{"product_id": product["id"], "quantity": 1}])

    def hook(self, webhook_id: int) -> dict:
        return self.store.webhook_state(int(webhook_id))


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    tls = generate_ca(tmp_path / "tls")
    store = WooStore(webhook_delay=0.01, time_zone="UTC")
    seed_sample(store)
    server = SandboxServer(store, tls=tls).start()
    store.base_url = server.url
    state_path = tmp_path / "state.db"
    secrets: dict[str, Any] = {"woo_webhook_secret": SECRET}
    service = Service(state_factory=lambda: State(state_path), secret_provider=lambda: dict(secrets),
                      processor=None, port=0, interval=3600.0).start()
    woo = WooClient(server.url, store.consumer_key, store.consumer_secret, verify=str(tls.ca_path),
                    max_retries=1)
    state = State(state_path)
    try:
        yield Env(store, woo, state, service, state_path, secrets)
    finally:
        service.stop()
        server.stop()
        store.close()
        state.close()


# ----------------------------------------------------------------------------- install


def test_install_creates_signed_webhooks_that_deliver_to_serve(env: Env) -> None:
    results = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    assert [(r["topic"], r["action"]) for r in results] == [("order.created", "created"),
                                                            ("order.updated", "created")]
    for result in results:
        hook = env.hook(result["id"])
        assert hook["delivery_url"] == env.url and hook["status"] == "active"
        assert hook["pending_delivery"] is False  # our ping answer (exactly 200) was accepted
        assert env.store.webhooks[int(result["id"])].secret == SECRET  # ours, never WooCommerce's default
    order = env.order()
    assert env.store.flush_webhooks(10)
    rows = env.state.inbox_claim("woocommerce", limit=10, worker="t", lease_seconds=60)
    assert sorted(r["topic"] for r in rows) == ["order.created", "order.updated"]
    assert {r["resource_id"] for r in rows} == {str(order["id"])}
    assert all(d["status"] == 200 for d in env.store.deliveries(kind="delivery"))


def test_install_is_idempotent(env: Env) -> None:
    first = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    again = install_webhooks(env.woo, public_url=env.service.url + "/", secret=SECRET)
    assert [r["action"] for r in again] == ["exists", "exists"]
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert len(env.woo.list_webhooks()) == 2


def test_install_after_a_secret_rotation_sets_the_new_secret(env: Env) -> None:
    install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    env.secrets["woo_webhook_secret"] = "rotatedSecret987"
    install_webhooks(env.woo, public_url=env.service.url, secret="rotatedSecret987")
    env.order()
    assert env.store.flush_webhooks(10)
    assert {d["status"] for d in env.store.deliveries(kind="delivery")} == {200}
    assert env.state.inbox_backlog() == 2


def test_install_recreates_a_disabled_one_and_drops_duplicates(env: Env) -> None:
    first = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    created_id = int(first[0]["id"])
    env.woo.update_webhook(created_id, {"status": "disabled"})
    duplicate = env.woo.create_webhook({"topic": "order.updated", "delivery_url": env.url, "secret": SECRET})
    results = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    actions = {(r["topic"], r["action"]) for r in results}
    assert ("order.created", "recreated") in actions
    assert ("order.updated", "deleted_duplicate") in actions
    hooks = env.woo.list_webhooks()
    assert sorted(h["topic"] for h in hooks) == ["order.created", "order.updated"]
    assert all(h["status"] == "active" for h in hooks)
    assert created_id not in {h["id"] for h in hooks}
    assert duplicate["id"] in {r["id"] for r in results}


def test_install_refuses_without_a_secret(env: Env) -> None:
    with pytest.raises(UsageError, match="no webhook secret"):
        install_webhooks(env.woo, public_url=env.service.url, secret="")
    with pytest.raises(UsageError):
        install_webhooks(env.woo, public_url="shop.example", secret=SECRET)
    assert env.woo.list_webhooks() == []


# ----------------------------------------------------------------------------- check / repair


def test_healthy_webhooks_have_no_problems(env: Env) -> None:
    install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    report = check_webhooks(env.woo, env.state, public_url=env.service.url)
    assert report.ok and report.problems == []
    assert {w["status"] for w in report.webhooks} == {"active"}
    assert report.to_dict()["delivery_url"] == env.url


def test_auto_disabled_webhooks_are_found_and_recreated(env: Env) -> None:
    install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    env.secrets["woo_webhook_secret"] = "not-the-one-woocommerce-signs-with"  # serve answers 401
    for _ in range(7):
        env.order()
        assert env.store.flush_webhooks(10)
    hooks = env.woo.list_webhooks()
    assert {h["status"] for h in hooks} == {"disabled"}  # the 7th failure in a row disabled them
    old_ids = {h["id"] for h in hooks}

    report = check_webhooks(env.woo, env.state, public_url=env.service.url)
    assert not report.ok
    assert sorted((p.kind, p.topic) for p in report.problems) == [("disabled", "order.created"),
                                                                  ("disabled", "order.updated")]
    env.secrets["woo_webhook_secret"] = SECRET  # serve fixed
    repaired = check_webhooks(env.woo, env.state, public_url=env.service.url, repair=True, secret=SECRET)
    assert repaired.ok
    assert all(p.repaired and p.repaired.startswith("recreated as") for p in repaired.problems)
    hooks = env.woo.list_webhooks()
    assert {h["status"] for h in hooks} == {"active"} and not ({h["id"] for h in hooks} & old_ids)
    assert {env.hook(h["id"])["failure_count"] for h in hooks} == {0}
    env.order()
    assert env.store.flush_webhooks(10)
    assert env.state.inbox_backlog() == 2


def test_reactivate_keeps_the_failure_count(env: Env) -> None:
    (created, _) = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    webhook = env.store.webhooks[int(created["id"])]
    webhook.status, webhook.failure_count = "disabled", 6
    report = check_webhooks(env.woo, env.state, public_url=env.service.url, repair=True, reactivate=True)
    (problem,) = report.problems
    assert problem.kind == "disabled" and problem.repaired and "NOT reset" in problem.repaired
    state = env.hook(created["id"])
    assert state["status"] == "active" and state["failure_count"] == 6


def test_paused_missing_and_elsewhere(env: Env) -> None:
    (created, updated) = install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    env.woo.update_webhook(created["id"], {"status": "paused"})
    env.woo.delete_webhook(updated["id"])
    other = env.woo.create_webhook({"topic": "order.updated", "delivery_url": "https://erp.example.test/hook",
                                    "secret": "theirs"})
    report = check_webhooks(env.woo, env.state, public_url=env.service.url)
    kinds = sorted((p.kind, p.topic) for p in report.problems)
    assert kinds == [("elsewhere", "order.updated"), ("missing", "order.updated"),
                     ("paused", "order.created")]
    assert not report.ok

    repaired = check_webhooks(env.woo, env.state, public_url=env.service.url, repair=True, secret=SECRET)
    assert repaired.ok  # "elsewhere" is advice, the rest was fixed
    hooks = env.woo.list_webhooks()
    assert other["id"] in {h["id"] for h in hooks}  # never touched
    ours = [h for h in hooks if h["delivery_url"] == env.url]
    assert sorted((h["topic"], h["status"]) for h in ours) == [("order.created", "active"),
                                                               ("order.updated", "active")]


def test_repair_needs_the_secret(env: Env) -> None:
    with pytest.raises(UsageError):
        check_webhooks(env.woo, env.state, public_url=env.service.url, repair=True, secret=None)


# ----------------------------------------------------------------------------- gone quiet


def _add_delivery_at(state_path: Path, moment: datetime) -> None:
    past = State(state_path, clock=lambda: moment)
    try:
        past.inbox_add("woocommerce", "order.updated", "5", json.dumps({"id": 5}).encode(), {})
    finally:
        past.close()


def test_quiet_when_orders_change_but_no_webhook_arrives(env: Env) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    _add_delivery_at(env.state_path, now - timedelta(hours=3))
    env.state.cursor_set(ORDERS_LAST_SEEN, "2026-11-28T11:50:00")  # bare = UTC
    problem, last_delivery, last_modified = check_quiet(env.state, quiet_minutes=60, now=now)
    assert problem is not None and problem.kind == "quiet"
    assert "170 minutes" in problem.detail
    assert last_delivery == env.state.inbox_newest("woocommerce") and last_modified == "2026-11-28T11:50:00"
    install_webhooks(env.woo, public_url=env.service.url, secret=SECRET)
    report = check_webhooks(env.woo, env.state, public_url=env.service.url, now=now)
    assert [p.kind for p in report.problems] == ["quiet"] and not report.ok


def test_not_quiet_when_webhooks_keep_up(env: Env) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    _add_delivery_at(env.state_path, now - timedelta(minutes=9))
    env.state.cursor_set(ORDERS_LAST_SEEN, "2026-11-28T11:50:00Z")
    assert check_quiet(env.state, quiet_minutes=60, now=now)[0] is None


def test_quiet_with_no_delivery_ever(env: Env) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    env.state.cursor_set(ORDERS_LAST_SEEN, "2026-11-28T10:00:00Z")
    problem = check_quiet(env.state, quiet_minutes=60, now=now)[0]
    assert problem is not None and "no WooCommerce webhook was ever received" in problem.detail
    # too early to tell, and too old to matter
    env.state.cursor_set(ORDERS_LAST_SEEN, "2026-11-28T11:30:00Z")
    assert check_quiet(env.state, quiet_minutes=60, now=now)[0] is None
    env.state.cursor_set(ORDERS_LAST_SEEN, "2026-10-01T11:30:00Z")
    assert check_quiet(env.state, quiet_minutes=60, now=now)[0] is None


def test_no_cursor_means_no_verdict(env: Env) -> None:
    assert check_quiet(env.state)[0] is None


def test_delivery_url_for() -> None:
    assert delivery_url_for("https://c.example/") == "https://c.example/webhooks/woocommerce"
    with pytest.raises(UsageError):
        delivery_url_for("")
