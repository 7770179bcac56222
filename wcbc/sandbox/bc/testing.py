"""Start Entra + BC simulators together over HTTPS with one throw-away CA (tests, bench, demo).

    with run_bc_sandbox(tmp_path) as sbx:
        sbx.session().get(sbx.company_url + "/items")

The API URL (token scope ``<api_url>/.default``) is the BC server's own URL, as a client would configure it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from wcbc.sandbox.bc.app import BCApp, seed_sample
from wcbc.sandbox.core import Clock, SandboxServer, TLSFiles, generate_ca
from wcbc.sandbox.entra import EntraApp, TokenRegistry


@dataclass
class BCSandbox:
    entra: EntraApp
    bc: BCApp
    entra_server: SandboxServer
    bc_server: SandboxServer
    tls: TLSFiles
    tenant_id: str
    environment: str
    client_id: str
    client_secret: str

    @property
    def ca_path(self) -> str:
        return str(self.tls.ca_path)

    @property
    def authority(self) -> str:
        return f"{self.entra_server.url}/{self.tenant_id}"

    @property
    def authority_url(self) -> str:
        return self.entra_server.url

    @property
    def api_url(self) -> str:
        return self.bc_server.url

    @property
    def base_url(self) -> str:
        return f"{self.api_url}/v2.0/{self.tenant_id}/{self.environment}/api/v2.0"

    @property
    def company_id(self) -> str:
        return self.bc.company_id

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/companies({self.bc.company_id})"

    def token(self) -> str:
        resp = requests.post(
            f"{self.authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": f"{self.api_url}/.default",
            },
            verify=self.ca_path,
            timeout=10,
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def session(self, token: str | None = None) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca_path
        s.headers["Authorization"] = f"Bearer {token or self.token()}"
        return s


@contextmanager
def run_bc_sandbox(
    directory: Path,
    *,
    seed: bool = True,
    environment: str = "production",
    clock: Clock | None = None,
    **bc_options: Any,
) -> Iterator[BCSandbox]:
    tls = generate_ca(directory / "tls")
    clock = clock or Clock()
    tokens = TokenRegistry(clock)
    tenant_id = str(uuid.uuid4())
    client_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
    entra = EntraApp(tokens=tokens)
    entra.add_client(tenant_id, client_id, secret)
    bc = BCApp(tokens=tokens, tenant_id=tenant_id, environment=environment, **bc_options)
    bc.register_app(client_id)
    with SandboxServer(entra, tls=tls) as entra_server, SandboxServer(bc, tls=tls) as bc_server:
        entra.api_url = bc.api_url = bc_server.url
        if seed:
            seed_sample(bc)
        try:
            yield BCSandbox(
                entra, bc, entra_server, bc_server, tls, tenant_id, environment, client_id, secret
            )
        finally:
            bc.close()
