"""The plan step of item sync: pure functions from a BC item, its WooCommerce products and the reservations
to the writes to make (one :class:`~wcbc.sync.common.plan.Write` per product or variation, keyed by its
id) and the decisions that need no write.

No adapter, no state: what these return is what ``--dry-run`` shows and what the apply step performs.

Decisions (:attr:`ItemPlan.decision`): ``held`` (on hold: ``wcbc replay`` re-runs it), ``skipped``
(blocked, price 0 or unreadable: nothing is ever written as 0), ``unknown`` (no product has its SKU),
``update`` (at least one product differs) and ``unchanged`` (every product is right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wcbc.sync.common.plan import Write
from wcbc.sync.items import stock
from wcbc.sync.items.catalog import WooProduct
from wcbc.sync.items.read import BCItem
from wcbc.sync.items.reservations import Reservations

HELD_REASON = "on hold: run `wcbc replay` once fixed"


def record_id(number: str) -> str:
    return f"item:{number}"


def store_price(item: BCItem, config: Any) -> stock.StorePrice:
    """The price for the store (``ConfigError`` when a tax conversion is needed and no rate is set)."""
    return stock.price_for_store(
        item.unit_price,
        bc_includes_tax=item.price_includes_tax,
        store_includes_tax=bool(config.items.prices_include_tax or config.woocommerce.prices_include_tax),
        tax_rate=config.items.tax_rate,
        decimals=config.woocommerce.decimals,
        blocked=item.blocked,
    )


def changes_for(product: WooProduct, price: str | None, quantity: int | None) -> dict[str, Any]:
    """The minimal update of one product: never a price on a variable parent, never stock on a variable
    parent that does not manage stock itself (its variations carry it)."""
    if product.type == "variable" and product.manage_stock is not True:
        quantity = None
    return stock.product_changes(product.as_product(), price=price, stock=quantity)


def public(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes without the product id (what reports and the journal show)."""
    return {k: v for k, v in changes.items() if k != "id"}


def before(product: WooProduct, changes: dict[str, Any]) -> dict[str, Any]:
    """What the product had for the fields about to change."""
    current = product.as_product()
    return {k: current.get(k) for k in changes if k != "id"}


@dataclass(frozen=True)
class Update:
    """One product (or variation) update of an item: the write and what it is made from."""

    item: BCItem
    product: WooProduct
    write: Write

    @property
    def changes(self) -> dict[str, Any]:
        """The batch body entry: ``{"id": .., "regular_price": ..}``."""
        return self.write.body

    @property
    def public(self) -> dict[str, Any]:
        return public(self.write.body)

    @property
    def before(self) -> dict[str, Any]:
        return before(self.product, self.write.body)

    @property
    def parent(self) -> int:
        """The variable product whose variations endpoint takes the write; 0 for ``products/batch``."""
        return self.product.parent_id if self.product.is_variation else 0


def update_for(item: BCItem, product: WooProduct, price: str | None, quantity: int | None) -> Update | None:
    """The write that puts ``product`` right for ``item``, or None when it is right already."""
    changes = changes_for(product, price, quantity)
    if not changes:
        return None
    action = "update_variation" if product.is_variation else "update_product"
    note = f"item {item.number} -> product {product.id}"
    if product.is_variation:
        note += f" (variation of {product.parent_id})"
    write = Write(record=record_id(item.number), action=action, system="woocommerce", key=str(product.id),
                  body=changes, note=note)
    return Update(item, product, write)


@dataclass
class ItemPlan:
    """What to do about one item."""

    number: str
    decision: str  # held | skipped | unknown | update | unchanged
    item: BCItem | None = None
    # Each product of the item in the order found, with its update (None: it is right already).
    products: list[tuple[WooProduct, Update | None]] = field(default_factory=list)
    reason: str | None = None

    @property
    def updates(self) -> list[Update]:
        return [update for _, update in self.products if update is not None]

    @property
    def unchanged(self) -> list[WooProduct]:
        return [product for product, update in self.products if update is None]

    @property
    def writes(self) -> list[Write]:
        return [u.write for u in self.updates]


def screen(item: BCItem, config: Any, *, held: bool = False) -> ItemPlan | None:
    """The decisions that need no product: ``held`` and ``skipped``; None when the item goes on."""
    if held:
        return ItemPlan(item.number, "held", item, reason=HELD_REASON)
    price = store_price(item, config)
    if price.skipped:
        return ItemPlan(item.number, "skipped", item, reason=price.skip_reason or "skipped")
    return None


def unknown_reason(sku: str) -> str:
    return f"no WooCommerce product or variation has SKU {sku!r}"


def plan_item(item: BCItem, products: Sequence[WooProduct], reservations: Reservations, config: Any, *,
              held: bool = False, sku: str | None = None) -> ItemPlan:
    """Every decision about one item and its products (``sku``: the SKU the item sells under)."""
    screened = screen(item, config, held=held)
    if screened is not None:
        return screened
    if not products:
        return ItemPlan(item.number, "unknown", item, reason=unknown_reason(sku or item.number))
    price = store_price(item, config).price
    quantity = reservations.stock(item) if item.has_stock else None
    plan = ItemPlan(item.number, "unchanged", item)
    for product in products:
        plan.products.append((product, update_for(item, product, price, quantity)))
    if plan.updates:
        plan.decision = "update"
    return plan
