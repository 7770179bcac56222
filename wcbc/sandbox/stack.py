"""The whole sandbox in one object: WooCommerce, Entra ID and Business Central over HTTPS with one CA.

Used by `wcbc sandbox`, `wcbc demo`, the end-to-end tests and the benchmark. Like the rest of
wcbc.sandbox it imports nothing from wcbc outside this package.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcbc.sandbox.bc import app as bc_mod
from wcbc.sandbox.core import Clock, SandboxServer, TLSFiles, generate_ca
from wcbc.sandbox.entra import EntraApp, TokenRegistry
from wcbc.sandbox.woo import app as woo_mod

ENVIRONMENT = "Production"


@dataclass
class SandboxCredentials:
    consumer_key: str
    consumer_secret: str
    webhook_secret: str
    tenant_id: str
    client_id: str
    client_secret: str

    def secrets(self) -> dict[str, str]:
        """The vault's secret names -> values."""
        return {
            "woo_consumer_key": self.consumer_key,
            "woo_consumer_secret": self.consumer_secret,
            "woo_webhook_secret": self.webhook_secret,
            "bc_client_secret": self.client_secret,
        }


@dataclass
class Sandbox:
    """Start with :meth:`start` (or as a context manager); ``woo``, ``bc`` and ``entra`` are the apps."""

    directory: Path
    seed: bool = True
    woo_options: dict[str, Any] = field(default_factory=dict)
    bc_options: dict[str, Any] = field(default_factory=dict)
    entra_options: dict[str, Any] = field(default_factory=dict)
    host: str = "127.0.0.1"

    def start(self) -> Sandbox:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.tls: TLSFiles = generate_ca(self.directory / "tls")
        self.clock = Clock()
        self.credentials = SandboxCredentials(
            consumer_key="ck_" + secrets.token_hex(20),
            consumer_secret="cs_" + secrets.token_hex(20),
            webhook_secret=secrets.token_urlsafe(24),
            tenant_id=str(uuid.uuid4()),
            client_id=str(uuid.uuid4()),
            client_secret=secrets.token_urlsafe(30),
        )
        creds = self.credentials
        self.tokens = TokenRegistry(self.clock)
        self.woo = woo_mod.WooStore(
            consumer_keys={creds.consumer_key: (creds.consumer_secret, "read_write")},
            clock=self.clock,
            **self.woo_options,
        )
        self.bc = bc_mod.BCApp(
            tokens=self.tokens,
            tenant_id=creds.tenant_id,
            environment=ENVIRONMENT,
            clock=self.clock,
            **self.bc_options,
        )
        self.entra = EntraApp(tokens=self.tokens, clock=self.clock, **self.entra_options)
        self.woo_server = SandboxServer(self.woo, host=self.host, tls=self.tls)
        self.bc_server = SandboxServer(self.bc, host=self.host, tls=self.tls)
        self.entra_server = SandboxServer(self.entra, host=self.host, tls=self.tls)
        # The API's own URL is the audience of its tokens ("<api_url>/.default").
        self.woo.base_url = self.woo_server.url
        self.bc.api_url = self.bc_server.url
        self.entra.api_url = self.bc_server.url
        self.entra.add_client(creds.tenant_id, creds.client_id, creds.client_secret)
        self.bc.apps[creds.client_id.lower()] = True
        for server in (self.woo_server, self.bc_server, self.entra_server):
            server.start()
        if self.seed:
            woo_mod.seed_sample(self.woo)
            bc_mod.seed_sample(self.bc)
        return self

    def stop(self) -> None:
        for server in (self.woo_server, self.bc_server, self.entra_server):
            server.stop()
        for app in (self.woo, self.bc):
            close = getattr(app, "close", None)
            if close:
                close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def company_id(self) -> str:
        return self.bc.company_id

    def config_text(
        self,
        *,
        state_path: Path,
        vault_path: Path,
        public_url: str | None = None,
        serve_port: int = 8787,
        extra: str = "",
    ) -> str:
        """A ready config file pointing at this sandbox (secrets go in the vault, not here)."""
        lines = [
            '# wcbc configuration for the built-in sandbox (see README "The sandbox")',
            "[woocommerce]",
            f'url = "{self.woo_server.url}"',
            f'time_zone = "{getattr(self.woo, "time_zone", "UTC")}"',
            "",
            "[business_central]",
            f'tenant_id = "{self.credentials.tenant_id}"',
            f'environment = "{ENVIRONMENT}"',
            f'company_id = "{self.company_id}"',
            f'client_id = "{self.credentials.client_id}"',
            f'api_url = "{self.bc_server.url}"',
            f'authority_url = "{self.entra_server.url}"',
            "",
            "[state]",
            f'path = "{state_path}"',
            "",
            "[tls]",
            f'ca_bundle = "{self.tls.ca_path}"',
            "",
            "[vault]",
            f'path = "{vault_path}"',
            "",
            "[orders]",
            'shipping_account = "6610"',
            'fee_account = "6620"',
            'rounding_account = "6630"',
            'local_currency = "USD"',
            'start_date = "2020-01-01"',
            "",
            "[serve]",
            'host = "127.0.0.1"',
            f"port = {serve_port}",
        ]
        if public_url:
            lines.append(f'public_url = "{public_url}"')
        return "\n".join(lines) + "\n" + extra
