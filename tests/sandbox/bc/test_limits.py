"""BC simulator: rate limits (429 + Retry-After), concurrency cap, msal token end to end, admin HTTP API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest
import requests

from wcbc.sandbox.bc.testing import BCSandbox, run_bc_sandbox


@pytest.fixture
def sbx(tmp_path: Path) -> Iterator[BCSandbox]:
    with run_bc_sandbox(tmp_path, rate=5, window=60.0) as sandbox:
        yield sandbox


def test_rate_limit_429_with_retry_after_and_window_slides(sbx: BCSandbox) -> None:
    s = sbx.session()
    url = f"{sbx.company_url}/items"
    assert [s.get(url).status_code for _ in range(5)] == [200] * 5
    r = s.get(url)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "Application_TooManyRequests"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    sbx.bc.clock.advance(61)
    s = sbx.session()
    assert s.get(url).status_code == 200


def test_concurrency_cap_rejects_in_reject_mode(sbx: BCSandbox) -> None:
    sbx.bc.limiter.rate = 10_000
    sbx.bc.limiter.max_concurrent = 1
    sbx.bc.limiter.reject_over_concurrency = True
    gate, entered = threading.Event(), threading.Event()
    original = sbx.bc._api.dispatch

    def slow(*args, **kwargs):
        entered.set()  # the first request holds its slot from here on
        gate.wait(2)
        return original(*args, **kwargs)

    sbx.bc._api.dispatch = slow  # type: ignore[method-assign]
    s1, s2 = sbx.session(), sbx.session()
    results: list[int] = []
    t = threading.Thread(target=lambda: results.append(s1.get(f"{sbx.company_url}/items").status_code))
    t.start()
    assert entered.wait(5)
    r = s2.get(f"{sbx.company_url}/items")
    gate.set()
    t.join(5)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert results == [200]


def test_concurrency_queue_mode_waits(sbx: BCSandbox) -> None:
    sbx.bc.limiter.rate = 10_000
    sbx.bc.limiter.max_concurrent = 1
    gate = threading.Event()
    original = sbx.bc._api.dispatch
    calls = {"n": 0}

    entered = threading.Event()

    def slow(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            entered.set()
            gate.wait(2)
        return original(*args, **kwargs)

    sbx.bc._api.dispatch = slow  # type: ignore[method-assign]
    s1, s2 = sbx.session(), sbx.session()
    out: dict[str, int] = {}
    t1 = threading.Thread(target=lambda: out.__setitem__("a", s1.get(f"{sbx.company_url}/items").status_code))
    t1.start()
    assert entered.wait(5)
    t2 = threading.Thread(target=lambda: out.__setitem__("b", s2.get(f"{sbx.company_url}/items").status_code))
    t2.start()
    deadline = time.monotonic() + 5
    while sbx.bc.limiter.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sbx.bc.limiter.waiting == 1 and "b" not in out  # queued behind the first request
    gate.set()
    t1.join(5)
    t2.join(5)
    assert out == {"a": 200, "b": 200}


def test_msal_token_works_against_bc(sbx: BCSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    sbx.bc.limiter.rate = 10_000
    cca = msal.ConfidentialClientApplication(
        sbx.client_id,
        client_credential=sbx.client_secret,
        authority=sbx.authority,
        instance_discovery=False,
        verify=sbx.ca_path,
    )
    result = cca.acquire_token_for_client(scopes=[f"{sbx.api_url}/.default"])
    assert "access_token" in result, result
    s = sbx.session(result["access_token"])
    assert s.get(f"{sbx.company_url}/items").status_code == 200
    bad = cca.acquire_token_for_client(scopes=["https://api.businesscentral.dynamics.com/.default"])
    assert bad.get("error") == "invalid_scope"


def test_injected_fault_uses_bc_error_shape(sbx: BCSandbox) -> None:
    sbx.bc.limiter.rate = 10_000
    sbx.bc.faults.share_429 = 1.0
    r = requests.get(f"{sbx.company_url}/items", verify=sbx.ca_path, timeout=10)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "Application_TooManyRequests"


def test_admin_http_api(sbx: BCSandbox) -> None:
    sbx.bc.limiter.rate = 10_000
    a = f"{sbx.api_url}/__admin"
    kw = {"verify": sbx.ca_path, "timeout": 10}
    state = requests.get(f"{a}/state", **kw).json()
    assert state["items"] == 5 and state["companyId"] == sbx.company_id
    r = requests.post(
        f"{a}/items", json={"number": "ADM-1", "displayName": "Admin", "unitPrice": 3, "inventory": 4}, **kw
    )
    assert r.status_code == 201 and r.json()["inventory"] == 4
    assert requests.post(f"{a}/items/ADM-1/stock", json={"quantity": -1, "entryType": "Sale"}, **kw).ok
    assert requests.patch(f"{a}/items/ADM-1", json={"unitPrice": 5}, **kw).json()["unitPrice"] == 5
    item = next(i for i in requests.get(f"{a}/items", **kw).json() if i["number"] == "ADM-1")
    assert item["inventory"] == 3
    assert requests.post(f"{a}/tokens/expire", **kw).ok
    s = requests.Session()
    s.trust_env = False
    r = s.get(
        f"{sbx.company_url}/items", headers={"Authorization": f"Bearer {sbx.token()}"}, verify=sbx.ca_path
    )
    assert r.status_code == 200
    assert requests.post(f"{a}/apps/{sbx.client_id}", json={"enabled": False}, **kw).ok
    r = s.get(
        f"{sbx.company_url}/items", headers={"Authorization": f"Bearer {sbx.token()}"}, verify=sbx.ca_path
    )
    assert r.status_code == 401
    assert requests.get(f"{a}/requests", **kw).json()["GET items"] >= 1
    assert requests.get(f"{a}/nope", **kw).status_code == 404
