"""Helpers for the item sync end-to-end tests: the real clients and State from the e2e context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.e2e.conftest import E2E
from wcbc.sync.items.sync import ItemReport, ItemSync
from wcbc.sync.reconcile import Reconciler, ReconcileReport


@dataclass
class Items:
    """One e2e environment with a Context (real WooClient, BCClient, TokenProvider, State)."""

    e2e: E2E

    def __post_init__(self) -> None:
        self.ctx = self.e2e.context()

    def reconfigure(self, extra: str) -> None:
        """Rewrite the config with ``extra`` TOML appended and open a new context on it."""
        self.ctx.close()
        self.e2e.write_config(extra=extra)
        self.ctx = self.e2e.context()

    def cli(self, *args: str) -> tuple[int, str, str]:
        return self.e2e.cli(*args)

    @property
    def state(self) -> Any:
        return self.ctx.state

    def sync(self, dry_run: bool = False) -> ItemReport:
        return ItemSync(self.ctx.woo, self.ctx.bc, self.ctx.state, self.ctx.config, dry_run=dry_run).run()

    def reconcile(self, dry_run: bool = False, **kwargs: Any) -> ReconcileReport:
        reconciler = Reconciler(self.ctx.woo, self.ctx.bc, self.ctx.state, self.ctx.config, dry_run=dry_run)
        return reconciler.run(**kwargs)

    def notify(self, number: str, change: str = "updated") -> int:
        """Store the BC notification for an item as the receiver does (one inbox row per entry)."""
        item = next(i for i in self.e2e.bc.items() if i["number"] == number)
        resource = f"api/v2.0/companies({self.e2e.sandbox.company_id})/items({item['id']})"
        entry = {"subscriptionId": "sub-items", "resource": resource, "changeType": change,
                 "lastModifiedDateTime": item["lastModifiedDateTime"],
                 "expirationDateTime": "2099-01-01T00:00:00Z"}
        body = json.dumps(entry, sort_keys=True).encode("utf-8")
        return self.state.inbox_add("business_central", change, resource, body)

    def product(self, sku: str) -> dict:
        found = self.e2e.woo.get_product_by_sku(sku)
        assert found is not None, sku
        return found

    def calls(self) -> dict[str, int]:
        return {"woocommerce": sum(self.ctx.woo.calls.values()),
                "business_central": sum(self.ctx.bc.calls.values())}

    def close(self) -> None:
        self.ctx.close()
