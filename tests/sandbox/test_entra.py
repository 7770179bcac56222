"""Entra ID simulator: discovery, client-credentials tokens, error bodies, msal end to end."""

from __future__ import annotations

import json
from pathlib import Path

import msal
import pytest
import requests

from tests.contracts import BC_EXAMPLES as EXAMPLES  # noqa: E402
from wcbc.sandbox.core import Clock, SandboxServer, generate_ca
from wcbc.sandbox.entra import EntraApp

TENANT = "8f1d6a52-0000-4000-8000-00000000aa01"
CLIENT = "11111111-2222-4333-8444-555555555555"
SECRET = "s3cr3t~value+with/odd=chars"
SCOPE = "https://api.businesscentral.dynamics.com/.default"


@pytest.fixture
def entra(tmp_path: Path):
    tls = generate_ca(tmp_path / "tls")
    app = EntraApp(clock=Clock())
    app.add_tenant(TENANT, "contoso.onmicrosoft.com")
    app.add_client(TENANT, CLIENT, SECRET)
    with SandboxServer(app, tls=tls) as server:
        yield app, server.url, str(tls.ca_path)


def _post(url: str, ca: str, data: dict[str, str], **kw) -> requests.Response:
    return requests.post(url, data=data, verify=ca, timeout=10, **kw)


def test_token_shape_matches_docs_example(entra) -> None:
    app, url, ca = entra
    r = _post(
        f"{url}/{TENANT}/oauth2/v2.0/token",
        ca,
        {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": SCOPE},
    )
    assert r.status_code == 200
    body = r.json()
    example = json.loads((EXAMPLES / "token-response.json").read_text())
    for key, value in example.items():
        assert key in body
        assert type(body[key]) is type(value)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert "refresh_token" not in body
    assert app.issued_tokens == 1
    status, info = app.tokens.check(body["access_token"])
    assert status == "ok" and info is not None and info.client_id == CLIENT


def test_basic_auth_and_domain_tenant(entra) -> None:
    app, url, ca = entra
    r = _post(
        f"{url}/contoso.onmicrosoft.com/oauth2/v2.0/token",
        ca,
        {"grant_type": "client_credentials", "scope": SCOPE},
        auth=(CLIENT, SECRET),
    )
    assert r.status_code == 200, r.text


def _error(r: requests.Response, status: int, error: str, code: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    example = json.loads((EXAMPLES / "token-error-response.json").read_text())
    assert set(example) <= set(body)
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["trace_id"] in body["error_description"]
    return body


@pytest.mark.parametrize(
    ("form", "tenant", "status", "error", "code"),
    [
        ({"scope": "https://foo.microsoft.com/.default"}, TENANT, 400, "invalid_scope", 70011),
        ({"scope": "https://api.businesscentral.dynamics.com"}, TENANT, 400, "invalid_scope", 70011),
        ({"client_id": "99999999-2222-4333-8444-555555555555"}, TENANT, 400, "unauthorized_client", 700016),
        ({"client_secret": "wrong"}, TENANT, 401, "invalid_client", 7000215),
        ({}, "00000000-dead-beef-0000-000000000000", 400, "invalid_request", 90002),
        ({"grant_type": "password"}, TENANT, 400, "unsupported_grant_type", 70003),
    ],
)
def test_token_errors(entra, form, tenant, status, error, code) -> None:
    _, url, ca = entra
    data = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": SCOPE}
    data.update(form)
    body = _error(_post(f"{url}/{tenant}/oauth2/v2.0/token", ca, data), status, error, code)
    assert SECRET not in json.dumps(body)


def test_discovery_points_at_this_server(entra) -> None:
    _, url, ca = entra
    r = requests.get(f"{url}/{TENANT}/v2.0/.well-known/openid-configuration", verify=ca, timeout=10)
    assert r.status_code == 200
    doc = r.json()
    for key in ("token_endpoint", "authorization_endpoint", "issuer"):
        assert doc[key].startswith(url)
    assert doc["token_endpoint"] == f"{url}/{TENANT}/oauth2/v2.0/token"
    r = requests.get(f"{url}/nope.example/v2.0/.well-known/openid-configuration", verify=ca, timeout=10)
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]


@pytest.fixture
def no_env_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override Session.verify (which msal sets): clear them.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_msal_acquires_token_and_expiry(entra, no_env_bundle) -> None:
    app, url, ca = entra
    cca = msal.ConfidentialClientApplication(
        CLIENT, client_credential=SECRET, authority=f"{url}/{TENANT}", instance_discovery=False, verify=ca
    )
    result = cca.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert app.tokens.check(result["access_token"])[0] == "ok"
    app.expire_all_tokens()
    assert app.tokens.check(result["access_token"])[0] == "expired"


def test_msal_reports_wrong_secret(entra, no_env_bundle) -> None:
    _, url, ca = entra
    cca = msal.ConfidentialClientApplication(
        CLIENT, client_credential="bad", authority=f"{url}/{TENANT}", instance_discovery=False, verify=ca
    )
    result = cca.acquire_token_for_client(scopes=[SCOPE])
    assert result.get("error") == "invalid_client"
    assert 7000215 in result.get("error_codes", [])


def test_expires_in_configurable(entra) -> None:
    app, url, ca = entra
    app.expires_in = 120
    r = _post(
        f"{url}/{TENANT}/oauth2/v2.0/token",
        ca,
        {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": SCOPE},
    )
    token = r.json()["access_token"]
    assert r.json()["expires_in"] == 120
    app.clock.advance(121)
    assert app.tokens.check(token)[0] == "expired"
