"""Reading answers: error envelopes into (code, message, hint), JSON bodies, and the path/route of a URL
(what messages, logs and counters show: never the query string)."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

import requests

from wcbc.core.errors import RemoteError


def default_error_decoder(response: requests.Response) -> tuple[str | None, str, str | None]:
    """(code, message, hint) from the usual JSON error envelopes, else the HTTP reason and a short snippet."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and ("code" in inner or "message" in inner):
            return _s(inner.get("code")), _s(inner.get("message")) or response.reason or "error", None
        if "code" in body or "message" in body:
            return _s(body.get("code")), html.unescape(_s(body.get("message")) or "error"), None
        if isinstance(inner, str):  # OAuth style {"error": "...", "error_description": "..."}
            return inner, _s(body.get("error_description")) or inner, None
    snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text or "")).strip()[:160]
    message = response.reason or "error"
    if snippet:
        message = f"{message}: {snippet}"
    return None, message, None


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def path_of(url: str) -> str:
    """The path of a URL: what error messages and logs show (never the query string)."""
    return urlsplit(url).path or "/"


def default_route(method: str, url: str) -> str:
    """Counter key for a call: method and path with numeric ids and OData keys replaced by {id}."""
    path = re.sub(r"\(([^()]*)\)", "({id})", path_of(url))
    path = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    return f"{method} {path}"


def json_of(response: requests.Response, *, system: str, call: str) -> Any:
    """The JSON body of a successful response, or a RemoteError that says what came instead."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "unknown content type")
        raise RemoteError(
            f"the answer was not JSON ({kind})", system=system, call=call, status=response.status_code,
            hint="a PHP notice, a maintenance page, a security plugin or a proxy may be answering instead",
        ) from None
