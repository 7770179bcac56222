"""The routes ``wcbc serve`` answers, and the public URLs WooCommerce and BC are given for them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wcbc.core.errors import UsageError

WOO_PATH = "/webhooks/woocommerce"
BC_PATH = "/webhooks/business-central"
HEALTH_PATH = "/healthz"


def endpoint(public_url: str, path: str) -> str:
    """``{public_url}{path}``: where WooCommerce or BC reach ``wcbc serve`` through its reverse proxy."""
    parts = urlsplit((public_url or "").strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"public_url must be an absolute https:// URL, not {public_url!r}",
                         hint="set [serve] public_url to the address of the reverse proxy in front of "
                              "`wcbc serve`, e.g. https://shop-connector.example.com")
    if parts.query or parts.fragment:
        raise UsageError("public_url must not carry a query string or fragment")
    return public_url.strip().rstrip("/") + path


def url_key(url: Any) -> str:
    """A URL compared as WooCommerce and BC store it: scheme and host case-insensitive, no trailing slash."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"
