"""Shared helpers of the BC order-to-cash sandbox tests (over the sandbox's real HTTPS)."""

from __future__ import annotations

from typing import Any

import requests

from wcbc.sandbox.bc.testing import BCSandbox


def assert_error(
    r: requests.Response, status: int, code: str, message: str | None = None, *, starts: str | None = None
) -> str:
    """BC's error body {"error":{"code","message  CorrelationId:  <guid>."}} with this status and code."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"code", "message"}
    assert err["code"] == code, err
    assert "  CorrelationId:  " in err["message"]
    text = str(err["message"].split("  CorrelationId:  ")[0])
    if message is not None:
        assert text == message
    if starts is not None:
        assert text.startswith(starts), text
    return text


def jane(sbx: BCSandbox) -> dict[str, Any]:
    return next(c for c in sbx.bc.customers() if c["email"] == "jane.doe@example.test")


def item(s: requests.Session, sbx: BCSandbox, number: str) -> dict[str, Any]:
    r = s.get(f"{sbx.company_url}/items", params={"$filter": f"number eq '{number}'"})
    (found,) = r.json()["value"]
    return dict(found)


def posted_invoice(
    s: requests.Session,
    sbx: BCSandbox,
    ext: str = "WC-INV",
    lines: list[dict[str, Any]] | None = None,
    **head: Any,
) -> dict[str, Any]:
    """A draft invoice deep-inserted then posted through the API; returns the posted invoice."""
    body = {
        "customerNumber": jane(sbx)["number"],
        "externalDocumentNumber": ext,
        "salesInvoiceLines": lines
        or [
            {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "unitPrice": 20},
            {"lineType": "Account", "lineObjectNumber": "6610", "quantity": 1, "unitPrice": 10},
        ],
        **head,
    }
    r = s.post(f"{sbx.company_url}/salesInvoices", json=body)
    assert r.status_code == 201, r.text
    inv = r.json()
    r = s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.post")
    assert r.status_code == 204, r.text
    return dict(s.get(f"{sbx.company_url}/salesInvoices({inv['id']})").json())


def get(s: requests.Session, url: str, **params: Any) -> dict[str, Any]:
    r = s.get(url, params=params or None)
    assert r.status_code == 200, r.text
    return dict(r.json())


def admin(sbx: BCSandbox, method: str, path: str, body: Any = None) -> requests.Response:
    """The BC sandbox's /__admin/ HTTP API (loopback only, no token)."""
    return requests.request(
        method, f"{sbx.api_url}/__admin/{path}", json=body, verify=sbx.ca_path, timeout=10
    )
