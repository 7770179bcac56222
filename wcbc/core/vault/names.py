"""Which secrets wcbc knows, the environment variable that overrides each, and their name rules."""

from __future__ import annotations

import base64
import re
import secrets as _secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_NAMES = ("woo_consumer_key", "woo_consumer_secret", "woo_webhook_secret", "bc_client_secret",
                "bc_client_state")
ENV_VARS = {
    "woo_consumer_key": "WCBC_WOO_CONSUMER_KEY",
    "woo_consumer_secret": "WCBC_WOO_CONSUMER_SECRET",
    "woo_webhook_secret": "WCBC_WOO_WEBHOOK_SECRET",
    "bc_client_secret": "WCBC_BC_CLIENT_SECRET",
    "bc_client_state": "WCBC_BC_CLIENT_STATE",
}

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _system_of(name: str) -> str:
    return {"woo": "woocommerce", "bc": "business-central"}.get(name.split("_", 1)[0], "<system>")


def generate_client_state() -> str:
    """A fresh clientState for BC subscriptions (a shared secret echoed in every notification)."""
    return _secrets.token_urlsafe(32)


def generate_master_key() -> str:
    """A fresh master key in the form $WCBC_MASTER_KEY expects (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def env_var_for(name: str) -> str:
    """The environment variable that overrides the secret ``name``."""
    return ENV_VARS.get(name, "WCBC_" + name.upper())
