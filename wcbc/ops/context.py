"""Wires configuration, vault, state and the API clients together for one command run.

Everything is built lazily: `wcbc credentials show` never opens the state DB, `wcbc status` never
asks Entra for a token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from wcbc.adapters.bc.auth import TokenProvider
from wcbc.adapters.bc.client import BCClient
from wcbc.adapters.woo.client import WooClient
from wcbc.core.config import Config, load_config
from wcbc.core.redact import Redactor
from wcbc.core.state import State
from wcbc.core.vault import Vault


@dataclass
class Context:
    config: Config
    _closers: list = field(default_factory=list)
    take_over: bool = False  # the CLI's --take-over: this host becomes the state file's only user

    @functools.cached_property
    def vault(self) -> Vault:
        return Vault.open(self.config.vault_path)

    @functools.cached_property
    def redactor(self) -> Redactor:
        return Redactor(self.vault.secrets())

    @functools.cached_property
    def state(self) -> State:
        state = State.from_config(self.config.state, redact=self.redactor, take_over=self.take_over)
        self._closers.append(state.close)
        return state

    @functools.cached_property
    def woo(self) -> WooClient:
        cfg = self.config.woocommerce
        return WooClient(
            cfg.url,
            self.vault.require("woo_consumer_key"),
            self.vault.require("woo_consumer_secret"),
            verify=self.config.verify(),
            timeout=cfg.timeout,
            allow_http=cfg.allow_http,
            per_page=cfg.per_page,
        )

    @functools.cached_property
    def tokens(self) -> TokenProvider:
        cfg = self.config.business_central
        return TokenProvider(
            authority_url=cfg.authority_url,
            tenant_id=cfg.tenant_id,
            client_id=cfg.client_id,
            client_secret=self.vault.require("bc_client_secret"),
            api_url=cfg.api_url,
            verify=self.config.verify(),
        )

    @functools.cached_property
    def bc(self) -> BCClient:
        cfg = self.config.business_central
        return BCClient(
            api_url=cfg.api_url,
            tenant_id=cfg.tenant_id,
            environment=cfg.environment,
            company_id=cfg.company_id,
            token_provider=self.tokens,
            verify=self.config.verify(),
            timeout=cfg.timeout,
            max_concurrency=cfg.max_concurrency,
            requests_per_5min=cfg.requests_per_5min,
            page_size=cfg.page_size,
        )

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def open_context(config_path: Path | None, *, allow_http: bool = False) -> Context:
    return Context(load_config(config_path, allow_http=allow_http))
