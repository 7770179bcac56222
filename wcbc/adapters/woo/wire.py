"""What the store's REST API looks like on the wire, apart from sending: the store URL rule (https only;
plain http only for a loopback test store), route names for the counters, WooCommerce's error bodies and
their hints, and the paging ``Link`` header."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from wcbc.adapters.http import default_error_decoder, path_of
from wcbc.core.config.paths import is_loopback_host
from wcbc.core.errors import ConfigError

API_PREFIX = "/wp-json/wc/v3"

HINT_KEY_IGNORED = (
    "the consumer key was not accepted: it may have been revoked or its WordPress user deleted "
    "(use a dedicated service user); over plain http the key is ignored"
)
HINT_AUTH_ERROR = (
    "check the consumer secret in the vault (wcbc credentials set woocommerce) and that the key "
    "has read_write permission"
)
HINT_FORBIDDEN = (
    "the key's WordPress user lacks the capability: use a key of a shop manager or administrator "
    "(a dedicated service user)"
)


def woo_error_decoder(response: requests.Response) -> tuple[str | None, str, str | None]:
    """(code, message, hint) from WooCommerce's ``{code, message, data: {status, params}}``."""
    code, message, _ = default_error_decoder(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        params = body["data"].get("params")
        if isinstance(params, dict) and params:
            details = "; ".join(f"{k}: {v}" for k, v in params.items())
            message = f"{message} ({details})"
    status = response.status_code
    hint: str | None = None
    if status == 401 and code == "woocommerce_rest_authentication_error":
        hint = HINT_AUTH_ERROR
    elif status == 401:  # woocommerce_rest_cannot_*: the request ran as an anonymous user
        hint = HINT_KEY_IGNORED
    elif status == 403:
        hint = HINT_FORBIDDEN
    elif code == "rest_no_route":
        hint = "the REST route does not exist: check the store URL and that WooCommerce is active (wc/v3)"
    elif code == "woocommerce_rest_request_entity_too_large":
        hint = "a batch may hold at most 100 items"
    return code, message, hint


def route(method: str, url: str) -> str:
    path = path_of(url)
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX):] or "/"
    path = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    return f"{method} {path}"


def store_url(url: str, allow_http: bool) -> str:
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"not a store URL: {text!r}", key="woocommerce.url",
                          hint="write it as https://shop.example (the site address)")
    if parts.username or parts.password:
        raise ConfigError("the store URL must not contain credentials", key="woocommerce.url",
                          hint="store the consumer key and secret with: wcbc credentials set woocommerce")
    if parts.query or parts.fragment:
        raise ConfigError("the store URL must not have a query string or fragment", key="woocommerce.url")
    if parts.scheme == "http":
        if not allow_http:
            raise ConfigError(
                "the store URL uses http://: WooCommerce ignores API keys over plain http",
                key="woocommerce.url", hint="use https:// (allow_http is only for a loopback test store)")
        if not is_loopback_host(parts.hostname):
            raise ConfigError("allow_http is only allowed for a loopback store (127.0.0.1, ::1, localhost)",
                              key="woocommerce.allow_http", hint="use https://")
    path = parts.path.rstrip("/")
    for suffix in ("/wp-json/wc/v3", "/wp-json"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}"


def next_page_from_link(link_header: str | None) -> int | None:
    """The ``page`` number of the ``rel="next"`` link, if any (the link's host is never followed)."""
    if not link_header:
        return None
    for part in link_header.split(","):
        match = re.match(r'\s*<([^>]*)>\s*;(.*)', part)
        if not match or not re.search(r'rel="?next"?', match.group(2)):
            continue
        page = parse_qs(urlsplit(match.group(1)).query).get("page")
        if page and page[0].isdigit():
            return int(page[0])
    return None
