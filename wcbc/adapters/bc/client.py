"""Business Central API v2.0 client (the only code that talks HTTP to BC).

URLs: ``base_url = {api_url}/v2.0/{tenant}/{environment}/api/v2.0`` and
``company_url = base_url/companies({company_id})``. Paths given to the methods are relative to
``company_url`` (``"salesOrders"``, ``"items(<guid>)"``), or to ``base_url`` for the ``root_*`` methods
(``"subscriptions"``), or absolute URLs on the API host (an ``@odata.nextLink``). The bearer token is never
sent to another host.

* ``Authorization: Bearer`` on every call; on a 401 the token is refreshed once (``force_refresh``) and
  the call sent once more; a second 401 is an AuthError with a hint about BC's "Microsoft Entra
  Applications" page.
* Error bodies ``{"error": {"code", "message"}}`` become typed errors carrying BC's code and message.
* :meth:`iter` follows ``@odata.nextLink`` and sends ``Prefer: odata.maxpagesize=<page_size>``.
* :meth:`patch` / :meth:`delete` need the entity's ``@odata.etag`` (sent as ``If-Match``; ``"*"`` allowed).
* :meth:`post` / :meth:`action` are not retried once sent unless ``idempotent=True``: a lost answer raises
  :class:`~wcbc.core.errors.AmbiguousWriteError`;
  look the document up by externalDocumentNumber before re-sending.
* Client-side limits (:class:`wcbc.adapters.ratelimit.RateLimiter`): ``max_concurrency`` requests in flight,
  ``requests_per_5min`` per sliding 300 s window. Safe to use from several threads (one HTTP session per
  thread).
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests

from wcbc.adapters.bc import odata
from wcbc.adapters.http import DEFAULT_MAX_TOTAL_WAIT, HttpClient, json_of, path_of
from wcbc.adapters.ratelimit import RateLimiter
from wcbc.core.errors import ConfigError, RemoteError

if TYPE_CHECKING:
    from wcbc.adapters.bc.auth import TokenProvider

SYSTEM = "business_central"
MAX_PAGE_SIZE = 20000

HINT_401 = ("the Entra app is not enabled on BC's 'Microsoft Entra Applications' page, or lacks permission "
            "sets (API.ReadWrite.All + consent)")
HINT_403 = ("the Entra app's user in BC lacks a permission set for this: assign it on the 'Microsoft Entra "
            "Applications' page")
_HINTS_BY_CODE = {
    "Internal_CompanyNotFound": "check company_id in [business_central] (wcbc lists companies in doctor)",
    "BadRequest_InvalidToken": "PATCH and DELETE need the record's current @odata.etag as If-Match",
    "Request_EntityChanged": "the record changed since it was read: read it again and retry",
    "Internal_TenantUnavailable": "check tenant_id and environment in [business_central]",
}


class _Tokens(Protocol):
    def token(self, *, force_refresh: bool = False) -> str: ...


def bc_error_decoder(response: requests.Response) -> tuple[str | None, str, str | None]:
    """(code, message, hint) from BC's ``{"error": {"code", "message"}}`` envelope."""
    code: str | None = None
    message = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = str(body["error"].get("message") or "")
    if not message:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text or "")).strip()[:160]
        message = response.reason or "error"
        if text:
            message = f"{message}: {text}"
    status = response.status_code
    hint = _HINTS_BY_CODE.get(code or "")
    if status == 401:
        hint = HINT_401
    elif status == 403 and not hint:
        hint = HINT_403
    return (str(code) if code else None), message, hint


def _route(prefixes: tuple[str, ...]) -> Callable[[str, str], str]:
    def route(method: str, url: str) -> str:
        path = path_of(url)
        for prefix in prefixes:
            if path.startswith(prefix + "/"):
                path = path[len(prefix):]
                break
        path = re.sub(r"\(([^()]*)\)", "({id})", path)
        return f"{method} {path if path.startswith('/') else '/' + path}"

    return route


