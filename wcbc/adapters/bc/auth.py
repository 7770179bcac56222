"""Entra ID client-credentials tokens for Business Central (through msal).

:class:`TokenProvider` builds one ``msal.ConfidentialClientApplication`` lazily (msal fetches the
authority's OpenID configuration when the application is built) with ``instance_discovery=False`` so that
a non-Microsoft authority host (the sandbox) works, and asks for ``<api_url>/.default``.

* Tokens are cached by msal until shortly before they expire.
* ``token(force_refresh=True)`` drops the cached access tokens from the app's token cache first: msal
  1.23+ refuses ``force_refresh`` in ``acquire_token_for_client`` (it raises ValueError), so we remove the
  cached entries and ask again.
* HTTP goes through :class:`wcbc.adapters.http.HttpClient` (system "entra"): our User-Agent, timeout, TLS
  verification, retries on 429/5xx/connection errors, counters. 4xx answers are handed to msal as they
  are, which turns them into an error result.
* A token error becomes an AuthError naming the AADSTS code (e.g. ``AADSTS7000215: invalid client
  secret``) with a hint; an unreachable authority becomes an UnreachableError.
* ``refreshes`` counts tokens actually fetched from Entra ID (the first one included; cache hits are not
  counted).

The client secret and the tokens never reach a log record or an exception message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from wcbc.adapters.http import HttpClient, path_of
from wcbc.core.errors import AuthError, ConfigError, RemoteError, UnreachableError

SYSTEM = "entra"

# AADSTS code -> (short text, hint)
_AADSTS_HINTS: dict[int, tuple[str, str]] = {
    7000215: ("invalid client secret",
              "check the client secret in the vault (wcbc credentials set business-central)"),
    7000222: ("the client secret has expired",
              "create a new client secret for the app in Entra ID and store it "
              "(wcbc credentials set business-central)"),
    700016: ("application not found in the tenant",
             "check client_id and tenant_id in [business_central], and that the app is registered in that "
             "tenant"),
    90002: ("tenant not found", "check tenant_id in [business_central]"),
    900023: ("tenant id is not valid", "check tenant_id in [business_central]"),
    70011: ("invalid scope", "check api_url in [business_central] (the scope is <api_url>/.default)"),
    500011: ("the Business Central API was not found in the tenant",
             "check api_url in [business_central], and that the tenant has Business Central"),
    7000112: ("the application is disabled", "enable the app registration in Entra ID"),
    65001: ("admin consent missing",
            "grant admin consent for API.ReadWrite.All on Dynamics 365 Business Central"),
}
_GENERIC_HINT = ("check tenant_id, client_id and authority_url in [business_central] and the client secret "
                 "in the vault (wcbc credentials set business-central)")


class _MsalHttp:
    """The object msal uses for HTTP (it needs get/post/close returning requests-like responses)."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http
        self.last_get_error: str = ""  # body of the last failed GET (msal hides discovery errors)
        self.last_get_status: int | None = None
        self.last_post_status: int | None = None

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        response = self._http.request("GET", url, params=params, headers=headers, check=False,
                                      timeout=kwargs.get("timeout"))
        self.last_get_status = response.status_code
        if response.status_code >= 400:
            self.last_get_error = f"HTTP status {response.status_code}: {response.text[:2000]}"
        return response

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> requests.Response:
        # The token request is safe to repeat: it creates nothing.
        response = self._http.request("POST", url, params=params, data=data, headers=headers, check=False,
                                      idempotent=True, timeout=kwargs.get("timeout"))
        self.last_post_status = response.status_code
        return response

    def close(self) -> None:
        self._http.close()


def aadsts_codes(result: dict[str, Any] | str) -> list[int]:
    """The AADSTS codes of an msal error result (error_codes, else parsed from the description)."""
    codes: list[int] = []
    if isinstance(result, dict):
        for code in result.get("error_codes") or []:
            try:
                codes.append(int(code))
            except (TypeError, ValueError):
                continue
        text = str(result.get("error_description") or "")
    else:
        text = result
    if not codes:
        codes = [int(c) for c in re.findall(r"AADSTS(\d+)", text)]
    return codes


