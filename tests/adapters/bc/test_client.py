"""BCClient and RateLimiter from wcbc.adapters (requests-mock, fake clock; no network)."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import unquote

import pytest
import requests
import requests_mock as rm

from tests.contracts import BC_EXAMPLES
from wcbc.adapters.bc import odata
from wcbc.adapters.bc.auth import TokenProvider
from wcbc.adapters.bc.client import HINT_401, BCClient
from wcbc.adapters.http import USER_AGENT
from wcbc.adapters.ratelimit import RateLimiter
from wcbc.core.errors import (
    AmbiguousWriteError,
    AuthError,
    ConfigError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    ValidationError,
)

API = "https://api.bc.example.test"
TENANT = "7d2c3a9e-1111-2222-3333-444455556666"
ENV = "production"
COMPANY = "f03f6225-081c-ec11-86bc-000d3a299fca"
BASE = f"{API}/v2.0/{TENANT}/{ENV}/api/v2.0"
COMPANY_URL = f"{BASE}/companies({COMPANY})"
EXAMPLES = BC_EXAMPLES
ORDER_ID = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
ETAG = 'W/"JzQ0O0VnQUFBQUo3QlRFQU1BQXdBREFBTUFBd0FBQUFBQUE9MTswMDsn"'


class FakeTokens:
    """A token provider: token N until force_refresh, then N+1."""

    def __init__(self) -> None:
        self.n = 1
        self.forced = 0

    def token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            self.forced += 1
            self.n += 1
        return f"token-{self.n}-eyJhbGciOi"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(tokens: FakeTokens | TokenProvider | None = None, **kwargs) -> BCClient:
    kwargs.setdefault("sleep", Sleeps())
    return BCClient(
        api_url=API,
        tenant_id=TENANT,
        environment=ENV,
        company_id=COMPANY,
        token_provider=tokens or FakeTokens(),
        **kwargs,
    )


def invalid_credentials() -> dict:
    return json.loads((EXAMPLES / "error-401-invalid-credentials.json").read_text())


# ---------------------------------------------------------------- urls and headers
def test_urls_and_config_checks() -> None:
    client = make()
    assert client.base_url == BASE
    assert client.company_url == COMPANY_URL
    assert client.url("salesOrders") == f"{COMPANY_URL}/salesOrders"
    assert client.url("subscriptions", root=True) == f"{BASE}/subscriptions"
    with pytest.raises(ConfigError):
        BCClient(
            api_url="http://x",
            tenant_id=TENANT,
            environment=ENV,
            company_id=COMPANY,
            token_provider=FakeTokens(),
        )
    with pytest.raises(ConfigError):
        BCClient(
            api_url=API, tenant_id=TENANT, environment="a/b", company_id=COMPANY, token_provider=FakeTokens()
        )


def test_get_sends_bearer_user_agent_and_encoded_filter(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{COMPANY_URL}/customers", json={"value": []})
    client = make()
    flt = odata.eq("email", "a+b@example.com") + " and " + odata.eq("displayName", "O'Brien & Sons #1/2")
    client.get("customers", {"$filter": flt, "$top": 1})
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Bearer token-1-eyJhbGciOi"
    assert sent.headers["User-Agent"] == USER_AGENT
    raw_query = sent.url.split("?", 1)[1]
    assert "a%2Bb%40example.com" in raw_query
    assert "+" not in raw_query
    assert unquote(raw_query.split("&")[0].split("=", 1)[1]) == flt
    assert client.calls["GET /customers"] == 1


def test_iter_follows_next_link_with_prefer_header(requests_mock: rm.Mocker) -> None:
    page2 = f"{COMPANY_URL}/items?$skiptoken=abc"
    requests_mock.get(
        f"{COMPANY_URL}/items",
        [
            {"json": {"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": page2}},
            {"json": {"value": [{"id": "3"}]}},
        ],
    )
    client = make(page_size=50000)
    assert [i["id"] for i in client.iter("items")] == ["1", "2", "3"]
    assert [r.headers["Prefer"] for r in requests_mock.request_history] == ["odata.maxpagesize=20000"] * 2
    assert "skiptoken=abc" in requests_mock.request_history[1].url
    list(client.iter("items", page_size=2))
    assert requests_mock.last_request.headers["Prefer"] == "odata.maxpagesize=2"


def test_iter_refuses_next_link_to_another_host(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{COMPANY_URL}/items", json={"value": [], "@odata.nextLink": "https://evil.test/items"}
    )
    with pytest.raises(RemoteError):
        list(make().iter("items"))
    assert all(r.hostname == "api.bc.example.test" for r in requests_mock.request_history)


def test_patch_and_delete_send_if_match(requests_mock: rm.Mocker) -> None:
    requests_mock.patch(f"{COMPANY_URL}/salesOrders({ORDER_ID})", json={"id": ORDER_ID, "@odata.etag": "W/x"})
    requests_mock.delete(f"{COMPANY_URL}/salesOrders({ORDER_ID})", status_code=204)
    client = make()
    assert client.patch(f"salesOrders({ORDER_ID})", {"phoneNumber": "1"}, ETAG)["id"] == ORDER_ID
    assert requests_mock.last_request.headers["If-Match"] == ETAG
    assert requests_mock.last_request.json() == {"phoneNumber": "1"}
    assert client.delete(f"salesOrders({ORDER_ID})", "*") is None
    assert requests_mock.last_request.headers["If-Match"] == "*"
    with pytest.raises(ValueError):
        client.patch(f"salesOrders({ORDER_ID})", {}, "")
    assert client.calls["PATCH /salesOrders({id})"] == 1


def test_post_action_company_and_root_calls(requests_mock: rm.Mocker) -> None:
    requests_mock.post(
        f"{COMPANY_URL}/salesInvoices", status_code=201, json={"id": ORDER_ID, "number": "S-1"}
    )
    requests_mock.post(f"{COMPANY_URL}/salesInvoices({ORDER_ID})/Microsoft.NAV.post", status_code=204)
    requests_mock.get(COMPANY_URL, json={"id": COMPANY, "name": "CRONUS"})
    requests_mock.post(f"{BASE}/subscriptions", status_code=201, json={"subscriptionId": "abc"})
    requests_mock.patch(f"{BASE}/subscriptions('abc')", json={"subscriptionId": "abc"})
    requests_mock.delete(f"{BASE}/subscriptions('abc')", status_code=204)
    requests_mock.get(f"{BASE}/subscriptions", json={"value": [{"subscriptionId": "abc"}]})
    client = make()
    assert client.post("salesInvoices", {"customerNumber": "C1"})["number"] == "S-1"
    assert client.action(f"salesInvoices({ORDER_ID})/Microsoft.NAV.post") is None
    assert requests_mock.last_request.body in (None, b"", "")
    assert client.company()["name"] == "CRONUS"
    assert client.root_post("subscriptions", {"notificationUrl": "https://x"})["subscriptionId"] == "abc"
    assert client.root_patch("subscriptions('abc')", {}, ETAG)["subscriptionId"] == "abc"
    assert requests_mock.last_request.headers["If-Match"] == ETAG
    client.root_delete("subscriptions('abc')", ETAG)
    assert [s["subscriptionId"] for s in client.root_iter("subscriptions")] == ["abc"]
    assert client.root_get("subscriptions")["value"]
    assert {
        "GET /companies({id})",
        "POST /salesInvoices",
        "POST /salesInvoices({id})/Microsoft.NAV.post",
        "POST /subscriptions",
        "PATCH /subscriptions({id})",
        "DELETE /subscriptions({id})",
        "GET /subscriptions",
    } <= set(client.calls)


# ---------------------------------------------------------------- 401 handling
def test_401_then_token_refresh_then_success(requests_mock: rm.Mocker) -> None:
    def answer(request, context):
        if request.headers["Authorization"] == "Bearer token-1-eyJhbGciOi":
            context.status_code = 401
            return invalid_credentials()
        return {"value": [{"id": "1"}]}

    requests_mock.get(f"{COMPANY_URL}/items", json=answer)
    tokens = FakeTokens()
    client = make(tokens)
    assert [i["id"] for i in client.iter("items")] == ["1"]
    assert tokens.forced == 1
    assert requests_mock.call_count == 2


def test_401_twice_is_auth_error_with_hint(
    requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(f"{COMPANY_URL}/items", status_code=401, json=invalid_credentials())
    tokens = FakeTokens()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        make(tokens).get("items")
    err = info.value
    assert err.code == "Authentication_InvalidCredentials"
    assert err.hint == HINT_401
    assert "The server has rejected the client credentials." in str(err)
    assert err.status == 401 and err.system == "business_central"
    assert tokens.forced == 1
    assert requests_mock.call_count == 2
    for text in (str(err), caplog.text):
        assert "token-1-eyJhbGciOi" not in text and "token-2-eyJhbGciOi" not in text


def test_401_refresh_through_real_token_provider(
    requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    authority = "https://login.example.test"
    secret = "the-client-secret-value"
    requests_mock.get(
        f"{authority}/{TENANT}/v2.0/.well-known/openid-configuration",
        json={
            "issuer": f"{authority}/{TENANT}/v2.0",
            "authorization_endpoint": f"{authority}/{TENANT}/oauth2/v2.0/authorize",
            "token_endpoint": f"{authority}/{TENANT}/oauth2/v2.0/token",
        },
    )
    requests_mock.post(
        f"{authority}/{TENANT}/oauth2/v2.0/token",
        [
            {"json": {"token_type": "Bearer", "expires_in": 3599, "access_token": f"at-{n}-secretish"}}
            for n in (1, 2)
        ],
    )
    requests_mock.get(
        f"{COMPANY_URL}/items",
        [
            {
                "status_code": 401,
                "json": {"error": {"code": "Unauthorized", "message": "token at-1-secretish expired"}},
            },
            {
                "status_code": 401,
                "json": {"error": {"code": "Unauthorized", "message": "token at-2-secretish bad"}},
            },
        ],
    )
    tokens = TokenProvider(
        authority_url=authority, tenant_id=TENANT, client_id="cid", client_secret=secret, api_url=API
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        make(tokens).get("items")
    assert tokens.refreshes == 2
    assert [r.headers.get("Authorization") for r in requests_mock.request_history if "items" in r.url] == [
        "Bearer at-1-secretish",
        "Bearer at-2-secretish",
    ]
    for text in (str(info.value), caplog.text):
        assert "at-1-secretish" not in text and "at-2-secretish" not in text and secret not in text


# ---------------------------------------------------------------- errors and retries
@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "BadRequest_InvalidToken", ValidationError),
        (400, "Application_DialogException", ValidationError),
        (404, "BadRequest_ResourceNotFound", NotFoundError),
        (409, "Request_EntityChanged", ValidationError),
        (412, "Request_EntityChanged", ValidationError),
        (403, "Authorization_InsufficientPermissions", AuthError),
    ],
)
def test_bc_error_bodies_map_to_typed_errors(
    requests_mock: rm.Mocker, status: int, code: str, cls: type
) -> None:
    message = "Something went wrong.  CorrelationId:  c32f628c-2b96-48c1-8b4b-7440366a21ef."
    requests_mock.patch(
        f"{COMPANY_URL}/customers(1)", status_code=status, json={"error": {"code": code, "message": message}}
    )
    with pytest.raises(cls) as info:
        make().patch("customers(1)", {"displayName": "x"}, ETAG)
    err = info.value
    assert type(err) is cls
    assert err.code == code and err.status == status
    assert message in str(err)
    assert err.call == f"PATCH /v2.0/{TENANT}/{ENV}/api/v2.0/companies({COMPANY})/customers(1)"
    if code == "Request_EntityChanged":
        assert "read it again" in (err.hint or "")


def test_429_retry_after_then_success_and_cap(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{COMPANY_URL}/items",
        [{"status_code": 429, "headers": {"Retry-After": "5"}}, {"json": {"value": []}}],
    )
    sleeps = Sleeps()
    client = make(sleep=sleeps)
    client.get("items")
    assert 5.0 in sleeps
    requests_mock.get(f"{COMPANY_URL}/customers", status_code=429)
    with pytest.raises(ThrottledError):
        make(max_retries=2).get("customers")


def test_post_read_timeout_is_ambiguous(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{COMPANY_URL}/salesOrders", exc=requests.exceptions.ReadTimeout)
    with pytest.raises(AmbiguousWriteError):
        make().post("salesOrders", {"externalDocumentNumber": "WEB-16"})
    assert requests_mock.call_count == 1


def test_client_is_safe_from_several_threads(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{COMPANY_URL}/items", json={"value": [{"id": "1"}]})
    client = make(max_concurrency=2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                assert client.get("items")["value"]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client.calls.total() == 50
    assert client.limiter.max_in_flight <= 2


# ---------------------------------------------------------------- rate limiter
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_sliding_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, 3, 300.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.slot():
            clock.now += 10
    assert clock.slept == []
    assert limiter.used() == 3
    with limiter.slot():  # the 4th request must wait until the first start (t=1000) is 300 s old
        pass
    assert clock.slept == [pytest.approx(270.0)]
    assert clock.now == pytest.approx(1300.0)
    clock.now += 1000
    with limiter.slot():
        pass
    assert len(clock.slept) == 1


def test_rate_limiter_concurrency() -> None:
    limiter = RateLimiter(2, 1000, 300.0)
    release = threading.Event()
    entered = threading.Semaphore(0)

    def work() -> None:
        with limiter.slot():
            entered.release()
            release.wait(10)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    assert entered.acquire(timeout=10) and entered.acquire(timeout=10)
    assert not entered.acquire(timeout=0.2)  # the third one is held back while two are in flight
    assert limiter.in_flight == 2
    release.set()
    for t in threads:
        t.join()
    assert limiter.max_in_flight == 2
    assert limiter.in_flight == 0


def test_rate_limiter_rejects_bad_limits() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 10)
