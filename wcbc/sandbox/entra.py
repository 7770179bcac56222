"""Entra ID (Azure AD) simulator: OpenID discovery and the client-credentials token endpoint.

Tokens are opaque random strings kept in a :class:`TokenRegistry` that the BC simulator shares to check
bearer tokens (business-central.md §1). Error bodies follow the v2 endpoint's shape
``{error, error_description, error_codes[], timestamp, trace_id, correlation_id}``.
"""

from __future__ import annotations

import base64
import secrets
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from wcbc.sandbox.core import Clock, Faults, Request, Response, Router, json_response

DEFAULT_API_URL = "https://api.businesscentral.dynamics.com"


@dataclass
class TokenInfo:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float  # Clock.time()


class TokenRegistry:
    """Issued bearer tokens; shared between EntraApp (issues) and BCApp (checks)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._tokens: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self, client_id: str, tenant_id: str, audience: str, lifetime: int) -> str:
        token = "sbx." + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = TokenInfo(client_id, tenant_id, audience, self.clock.time() + lifetime)
            self.issued += 1
        return token

    def check(self, token: str) -> tuple[str, TokenInfo | None]:
        """("ok"|"expired"|"invalid", info)."""
        with self._lock:
            info = self._tokens.get(token)
        if info is None:
            return "invalid", None
        if self.clock.time() >= info.expires_at:
            return "expired", info
        return "ok", info

    def expire_all(self) -> int:
        with self._lock:
            now = self.clock.time()
            for info in self._tokens.values():
                info.expires_at = min(info.expires_at, now)
            return len(self._tokens)

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()


@dataclass
class _Tenant:
    tenant_id: str  # GUID
    names: set[str]  # GUID and domain names the tenant answers to
    clients: dict[str, str]  # client_id -> secret


class EntraApp:
    """``/{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``."""

    def __init__(
        self,
        *,
        tokens: TokenRegistry | None = None,
        clock: Clock | None = None,
        api_url: str = DEFAULT_API_URL,
        expires_in: int = 3599,
        faults: Faults | None = None,
    ) -> None:
        self.clock = clock or (tokens.clock if tokens else Clock())
        self.tokens = tokens or TokenRegistry(self.clock)
        self.api_url = api_url.rstrip("/")
        self.expires_in = expires_in
        self.faults = faults or Faults()
        self._tenants: dict[str, _Tenant] = {}
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.router = Router()
        self.router.add("GET", r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", self._discovery)
        self.router.add("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", self._token)

    # ------------------------------------------------------------------ admin

    def add_tenant(self, tenant_id: str, *names: str) -> None:
        with self._lock:
            tenant = self._tenants.get(tenant_id.lower()) or _Tenant(tenant_id.lower(), set(), {})
            tenant.names |= {tenant_id.lower(), *(n.lower() for n in names)}
            for name in tenant.names:
                self._tenants[name] = tenant

    def add_client(self, tenant_id: str, client_id: str, secret: str) -> None:
        self.add_tenant(tenant_id)
        with self._lock:
            self._tenants[tenant_id.lower()].clients[client_id.lower()] = secret

    def set_secret(self, tenant_id: str, client_id: str, secret: str) -> None:
        self.add_client(tenant_id, client_id, secret)

    def expire_all_tokens(self) -> int:
        return self.tokens.expire_all()

    @property
    def issued_tokens(self) -> int:
        return self.tokens.issued

    # ------------------------------------------------------------------ app protocol

    def handle(self, request: Request) -> Response:
        handler, known = self.router.match(request)
        key = f"{request.method} {'token' if request.path.endswith('/token') else request.path}"
        with self._lock:
            self.requests[key] = self.requests.get(key, 0) + 1
        if handler is None:
            return self._error(
                request,
                405 if known else 404,
                "invalid_request",
                900561 if known else 90002,
                "The endpoint only accepts POST requests." if known else "The request is not valid.",
            )
        return handler(request)

    def fault_response(self, status: int, retry_after: int | None) -> Response:
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        body = self._error_body(
            error,
            50196 if status == 429 else 90033,
            "The server is temporarily unable to handle the request.",
        )
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
        return json_response(status, body, headers)

    # ------------------------------------------------------------------ handlers

    def _base(self, request: Request) -> str:
        host = request.headers.get("Host") or "127.0.0.1"
        return f"{request.scheme}://{host}"

    def _tenant(self, name: str) -> _Tenant | None:
        with self._lock:
            return self._tenants.get(unquote(name).lower())

    def _discovery(self, request: Request) -> Response:
        name = request.params["tenant"]
        tenant = self._tenant(name)
        if tenant is None:
            return self._error(request, 400, "invalid_tenant", 90002, _tenant_not_found(unquote(name)))
        base = self._base(request)
        tid = tenant.tenant_id
        doc = {
            "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver", "oid"],
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return json_response(200, doc, content_type="application/json; charset=utf-8")

    def _token(self, request: Request) -> Response:
        ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return self._error(
                request,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        form = {
            k: v[-1]
            for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        tenant = self._tenant(request.params["tenant"])
        if tenant is None:
            return self._error(
                request, 400, "invalid_request", 90002, _tenant_not_found(unquote(request.params["tenant"]))
            )
        grant = form.get("grant_type")
        if not grant:
            return self._error(
                request,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        if grant != "client_credentials":
            return self._error(
                request,
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type 'unsupported_grant_type'.",
            )
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
                basic_id, _, basic_secret = raw.partition(":")
                client_id, secret = unquote(basic_id), unquote(basic_secret)
            except (ValueError, UnicodeDecodeError):
                return self._error(
                    request,
                    401,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' "
                    "or 'client_secret'.",
                )
        if not client_id:
            return self._error(
                request,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        scope = form.get("scope")
        if not scope:
            return self._error(
                request,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        known_secret = tenant.clients.get(client_id.lower())
        if known_secret is None:
            return self._error(
                request,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.tenant_id}'. This can happen if the application has not been installed by the "
                "administrator of the tenant "
                "or consented to by any user in the tenant. You may have sent your authentication request to "
                "the wrong tenant.",
            )
        if not secret:
            return self._error(
                request,
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if not secrets.compare_digest(secret.encode(), known_secret.encode()):
            return self._error(
                request,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scopes = scope.split()
        if scopes != [f"{self.api_url}/.default"]:
            return self._error(
                request,
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid. "
                f"The scope {scope} is not valid.",
            )
        token = self.tokens.issue(client_id.lower(), tenant.tenant_id, self.api_url, self.expires_in)
        body = {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": token,
        }
        return json_response(
            200,
            body,
            [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")],
            content_type="application/json; charset=utf-8",
        )

    # ------------------------------------------------------------------ errors

    def _error_body(self, error: str, code: int, message: str) -> dict[str, object]:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = self.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": error,
            "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\n"
            f"Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
        }

    def _error(self, request: Request, status: int, error: str, code: int, message: str) -> Response:
        return json_response(
            status, self._error_body(error, code, message), content_type="application/json; charset=utf-8"
        )


def _tenant_not_found(name: str) -> str:
    return (
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no "
        "active subscriptions for the tenant."
    )