class TokenProvider:
    def __init__(
        self,
        *,
        authority_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        api_url: str,
        verify: str | bool = True,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        max_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not client_secret:
            raise ConfigError("the Business Central client secret is empty",
                              hint="wcbc credentials set business-central")
        for name, value in (("tenant_id", tenant_id), ("client_id", client_id)):
            if not value or "/" in value:
                raise ConfigError(f"{name} is missing or not valid", key=f"business_central.{name}")
        if urlsplit(authority_url).scheme != "https" or not urlsplit(authority_url).hostname:
            raise ConfigError(f"the authority URL must be https://<host>, not {authority_url!r}",
                              key="business_central.authority_url")
        self.authority = f"{authority_url.rstrip('/')}/{tenant_id}"
        self.scope = f"{api_url.rstrip('/')}/.default"
        self.client_id = client_id
        self.verify = verify
        self.timeout = timeout
        self.refreshes = 0
        self._secret = client_secret
        self._http = HttpClient(SYSTEM, verify=verify, timeout=timeout, session=session,
                                max_retries=max_retries, sleep=sleep, secrets=[client_secret])
        self._msal_http = _MsalHttp(self._http)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.RLock()
        self._last_token: str | None = None

    @property
    def calls(self) -> Any:
        return self._http.calls

    @property
    def retries(self) -> Any:
        return self._http.retries

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret,
                    authority=self.authority,
                    instance_discovery=False,
                    verify=self.verify,
                    timeout=self.timeout,
                    http_client=self._msal_http,
                )
            except RemoteError:
                raise
            except ValueError as exc:
                raise self._discovery_error(f"{exc} {self._msal_http.last_get_error}") from None
            except requests.exceptions.RequestException as exc:  # pragma: no cover - HttpClient wraps these
                raise UnreachableError(type(exc).__name__, system=SYSTEM,
                                       call=f"GET {path_of(self.authority)}") from None
        return self._app

    def _discovery_error(self, text: str) -> ConfigError | AuthError:
        text = self._http.redact(text)
        codes = aadsts_codes(text)
        code = f"AADSTS{codes[0]}" if codes else None
        short, hint = _AADSTS_HINTS.get(codes[0], ("", _GENERIC_HINT)) if codes else (
            "", "check tenant_id and authority_url in [business_central]")
        message = f"cannot read the OpenID configuration of {self.authority}"
        if code:
            message = f"{code}: {short or 'authority discovery failed'} ({message})"
        call = f"GET {path_of(self.authority)}/v2.0/.well-known/openid-configuration"
        status = self._msal_http.last_get_status
        return AuthError(message, system=SYSTEM, call=call, code=code, hint=hint,
                         status=status if status and status >= 400 else None)

    def _drop_cached_tokens(self, app: msal.ConfidentialClientApplication) -> None:
        cache = app.token_cache
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(item)

    def token(self, *, force_refresh: bool = False) -> str:
        """A bearer token for ``<api_url>/.default`` (cached until expiry unless ``force_refresh``)."""
        with self._lock:
            app = self._application()
            if force_refresh:
                self._drop_cached_tokens(app)
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except RemoteError:
                raise
            except ValueError as exc:
                raise self._discovery_error(str(exc)) from None
            if not isinstance(result, dict) or "access_token" not in result:
                raise self._token_error(result if isinstance(result, dict) else {}, app)
            token = str(result["access_token"])
            if result.get("token_source") != "cache":
                self.refreshes += 1
            self._http.add_secret(token)
            self._last_token = token
            return token

    def _token_error(self, result: dict[str, Any], app: msal.ConfidentialClientApplication) -> AuthError:
        codes = aadsts_codes(result)
        error = str(result.get("error") or "token error")
        description = self._http.redact(str(result.get("error_description") or ""))
        first_line = description.splitlines()[0].strip() if description else ""
        if codes:
            code = f"AADSTS{codes[0]}"
            short, hint = _AADSTS_HINTS.get(codes[0], ("", _GENERIC_HINT))
            detail = first_line.split(":", 1)[1].strip() if first_line.startswith(code) else first_line
            message = f"{code}: {short}" if short else f"{code}: {detail or error}"
            if short and detail:
                message = f"{message} ({detail})"
        else:
            code = error
            hint = _GENERIC_HINT
            message = f"{error}: {first_line}" if first_line else error
        call = f"POST {path_of(app.authority.token_endpoint)}"
        status = self._msal_http.last_post_status
        return AuthError(message, system=SYSTEM, call=call, code=code, hint=hint,
                         status=status if status and status >= 400 else None)

    def close(self) -> None:
        self._http.close()