class BCClient:
    def __init__(
        self,
        *,
        api_url: str,
        tenant_id: str,
        environment: str,
        company_id: str,
        token_provider: TokenProvider | _Tokens,
        verify: str | bool = True,
        timeout: float = 60.0,
        max_concurrency: int = 5,
        requests_per_5min: int = 6000,
        session: requests.Session | None = None,
        max_retries: int = 6,
        page_size: int = MAX_PAGE_SIZE,
        max_total_wait: float = DEFAULT_MAX_TOTAL_WAIT,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        parts = urlsplit(api_url)
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(f"api_url must be an https:// URL, not {api_url!r}",
                              key="business_central.api_url")
        ids = (("tenant_id", tenant_id), ("environment", environment), ("company_id", company_id))
        for name, value in ids:
            if not value or any(c in value for c in "/?#()'\" "):
                raise ConfigError(f"{name} is missing or not valid: {value!r}",
                                  key=f"business_central.{name}")
        self.api_url = api_url.rstrip("/")
        self.base_url = f"{self.api_url}/v2.0/{tenant_id}/{environment}/api/v2.0"
        self.company_url = f"{self.base_url}/companies({company_id})"
        self.company_id = company_id
        self.page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        self._origin = (parts.scheme, parts.netloc.lower())
        self._tokens = token_provider
        self._refresh_lock = threading.Lock()
        limiter_kwargs: dict[str, Any] = {}
        if clock is not None:
            limiter_kwargs["clock"] = clock
        if sleep is not None:
            limiter_kwargs["sleep"] = sleep
        self.limiter = RateLimiter(max_concurrency, requests_per_5min, 300.0, **limiter_kwargs)
        base_path = urlsplit(self.base_url).path
        company_path = urlsplit(self.company_url).path
        self.http = HttpClient(
            SYSTEM,
            verify=verify,
            timeout=timeout,
            max_retries=max_retries,
            max_total_wait=max_total_wait,
            session=session,
            auth=_BearerAuth(self),
            error_decoder=bc_error_decoder,
            route=_route((company_path, base_path)),
            sleep=sleep,
            now=now,
            limiter=self.limiter,
        )
        self.calls: collections.Counter[str] = self.http.calls
        self.retries: collections.Counter[str] = self.http.retries

    # ------------------------------------------------------------------ tokens
    def _token(self) -> str:
        token = self._tokens.token()
        self.http.add_secret(token)
        return token

    def _on_unauthorized(self, response: requests.Response) -> None:
        used = (response.request.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._refresh_lock:
            if self._tokens.token() != used:
                return  # another thread already refreshed it
            self.http.add_secret(self._tokens.token(force_refresh=True))

    # ------------------------------------------------------------------ urls
    def url(self, path: str, params: Mapping[str, Any] | None = None, *, root: bool = False) -> str:
        """The absolute URL for a path relative to company_url (or base_url with ``root``)."""
        if path.startswith(("https://", "http://")):
            parts = urlsplit(path)
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise RemoteError(f"refusing to follow a link to another host ({parts.scheme}://{parts.netloc})",
                                  system=SYSTEM, call=f"GET {parts.path}")
            url = path
        else:
            base = self.base_url if root else self.company_url
            url = f"{base}/{path.lstrip('/')}" if path else base
        if params:
            query = odata.encode_query(params)
            if query:
                url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def _call(self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
              idempotent: bool | None = None) -> Any:
        response = self.http.request(method, url, json_body=body, headers=headers, idempotent=idempotent,
                                     on_unauthorized=self._on_unauthorized)
        return json_of(response, system=SYSTEM, call=f"{method} {path_of(url)}")

    @staticmethod
    def _if_match(etag: str) -> dict[str, str]:
        if not isinstance(etag, str) or not etag.strip():
            raise ValueError("an etag (the record's @odata.etag, or '*') is required for PATCH and DELETE")
        return {"If-Match": etag}

    # ------------------------------------------------------------------ company-scoped
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        """GET one entity or one page of a collection (path relative to company_url, or absolute)."""
        result = self._call("GET", self.url(path, params))
        return result if isinstance(result, dict) else {}

    def iter(self, path: str, params: Mapping[str, Any] | None = None, *,
             page_size: int | None = None) -> Iterator[dict]:
        """Every entity of a collection, following ``@odata.nextLink``."""
        size = max(1, min(int(page_size or self.page_size), MAX_PAGE_SIZE))
        url: str | None = self.url(path, params)
        headers = {"Prefer": f"odata.maxpagesize={size}"}
        seen: set[str] = set()
        while url:
            if url in seen:
                raise RemoteError("the server sent the same @odata.nextLink twice", system=SYSTEM,
                                  call=f"GET {path_of(url)}")
            seen.add(url)
            page = self._call("GET", url, headers=headers)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise RemoteError("expected a collection ({'value': [...]})", system=SYSTEM,
                                  call=f"GET {path_of(url)}")
            yield from page["value"]
            link = page.get("@odata.nextLink")
            url = self.url(link) if link else None

    def post(self, path: str, body: dict, *, idempotent: bool = False) -> dict:
        """POST (create). Not repeated once sent unless ``idempotent``: see AmbiguousWriteError."""
        result = self._call("POST", self.url(path), body=body, idempotent=idempotent)
        return result if isinstance(result, dict) else {}

    def patch(self, path: str, body: dict, etag: str) -> dict:
        """PATCH with ``If-Match: <etag>``; returns the updated entity."""
        result = self._call("PATCH", self.url(path), body=body, headers=self._if_match(etag))
        return result if isinstance(result, dict) else {}

    def delete(self, path: str, etag: str) -> None:
        """DELETE with ``If-Match: <etag>``."""
        self._call("DELETE", self.url(path), headers=self._if_match(etag))

    def action(self, path: str, *, idempotent: bool = False) -> None:
        """A bound action, e.g. ``salesInvoices({id})/Microsoft.NAV.post`` (POST, no body, 204)."""
        self._call("POST", self.url(path), idempotent=idempotent)

    def company(self) -> dict:
        """The configured company (GET companies({company_id}))."""
        result = self._call("GET", self.company_url)
        return result if isinstance(result, dict) else {}

    def companies(self) -> list[dict]:
        """Every company of the environment (for doctor/setup)."""
        return list(self.iter(f"{self.base_url}/companies"))

    # ------------------------------------------------------------------ API root (subscriptions)
    def root_get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        result = self._call("GET", self.url(path, params, root=True))
        return result if isinstance(result, dict) else {}

    def root_iter(self, path: str, params: Mapping[str, Any] | None = None, *,
                  page_size: int | None = None) -> Iterator[dict]:
        return self.iter(self.url(path, params, root=True), page_size=page_size)

    def root_post(self, path: str, body: dict, *, idempotent: bool = False) -> dict:
        result = self._call("POST", self.url(path, root=True), body=body, idempotent=idempotent)
        return result if isinstance(result, dict) else {}

    def root_patch(self, path: str, body: dict, etag: str) -> dict:
        result = self._call("PATCH", self.url(path, root=True), body=body, headers=self._if_match(etag))
        return result if isinstance(result, dict) else {}

    def root_delete(self, path: str, etag: str) -> None:
        self._call("DELETE", self.url(path, root=True), headers=self._if_match(etag))

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ fulfilment and payments (§10.3-10.5)
    def environment_url(self, path: str) -> str:
        """An admin-published endpoint outside API v2.0 (OData web service, custom API page), given as the
        path after ``/v2.0/{tenant}/{environment}/``; ``{company_id}`` is replaced by the company's id."""
        root = self.base_url.removesuffix("/api/v2.0")
        return f"{root}/{path.lstrip('/').replace('{company_id}', self.company_id)}"

    def shipments(self, flt: str) -> Iterator[dict]:
        """Posted sales shipments matching ``flt``, each with its lines (one call per page)."""
        return self.iter("salesShipments", {"$filter": flt, "$expand": "salesShipmentLines",
                                            "$orderby": "lastModifiedDateTime", **odata.SCHEMA_2_1})

    def payment_journal(self, code: str) -> dict | None:
        """The customer payment journal (batch) with this code, or None."""
        return next(iter(self.iter("customerPaymentJournals", {"$filter": odata.eq("code", code)})), None)

    def journal_payments(self, journal_id: str, document_number: str | None = None) -> list[dict]:
        """The unposted payment lines of a journal (with this document number: the payment's key)."""
        params = {"$filter": odata.eq("documentNumber", document_number)} if document_number else None
        return list(self.iter(f"customerPaymentJournals({journal_id})/customerPayments", params))

    def create_payment(self, journal_id: str, body: dict) -> dict:
        """POST a customer payment line (not repeated once sent: a lost answer is settled by a lookup)."""
        return self.post(f"customerPaymentJournals({journal_id})/customerPayments", body)

    def delete_payment(self, journal_id: str, payment: dict) -> None:
        self.delete(f"customerPaymentJournals({journal_id})/customerPayments({payment['id']})",
                    str(payment.get("@odata.etag") or "*"))

    def post_journal(self, journal_id: str) -> None:
        """Post every line of the batch: journals({id})/Microsoft.NAV.post finds any batch by id (§10.5,
        INFERRED). Not repeated once sent: whether it posted is read back from the invoice."""
        self.action(f"journals({journal_id})/Microsoft.NAV.post")

    def invoice(self, invoice_id: str) -> dict:
        return self.get(f"salesInvoices({invoice_id})")


class _BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer <token>`` on each request (the current cached token)."""

    def __init__(self, client: BCClient) -> None:
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._client._token()}"
        return request
