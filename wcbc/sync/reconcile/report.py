"""What reconcile reports: the products put right (or to put right), the catalogue's loose ends and, with
``--orders``, the order check's issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wcbc.sync.common.outcome import any_failed, tally
from wcbc.sync.common.plan import Plan


@dataclass
class Difference:
    """One product whose values differ from BC (written, or to write in a dry run, or failed)."""

    number: str
    product_id: int
    sku: str
    before: dict[str, Any]
    after: dict[str, Any]
    result: str  # updated | would_update | failed | on_hold
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "product_id": self.product_id,
            "sku": self.sku,
            "before": self.before,
            "after": self.after,
            "result": self.result,
            "message": self.message,
        }


@dataclass
class OrderIssue:
    kind: str  # missing_in_bc | missing_in_woo | duplicate | total_differs | tax_differs | currency_differs
    # | paid_invoice_open | shipped_not_completed | shipped_not_invoiced (wcbc.sync.reconcile.o2c)
    external_number: str
    order_id: int | None = None
    documents: list[str] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "external_number": self.external_number,
            "order_id": self.order_id,
            "documents": self.documents,
            "detail": self.detail,
        }


@dataclass
class OrdersCheck:
    since: str
    woo_orders: int = 0
    bc_documents: int = 0
    matched: int = 0
    issues: list[OrderIssue] = field(default_factory=list)

    def of(self, kind: str) -> list[OrderIssue]:
        return [i for i in self.issues if i.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "woo_orders": self.woo_orders,
            "bc_documents": self.bc_documents,
            "matched": self.matched,
            "issues": [i.as_dict() for i in self.issues],
        }


@dataclass
class ReconcileReport:
    dry_run: bool = False
    bc_items: int = 0
    woo_products: int = 0  # products and variations listed
    differences: list[Difference] = field(default_factory=list)
    already_right: int = 0
    woo_only: list[str] = field(default_factory=list)  # SKUs in WooCommerce that no BC item has
    bc_only: list[str] = field(default_factory=list)  # BC item numbers with no WooCommerce product
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # SKU -> product/variation ids
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item number, reason): blocked, price 0
    without_sku: int = 0
    orders: OrdersCheck | None = None
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    plan: Plan = field(default_factory=Plan)  # every write decided on (made, or shown in a dry run)

    @property
    def updated(self) -> list[Difference]:
        return [d for d in self.differences if d.result == "updated"]

    @property
    def failed(self) -> bool:
        return any_failed(self.differences)

    @property
    def has_differences(self) -> bool:
        return bool(self.differences or (self.orders and self.orders.issues))

    def summary(self) -> dict[str, Any]:
        counts = tally(self.differences)
        result: dict[str, Any] = {
            "bc_items": self.bc_items,
            "woo_products": self.woo_products,
            "already_right": self.already_right,
            **counts,
            "woo_only": len(self.woo_only),
            "bc_only": len(self.bc_only),
            "duplicates": len(self.duplicates),
            "skipped": len(self.skipped),
            "dry_run": self.dry_run,
        }
        if self.orders is not None:
            for issue in self.orders.issues:
                key = f"orders_{issue.kind}"
                result[key] = result.get(key, 0) + 1
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "differences": [d.as_dict() for d in self.differences],
            "woo_only_skus": self.woo_only,
            "bc_only_items": self.bc_only,
            "duplicate_skus": self.duplicates,
            "skipped_items": [{"number": n, "reason": r} for n, r in self.skipped],
            "orders": self.orders.as_dict() if self.orders else None,
            "calls": self.calls,
        }
