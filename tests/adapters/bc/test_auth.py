"""wcbc.adapters.bc.auth.TokenProvider through msal, with the Entra endpoints mocked (requests-mock)."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import pytest
import requests
import requests_mock as rm
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tests.contracts import BC_EXAMPLES
from wcbc.adapters.bc.auth import TokenProvider, aadsts_codes
from wcbc.adapters.http import USER_AGENT
from wcbc.core.errors import AuthError, ConfigError, UnreachableError

AUTHORITY = "https://login.example.test"
TENANT = "7d2c3a9e-1111-2222-3333-444455556666"
API = "https://api.example.test"
SECRET = "Zq8~client-secret-value-that-must-not-leak"
DISCOVERY = f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration"
TOKEN_URL = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"
EXAMPLES = BC_EXAMPLES


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def openid_config() -> dict:
    return {
        "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
        "authorization_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/authorize",
        "token_endpoint": TOKEN_URL,
    }


def token_body(token: str) -> dict:
    return {"token_type": "Bearer", "expires_in": 3599, "access_token": token}


def provider(**kwargs) -> TokenProvider:
    return TokenProvider(
        authority_url=AUTHORITY,
        tenant_id=TENANT,
        client_id="11111111-2222-3333-4444-555555555555",
        client_secret=SECRET,
        api_url=API,
        sleep=Sleeps(),
        **kwargs,
    )


@pytest.fixture
def discovery(requests_mock: rm.Mocker) -> rm.Mocker:
    requests_mock.get(DISCOVERY, json=openid_config())
    return requests_mock


def token_requests(mock: rm.Mocker) -> list:
    return [r for r in mock.request_history if r.method == "POST"]


def test_token_is_fetched_once_and_cached(discovery: rm.Mocker) -> None:
    discovery.post(TOKEN_URL, json=token_body("tok-1"))
    tokens = provider()
    assert tokens.token() == "tok-1"
    assert tokens.token() == "tok-1"
    posts = token_requests(discovery)
    assert len(posts) == 1
    form = parse_qs(posts[0].text)
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == [f"{API}/.default"]
    assert form["client_secret"] == [SECRET]
    assert posts[0].headers["User-Agent"] == USER_AGENT
    assert tokens.refreshes == 1


def test_force_refresh_fetches_a_new_token(discovery: rm.Mocker) -> None:
    discovery.post(TOKEN_URL, [{"json": token_body("tok-1")}, {"json": token_body("tok-2")}])
    tokens = provider()
    assert tokens.token() == "tok-1"
    assert tokens.token(force_refresh=True) == "tok-2"
    assert tokens.token() == "tok-2"
    assert len(token_requests(discovery)) == 2
    assert tokens.refreshes == 2


def test_token_error_names_the_aadsts_code(discovery: rm.Mocker, caplog: pytest.LogCaptureFixture) -> None:
    discovery.post(
        TOKEN_URL,
        status_code=401,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
            "being sent in the request is the client secret value.\r\nTrace ID: x\r\n",
            "error_codes": [7000215],
        },
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as info:
        provider().token()
    err = info.value
    assert str(err).startswith("entra: POST /")
    assert "AADSTS7000215: invalid client secret" in str(err)
    assert err.code == "AADSTS7000215"
    assert err.status == 401
    assert err.system == "entra"
    assert "wcbc credentials set business-central" in (err.hint or "")
    assert err.exit_code == 3
    for text in (str(err), err.hint or "", caplog.text):
        assert SECRET not in text


def test_recorded_docs_token_error_example(discovery: rm.Mocker) -> None:
    body = json.loads((EXAMPLES / "token-error-response.json").read_text())
    discovery.post(TOKEN_URL, status_code=400, json=body)
    with pytest.raises(AuthError) as info:
        provider().token()
    assert info.value.code == "AADSTS70011"
    assert "invalid scope" in str(info.value)
    assert "api_url" in (info.value.hint or "")


def test_unknown_code_keeps_the_description(discovery: rm.Mocker) -> None:
    discovery.post(
        TOKEN_URL,
        status_code=400,
        json={"error": "unauthorized_client", "error_description": "AADSTS123456: Something odd.\r\nTrace"},
    )
    with pytest.raises(AuthError) as info:
        provider().token()
    assert "AADSTS123456: Something odd." in str(info.value)
    assert aadsts_codes({"error_description": "AADSTS123456: x"}) == [123456]


def test_unreachable_authority(requests_mock: rm.Mocker) -> None:
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "Failed to establish a new connection: refused"))
    )
    requests_mock.get(DISCOVERY, exc=refused)
    with pytest.raises(UnreachableError) as info:
        provider(max_retries=2).token()
    assert info.value.system == "entra"
    assert requests_mock.call_count == 3


def test_unknown_tenant_at_discovery(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        DISCOVERY,
        status_code=400,
        json={
            "error": "invalid_tenant",
            "error_description": "AADSTS90002: Tenant 'x' not found.",
            "error_codes": [90002],
        },
    )
    with pytest.raises(AuthError) as info:
        provider().token()
    assert info.value.code == "AADSTS90002"
    assert info.value.status == 400
    assert "tenant_id" in (info.value.hint or "")


def test_token_endpoint_503_is_retried(discovery: rm.Mocker) -> None:
    discovery.post(TOKEN_URL, [{"status_code": 503}, {"json": token_body("tok-1")}])
    assert provider().token() == "tok-1"


def test_empty_secret_and_bad_authority_are_config_errors(requests_mock: rm.Mocker) -> None:
    with pytest.raises(ConfigError):
        TokenProvider(authority_url=AUTHORITY, tenant_id=TENANT, client_id="c", client_secret="", api_url=API)
    with pytest.raises(ConfigError):
        TokenProvider(
            authority_url="http://login.example.test",
            tenant_id=TENANT,
            client_id="c",
            client_secret=SECRET,
            api_url=API,
        )


def test_token_provider_exposes_its_http_counters() -> None:
    """metrics read ``calls`` and ``retries`` of the Entra client through the provider, not its privates."""
    from wcbc.adapters.bc.auth import TokenProvider

    provider = TokenProvider(authority_url="https://login.example.test", tenant_id="t", client_id="c",
                             client_secret="s", api_url="https://api.example.test")
    provider._http.calls["POST /t/oauth2/v2.0/token"] += 2
    provider._http.retries["POST /t/oauth2/v2.0/token"] += 1
    assert provider.calls.total() == 2 and provider.retries.total() == 1
