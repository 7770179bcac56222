"""BC subscriptions against the BC sandbox over HTTPS, with `wcbc serve` (Service) answering the handshake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wcbc.adapters.bc.client import BCClient
from wcbc.core.errors import RemoteError, UsageError
from wcbc.core.state import State
from wcbc.core.time import parse
from wcbc.sandbox.bc.testing import BCSandbox, run_bc_sandbox
from wcbc.webhooks.service import Service
from wcbc.webhooks.subscriptions import (
    SubscriptionReport,
    _resource_key,
    ensure_subscriptions,
    notification_url_for,
)

CLIENT_STATE = "cs-" + "7" * 30
DAY = 86_400.0


class _Tokens:
    def __init__(self, sbx: BCSandbox) -> None:
        self.sbx = sbx
        self._token: str | None = None

    def token(self, *, force_refresh: bool = False) -> str:
        if self._token is None or force_refresh:
            self._token = self.sbx.token()
        return self._token


@dataclass
class Env:
    sbx: BCSandbox
    bc: BCClient
    state: State
    service: Service
    state_path: Path

    def ensure(self, **kwargs: Any) -> SubscriptionReport:
        kwargs.setdefault("public_url", self.service.url)
        kwargs.setdefault("client_state", CLIENT_STATE)
        kwargs.setdefault("renew_before", timedelta(hours=24))
        kwargs.setdefault("now", self.sbx.bc.clock.now())
        return ensure_subscriptions(self.bc, self.state, **kwargs)

    def remote(self) -> list[dict]:
        return self.sbx.bc.subscriptions()

    def start_receiver(self, client_state: str = CLIENT_STATE) -> Service:
        other = Service(state_factory=lambda: State(self.state_path),
                        secret_provider=lambda: {"bc_client_state": client_state},
                        processor=None, port=0, interval=3600.0)
        return other.start()


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    state_path = tmp_path / "state.db"
    with run_bc_sandbox(tmp_path / "bc", webhook_delay=0.05) as sbx:
        state = State(state_path)
        service = Service(state_factory=lambda: State(state_path),
                          secret_provider=lambda: {"bc_client_state": CLIENT_STATE},
                          processor=None, port=0, interval=3600.0).start()
        bc = BCClient(api_url=sbx.api_url, tenant_id=sbx.tenant_id, environment=sbx.environment,
                      company_id=sbx.company_id, token_provider=_Tokens(sbx), verify=sbx.ca_path,
                      max_retries=1)
        try:
            yield Env(sbx, bc, state, service, state_path)
        finally:
            bc.close()
            service.stop()
            state.close()


def test_creates_the_missing_subscription(env: Env) -> None:
    report = env.ensure()
    (status,) = report.subscriptions
    assert status.action == "created" and status.subscription_id
    assert status.resource == f"/api/v2.0/companies({env.sbx.company_id})/items"
    (remote,) = env.remote()
    assert remote["notificationUrl"] == env.service.url + "/webhooks/business-central"
    assert remote["clientState"] == CLIENT_STATE
    assert env.sbx.bc.webhooks.handshakes[-1]["ok"] is True
    (row,) = env.state.subscriptions()
    assert row["id"] == status.subscription_id == remote["subscriptionId"]
    assert row["expiration"] == remote["expirationDateTime"] == status.expires_at
    assert row["etag"] == remote["@odata.etag"]
    assert report.to_dict()["created"] == 1 and report.next_expiry == status.expires_at


def test_second_run_changes_nothing(env: Env) -> None:
    first = env.ensure().subscriptions[0]
    handshakes = len(env.sbx.bc.webhooks.handshakes)
    again = env.ensure()
    assert [s.action for s in again.subscriptions] == ["ok"]
    assert again.subscriptions[0].subscription_id == first.subscription_id
    assert len(env.sbx.bc.webhooks.handshakes) == handshakes
    assert len(env.remote()) == 1


def test_renews_when_expiring_within_renew_before(env: Env) -> None:
    first = env.ensure().subscriptions[0]
    env.sbx.bc.clock.advance(2.5 * DAY)  # 12 hours left of 72
    handshakes = len(env.sbx.bc.webhooks.handshakes)
    report = env.ensure()
    (status,) = report.subscriptions
    assert status.action == "renewed" and status.subscription_id == first.subscription_id
    assert parse(status.expires_at) > parse(first.expires_at)  # type: ignore[operator]
    assert len(env.sbx.bc.webhooks.handshakes) == handshakes + 1  # renewal repeats the handshake
    (row,) = env.state.subscriptions()
    assert row["expiration"] == status.expires_at
    assert row["etag"] == env.remote()[0]["@odata.etag"]


def test_not_renewed_while_far_from_expiry(env: Env) -> None:
    env.ensure()
    env.sbx.bc.clock.advance(1.5 * DAY)  # 36 hours left, renew_before 24 h
    assert [s.action for s in env.ensure().subscriptions] == ["ok"]
    assert [s.action for s in env.ensure(renew_before=timedelta(hours=48)).subscriptions] == ["renewed"]


def test_recreates_a_subscription_bc_deleted(env: Env) -> None:
    first = env.ensure().subscriptions[0]
    env.sbx.bc.webhooks.delete(first.subscription_id)  # e.g. after a 4xx answer or 6 failures
    report = env.ensure()
    (status,) = report.subscriptions
    assert status.action == "recreated" and status.subscription_id != first.subscription_id
    assert [r["id"] for r in env.state.subscriptions()] == [status.subscription_id]
    assert len(report.created) == 1


def test_recreates_after_expiry(env: Env) -> None:
    first = env.ensure().subscriptions[0]
    env.sbx.bc.clock.advance(3.5 * DAY)
    status = env.ensure().subscriptions[0]
    assert status.action == "recreated" and status.subscription_id != first.subscription_id
    assert len(env.remote()) == 1


def test_rotated_client_state_is_patched(env: Env) -> None:
    env.ensure()
    report = env.ensure(client_state="cs-new-value")
    assert [s.action for s in report.subscriptions] == ["renewed"]
    assert env.remote()[0]["clientState"] == "cs-new-value"


def test_other_subscriptions_are_left_alone(env: Env) -> None:
    other = env.start_receiver(client_state="theirs")
    try:
        foreign = env.bc.root_post("subscriptions", {
            "notificationUrl": other.url + "/webhooks/business-central",
            "resource": f"/api/v2.0/companies({env.sbx.company_id})/customers", "clientState": "theirs"})
        report = env.ensure(resources=["items", "customers"])
        assert [s.action for s in report.subscriptions] == ["created", "created"]
        assert report.others == 1
        ids = {s["subscriptionId"] for s in env.remote()}
        assert foreign["subscriptionId"] in ids and len(ids) == 3
    finally:
        other.stop()


def test_duplicate_of_ours_is_removed(env: Env) -> None:
    env.ensure()
    extra = env.bc.root_post("subscriptions", {
        "notificationUrl": env.service.url + "/webhooks/business-central",
        "resource": f"/api/v2.0/companies({env.sbx.company_id})/items", "clientState": CLIENT_STATE})
    report = env.ensure()
    assert len(report.removed_duplicates) == 1
    assert len(env.remote()) == 1
    assert report.subscriptions[0].action == "ok"
    # the newest (longest-lived) copy is kept, the other deleted
    kept = report.subscriptions[0].subscription_id
    assert {kept, *report.removed_duplicates} >= {extra["subscriptionId"]}
    assert [s["subscriptionId"] for s in env.remote()] == [kept]


def test_failed_handshake_says_serve_is_not_reachable(env: Env) -> None:
    dead = env.start_receiver()
    url = dead.url
    dead.stop()  # nothing listens there any more
    with pytest.raises(RemoteError) as info:
        env.ensure(public_url=url)
    message = str(info.value)
    assert f"BC could not reach {url}/webhooks/business-central" in message
    assert "is `wcbc serve` running and reachable from the internet?" in message
    assert info.value.status == 400 and info.value.hint and "validationToken" in info.value.hint
    assert env.remote() == [] and env.state.subscriptions() == []


def test_failed_renewal_handshake_says_so_too(env: Env) -> None:
    env.ensure()
    env.sbx.bc.clock.advance(2.9 * DAY)
    env.service.stop()
    with pytest.raises(RemoteError, match="is `wcbc serve` running"):
        env.ensure(check_reachable=False)


def test_notifications_reach_the_inbox_end_to_end(env: Env) -> None:
    env.ensure()
    item = env.sbx.bc.items()[0]
    env.sbx.bc.update_item(item["number"], displayName="Renamed by a test")
    assert env.sbx.bc.flush_notifications(10)
    delivered = [d for d in env.sbx.bc.deliveries() if d["outcome"] == "delivered"]
    assert delivered and delivered[-1]["status"] == 202
    rows = env.state.inbox_claim("business_central", limit=10, worker="t", lease_seconds=60)
    assert [r["topic"] for r in rows] == ["updated"]
    assert rows[0]["resource_id"].endswith(f"/items({item['id']})")
    assert CLIENT_STATE not in rows[0]["body"].decode()
    assert json.loads(rows[0]["body"])["changeType"] == "updated"


def test_wrong_client_state_notifications_do_not_delete_the_subscription(env: Env) -> None:
    # the subscription is created while serve knows another clientState (a rotation half done)
    env.ensure(client_state="cs-old")
    env.sbx.bc.update_item(env.sbx.bc.items()[0]["number"], displayName="x")
    assert env.sbx.bc.flush_notifications(10)
    assert env.sbx.bc.deliveries()[-1]["outcome"] == "delivered"  # answered 202, not a 4xx
    assert len(env.remote()) == 1  # so BC kept the subscription
    assert env.state.inbox_backlog() == 0  # and nothing was stored


def test_a_refused_resource_is_reported_and_the_others_done(env: Env) -> None:
    report = env.ensure(resources=["salesOrderLines", "items"])
    failed, created = report.subscriptions
    assert failed.action == "failed" and failed.error and "does not support webhook" in failed.error
    assert created.action == "created"
    assert [s["resource"] for s in env.remote()] == [created.resource]


def test_usage_errors(env: Env) -> None:
    with pytest.raises(UsageError):
        env.ensure(client_state="")
    with pytest.raises(UsageError):
        env.ensure(public_url="not a url")
    with pytest.raises(UsageError):
        notification_url_for("https://x.example/?a=1")
    assert notification_url_for("https://x.example/base/") == "https://x.example/base/webhooks/business-central"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
     ("2026-12-01T10:00:00.1234567Z", datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),
     ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
     ("2026-12-01T12:00:00+02:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
     ("garbage", None), (None, None), ("", None)],
)
def test_bc_expiration_dates_parse(value: Any, expected: datetime | None) -> None:
    assert parse(value) == expected


def test_resource_forms_compare_equal() -> None:
    cid = "f64eba74-dacd-4854-a584-1834f68cfc3a"
    forms = [f"/api/v2.0/companies({cid})/items", f"api/v2.0/companies({cid.upper()})/items",
             f"https://api.businesscentral.dynamics.com/v2.0/t/production/api/v2.0/companies({cid})/items",
             f"/api/v2.0/companies('{cid}')/items/"]
    keys: set[str] = {_resource_key(f) for f in forms}
    assert len(keys) == 1
    assert _resource_key(f"/api/v1.0/companies({cid})/items") not in keys
    assert _resource_key(f"/api/v2.0/companies({cid})/customers") not in keys

