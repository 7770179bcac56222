"""End-to-end fixtures: the sandbox over real HTTPS on 127.0.0.1, a config and vault pointing at it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wcbc.core.vault import Vault, generate_master_key
from wcbc.sandbox.stack import Sandbox


@dataclass
class E2E:
    sandbox: Sandbox
    config_path: Path
    state_path: Path
    vault_path: Path
    tmp: Path

    @property
    def woo(self):  # the simulated store (admin API)
        return self.sandbox.woo

    @property
    def bc(self):  # the simulated BC (admin API)
        return self.sandbox.bc

    def external_number(self, number: object) -> str:
        """The externalDocumentNumber the order number is booked under (the config's orders.number_prefix)."""
        import tomllib

        from wcbc.core.config import OrdersConfig

        orders = tomllib.loads(self.config_path.read_text()).get("orders", {})
        return f"{orders.get('number_prefix', OrdersConfig().number_prefix)}{number}".strip().upper()

    def documents(self, number: object) -> list[dict]:
        """The BC documents of a WooCommerce order number."""
        return self.sandbox.bc.documents_by_external_number(self.external_number(number))

    def context(self):
        from wcbc.ops.context import open_context

        return open_context(self.config_path)

    def write_config(self, extra: str = "", **kwargs) -> None:
        self.config_path.write_text(
            self.sandbox.config_text(state_path=self.state_path, vault_path=self.vault_path, **kwargs) + extra
        )

    def cli(self, *args: str) -> tuple[int, str, str]:
        """Run `wcbc --config <cfg> args...` in-process; returns (exit code, stdout, stderr)."""
        from wcbc.cli import app as cli
        out, err = io.StringIO(), io.StringIO()
        code = 0
        cli.out.file = out
        cli.err.file = err
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(["--config", str(self.config_path), *args])
            except SystemExit as exc:
                code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()


def make_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sandbox_options) -> Iterator[E2E]:
    monkeypatch.setenv("WCBC_MASTER_KEY", generate_master_key())
    for var in ("WCBC_CONFIG", "WCBC_WOO_CONSUMER_KEY", "WCBC_WOO_CONSUMER_SECRET", "WCBC_BC_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    sandbox = Sandbox(tmp_path / "sandbox", **sandbox_options).start()
    env = E2E(sandbox, tmp_path / "config.toml", tmp_path / "state.db", tmp_path / "vault.bin", tmp_path)
    env.write_config()
    vault = Vault.open(env.vault_path)
    for name, value in sandbox.credentials.secrets().items():
        vault.set(name, value)
    try:
        yield env
    finally:
        sandbox.stop()


@pytest.fixture
def e2e(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    yield from make_env(tmp_path, monkeypatch)
