"""wcbc.adapters.http: classification, retries (Retry-After, backoff, caps), ambiguous writes, logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import requests_mock as rm
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

import wcbc
from wcbc.adapters.http import (
    USER_AGENT,
    AmbiguousWriteError,
    HttpClient,
    Outcome,
    classify,
    default_route,
    json_of,
    parse_retry_after,
)
from wcbc.core.errors import (
    AuthError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    UnreachableError,
    ValidationError,
)

URL = "https://api.example.test/things/16"
NOW = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect_error() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        MaxRetryError(
            None, "/things", NewConnectionError(None, "Failed to establish a new connection: refused")
        )
    )


def dropped_error() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


def make(sleeps: Sleeps | None = None, **kwargs) -> HttpClient:
    kwargs.setdefault("max_retries", 3)
    return HttpClient(
        "testsys",
        sleep=sleeps if sleeps is not None else Sleeps(),
        now=lambda: NOW,
        rng=lambda: 1.0,
        **kwargs,
    )


# ---------------------------------------------------------------- Retry-After parsing
def test_retry_after_seconds_date_and_cap() -> None:
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=30), usegmt=True), now=NOW) == 30.0
    assert parse_retry_after("100000", now=NOW, cap=120) == 120.0
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=30), usegmt=True), now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None) is None


# ---------------------------------------------------------------- classification table
@pytest.mark.parametrize(
    ("status", "idempotent", "outcome", "ambiguous"),
    [
        (200, True, Outcome.OK, False),
        (201, False, Outcome.OK, False),
        (429, False, Outcome.RETRY, False),
        (503, False, Outcome.RETRY, False),
        (500, True, Outcome.RETRY, False),
        (502, True, Outcome.RETRY, False),
        (504, True, Outcome.RETRY, False),
        (408, True, Outcome.RETRY, False),
        (500, False, Outcome.FAIL, True),
        (504, False, Outcome.FAIL, True),
        (400, True, Outcome.FAIL, False),
        (404, True, Outcome.FAIL, False),
        (401, True, Outcome.FAIL, False),
    ],
)
def test_classify_statuses(status: int, idempotent: bool, outcome: Outcome, ambiguous: bool) -> None:
    response = requests.Response()
    response.status_code = status
    verdict = classify(response, idempotent=idempotent)
    assert verdict.outcome is outcome
    assert verdict.ambiguous is ambiguous


def test_classify_401_refreshable_and_exceptions() -> None:
    response = requests.Response()
    response.status_code = 401
    assert classify(response, idempotent=True, can_refresh_auth=True).outcome is Outcome.REFRESH_AUTH
    assert classify(connect_error(), idempotent=False).outcome is Outcome.RETRY
    assert classify(requests.exceptions.ConnectTimeout(), idempotent=False).outcome is Outcome.RETRY
    read = classify(requests.exceptions.ReadTimeout(), idempotent=False)
    assert read.outcome is Outcome.FAIL and read.ambiguous
    assert classify(requests.exceptions.ReadTimeout(), idempotent=True).outcome is Outcome.RETRY
    dropped = classify(dropped_error(), idempotent=False)
    assert dropped.outcome is Outcome.FAIL and dropped.ambiguous
    assert classify(requests.exceptions.SSLError("certificate verify failed"), idempotent=True).outcome is (
        Outcome.FAIL
    )


# ---------------------------------------------------------------- retries end to end
def test_429_with_retry_after_seconds_then_success(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "7"}, "json": {}},
            {"status_code": 200, "json": {"id": 16}},
        ],
    )
    sleeps = Sleeps()
    client = make(sleeps)
    assert client.request("GET", URL).json() == {"id": 16}
    assert sleeps == [7.0]
    assert client.calls.total() == 2
    assert client.retries.total() == 1


def test_429_with_http_date_retry_after(requests_mock: rm.Mocker) -> None:
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    requests_mock.get(
        URL, [{"status_code": 429, "headers": {"Retry-After": when}}, {"status_code": 200, "json": {}}]
    )
    sleeps = Sleeps()
    make(sleeps).request("GET", URL)
    assert sleeps == [42.0]


def test_retry_after_is_capped(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL, [{"status_code": 429, "headers": {"Retry-After": "3600"}}, {"status_code": 200, "json": {}}]
    )
    sleeps = Sleeps()
    make(sleeps, retry_after_cap=120, max_total_wait=1000).request("GET", URL)
    assert sleeps == [120.0]


def test_429_without_retry_after_uses_exponential_backoff(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL,
        [{"status_code": 429}, {"status_code": 429}, {"status_code": 429}, {"status_code": 200, "json": {}}],
    )
    sleeps = Sleeps()
    # rng() == 1.0 makes full jitter return its ceiling: base * 2**(n-1), capped by backoff_max
    make(sleeps, backoff_base=1.0, backoff_max=3.0).request("GET", URL)
    assert sleeps == [1.0, 2.0, 3.0]


def test_full_jitter_stays_within_ceiling(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, [{"status_code": 503}] * 3 + [{"status_code": 200, "json": {}}])
    sleeps = Sleeps()
    client = HttpClient("testsys", sleep=sleeps, max_retries=5, backoff_base=2.0, backoff_max=60.0)
    client.request("GET", URL)
    assert len(sleeps) == 3
    for n, wait in enumerate(sleeps, start=1):
        assert 0.0 <= wait <= 2.0 * 2 ** (n - 1)


def test_503_then_success(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, [{"status_code": 503}, {"status_code": 200, "json": {"ok": 1}}])
    client = make()
    assert client.request("GET", URL).json() == {"ok": 1}
    assert client.retries[default_route("GET", URL)] == 1


def test_connection_error_then_success(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, [{"exc": connect_error()}, {"status_code": 200, "json": {}}])
    sleeps = Sleeps()
    make(sleeps).request("GET", URL)
    assert len(sleeps) == 1


def test_cap_on_429_raises_throttled(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "1"})
    sleeps = Sleeps()
    client = make(sleeps, max_retries=3)
    with pytest.raises(ThrottledError) as info:
        client.request("GET", URL)
    assert info.value.status == 429
    assert info.value.system == "testsys"
    assert info.value.call == "GET /things/16"
    assert sleeps == [1.0, 1.0, 1.0]
    assert client.calls.total() == 4


def test_cap_on_5xx_raises_unreachable(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=502)
    with pytest.raises(UnreachableError) as info:
        make(max_retries=2).request("GET", URL)
    assert info.value.status == 502
    assert not isinstance(info.value, AmbiguousWriteError)


def test_cap_on_connection_errors_raises_unreachable(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, exc=connect_error())
    with pytest.raises(UnreachableError) as info:
        make(max_retries=2).request("GET", URL)
    assert "connection refused" in str(info.value)


def test_total_wait_cap_stops_early(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "50"})
    sleeps = Sleeps()
    with pytest.raises(ThrottledError):
        make(sleeps, max_retries=10, max_total_wait=120).request("GET", URL)
    assert sleeps == [50.0, 50.0]


# ---------------------------------------------------------------- non-idempotent writes
def test_post_is_retried_on_429_503_and_connect_errors(requests_mock: rm.Mocker) -> None:
    requests_mock.post(
        URL,
        [
            {"status_code": 429},
            {"status_code": 503},
            {"exc": connect_error()},
            {"status_code": 201, "json": {"id": "x"}},
        ],
    )
    client = make(max_retries=5)
    assert client.request("POST", URL, json_body={"a": 1}).status_code == 201
    assert client.calls.total() == 4


@pytest.mark.parametrize(
    "failure",
    [
        {"exc": requests.exceptions.ReadTimeout},
        {"exc": dropped_error()},
        {"status_code": 504},
        {"status_code": 500},
    ],
)
def test_post_lost_answer_is_ambiguous_and_not_repeated(requests_mock: rm.Mocker, failure: dict) -> None:
    requests_mock.post(URL, [failure, {"status_code": 201, "json": {}}])
    client = make()
    with pytest.raises(AmbiguousWriteError) as info:
        client.request("POST", URL, json_body={"a": 1})
    assert isinstance(info.value, UnreachableError)
    assert info.value.exit_code == 3
    assert requests_mock.call_count == 1


def test_post_marked_idempotent_is_retried_after_read_timeout(requests_mock: rm.Mocker) -> None:
    requests_mock.post(URL, [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 200, "json": {}}])
    assert make().request("POST", URL, json_body={}, idempotent=True).status_code == 200


# ---------------------------------------------------------------- failures
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (409, ValidationError),
        (412, ValidationError),
        (422, ValidationError),
        (404, NotFoundError),
        (401, AuthError),
        (403, AuthError),
        (418, RemoteError),
    ],
)
def test_4xx_map_to_typed_errors_without_retry(requests_mock: rm.Mocker, status: int, cls: type) -> None:
    requests_mock.get(URL, status_code=status, json={"code": "some_code", "message": "Some message."})
    client = make()
    with pytest.raises(cls) as info:
        client.request("GET", URL + "?consumer_secret=hidden")
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.code == "some_code"
    assert err.call == "GET /things/16"
    assert "Some message." in str(err)
    assert "hidden" not in str(err)
    assert client.calls.total() == 1


def test_check_false_returns_final_4xx(requests_mock: rm.Mocker) -> None:
    requests_mock.post(URL, status_code=400, json={"error": "invalid_client"})
    assert make().request("POST", URL, data={"x": "y"}, check=False).status_code == 400


def test_refresh_auth_once_then_fail(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL,
        status_code=401,
        json={"error": {"code": "Authentication_InvalidCredentials", "message": "rejected"}},
    )
    refreshed: list[int] = []
    client = make()
    with pytest.raises(AuthError) as info:
        client.request("GET", URL, on_unauthorized=lambda r: refreshed.append(r.status_code))
    assert refreshed == [401]
    assert info.value.code == "Authentication_InvalidCredentials"
    assert requests_mock.call_count == 2


def test_redirect_is_not_followed(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=301, headers={"Location": "https://www.api.example.test/things/16"})
    with pytest.raises(RemoteError) as info:
        make().request("GET", URL)
    assert "redirect" in str(info.value)
    assert info.value.hint


def test_tls_error_fails_fast_with_hint(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        URL,
        exc=requests.exceptions.SSLError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "unable to get local issuer certificate (_ssl.c:1006)"
        ),
    )
    sleeps = Sleeps()
    with pytest.raises(UnreachableError) as info:
        make(sleeps).request("GET", URL)
    assert sleeps == []
    assert "ca_bundle" in (info.value.hint or "")
    assert str(info.value).endswith(
        "TLS error: certificate verify failed: unable to get local issuer certificate"
    )


def test_json_of_reports_non_json_answers() -> None:
    response = requests.Response()
    response.status_code = 200
    response._content = b"<br /><b>Notice</b>: something"
    response.headers["Content-Type"] = "text/html"
    with pytest.raises(RemoteError) as info:
        json_of(response, system="woocommerce", call="GET /x")
    assert "not JSON" in str(info.value)


# ---------------------------------------------------------------- headers, logs, secrets
def test_user_agent_timeout_and_accept(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json={})
    make(timeout=12.5).request("GET", URL)
    sent = requests_mock.last_request
    assert sent.headers["User-Agent"] == f"wcbc/{wcbc.__version__}" == USER_AGENT
    assert sent.timeout == (12.5, 12.5)


def test_each_retry_is_logged_at_warning(requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture) -> None:
    requests_mock.get(URL, [{"status_code": 503, "headers": {"Retry-After": "2"}}, {"status_code": 200}])
    with caplog.at_level(logging.DEBUG, logger="wcbc.http"):
        make().request("GET", URL + "?token=abc")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    record = warnings[0]
    assert record.name == "wcbc.http"
    assert record.system == "testsys"
    assert record.call == "GET /things/16"
    assert record.status == 503
    assert record.wait == 2.0
    assert record.reason == "HTTP 503"
    assert "token=abc" not in caplog.text


def test_secrets_are_redacted_from_error_bodies(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=400, json={"code": "bad", "message": "your key s3cr3t-value is wrong"})
    client = make(secrets=["s3cr3t-value"])
    with pytest.raises(ValidationError) as info:
        client.request("GET", URL)
    assert "s3cr3t-value" not in str(info.value)
    assert "***" in str(info.value)


def test_sessions_are_per_thread_and_closed() -> None:
    import threading

    client = make()
    seen: list[requests.Session] = []
    thread = threading.Thread(target=lambda: seen.append(client.session()))
    thread.start()
    thread.join()
    assert seen[0] is not client.session()
    assert client.session() is client.session()
    client.close()


def test_injected_session_is_used(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json={})
    session = requests.Session()
    client = make(session=session)
    assert client.session() is session
    client.request("GET", URL)
    assert requests_mock.last_request.headers["User-Agent"] == USER_AGENT
