"""The plan step of item sync: pure functions from a BC item, its WooCommerce products and the reservations
to the writes to make (one :class:`~wcbc.sync.common.plan.Write` per product or variation, keyed by its
id) and the decisions that need no write.

No adapter, no state: what these return is what ``--dry-run`` shows and what the apply step performs.

What an item's products should show is its :class:`Target`, worked out once per item (:func:`target_for`);
the price and the stock are decided apart, so a price that is skipped never stops the stock:

* the price is skipped (with its reason, :attr:`Target.price_note`) when the item is blocked, its price is 0,
  unreadable or out of range, or no tax rate is set for its tax group;
* a blocked item's products are made not purchasable: stock 0 (managed stock) and ``stock_status:
  outofstock`` (what WooCommerce applies when stock is not managed), and backorders off; what the block
  changed is remembered in the link (:attr:`~.catalog.WooProduct.restore`) and put back on unblock, when the
  real stock is pushed again;
* every value read from BC is parsed with bounds (:func:`~.stock.bounded`): a hostile value fails the item
  alone (:attr:`Target.failure`, recorded as a failure) and what can still be decided is planned.

Decisions (:attr:`ItemPlan.decision`): ``held`` (on hold: ``wcbc replay`` re-runs it), ``failed`` (a hostile
value and nothing else to write), ``skipped`` (the price is skipped and every product is otherwise right),
``unknown`` (no product has its SKU), ``update`` (at least one product differs) and ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import ConfigError
from wcbc.sync.common.plan import Write
from wcbc.sync.items import stock
from wcbc.sync.items.catalog import WooProduct
from wcbc.sync.items.read import BCItem
from wcbc.sync.items.reservations import Reservations
from wcbc.sync.items.tax import tax_rate_for

HELD_REASON = "on hold: run `wcbc replay` once fixed"
# What one bad value raises while an item is planned: caught per item, never past it.
ITEM_ERRORS = (ValueError, ArithmeticError, TypeError, KeyError, AttributeError)


def record_id(number: str) -> str:
    return f"item:{number}"


def store_price(item: BCItem, config: Any) -> stock.StorePrice:
    """The price for the store, converted with the rate of the item's tax group (``[items] tax_rates``,
    else ``tax_rate``). ``ConfigError`` when a conversion is needed and no rate is configured at all; an
    item whose group has no rate while others have is skipped, with the group and the key to set."""
    store_includes_tax = bool(config.items.prices_include_tax or config.woocommerce.prices_include_tax)
    rate: Decimal | str | None = None
    if item.price_includes_tax != store_includes_tax and not _blocked(item):
        rate, missing = tax_rate_for(item.tax_group, config.items)
        if missing:
            return stock.StorePrice(None, missing)
    return stock.price_for_store(
        item.unit_price,
        bc_includes_tax=item.price_includes_tax,
        store_includes_tax=store_includes_tax,
        tax_rate=rate,
        decimals=config.woocommerce.decimals,
        blocked=_blocked(item),
    )


def _blocked(item: BCItem) -> bool:
    return item.blocked is True


@dataclass(frozen=True)
class Target:
    """What every product of one item should show, decided once per item."""

    price: str | None  # None: the price is left as it is (price_note says why)
    quantity: int | None  # None: the stock is left as it is (a service, or unreadable)
    blocked: bool = False
    price_note: str | None = None
    failure: str | None = None  # a hostile BC value: the item's record fails with this cause

    @property
    def writes_anything(self) -> bool:
        return self.price is not None or self.quantity is not None or self.blocked


def target_for(item: BCItem, reservations: Reservations, config: Any) -> Target:
    """The item's :class:`Target`. Never raises for a bad item value (only ``ConfigError``): the cause is
    in ``failure`` and the rest is still decided."""
    if not isinstance(item.blocked, bool):
        return Target(None, None, failure=f"blocked: not true or false: {item.blocked!r:.40}")
    failures: list[str] = []
    problem = _wrong_type(item)
    if problem:
        price = stock.StorePrice(None, f"unreadable Business Central price ({problem})", unreadable=True)
    else:
        try:
            price = store_price(item, config)
        except ConfigError:
            raise
        except ITEM_ERRORS as exc:
            price = stock.StorePrice(None, f"unreadable Business Central price ({exc})", unreadable=True)
    if price.unreadable:
        failures.append(price.skip_reason or "unreadable price")
    quantity: int | None = None
    if item.blocked:
        quantity = 0 if item.has_stock else None
    elif item.has_stock:
        try:
            quantity = reservations.stock(item)
        except ITEM_ERRORS as exc:
            failures.append(f"stock not written: {exc}")
    return Target(price.price, quantity, item.blocked, price.skip_reason if price.skipped else None,
                  "; ".join(failures) or None)


def _wrong_type(item: BCItem) -> str | None:
    """The first price field read from BC with a type BC never sends, named with its value."""
    if not isinstance(item.price_includes_tax, bool):
        return f"priceIncludesTax: not true or false: {item.price_includes_tax!r:.40}"
    if not isinstance(item.tax_group, str):
        return f"taxGroupCode: not text: {item.tax_group!r:.40}"
    return None


def changes_for(product: WooProduct, target: Target) -> dict[str, Any]:
    """The minimal update of one product: never a price on a variable parent, never stock on a variable
    parent that does not manage stock itself (its variations carry it); a block's stock status and
    backorders, or what a block changed put back."""
    quantity = target.quantity
    if product.type == "variable" and product.manage_stock is not True:
        quantity = None
    status: str | None = None
    backorders: str | None = None
    if target.blocked:
        status = stock.OUT_OF_STOCK
        if product.backorders not in (None, "no"):
            backorders = "no"
    else:
        restore = product.restore or {}
        backorders = restore.get("backorders")
        if quantity is not None:
            # Stock is ours: in stock whenever there is some (WooCommerce derives it the same way when it
            # manages stock, and takes it as sent when the store manages none).
            if quantity > 0 and product.stock_status == stock.OUT_OF_STOCK:
                status = stock.IN_STOCK
        elif product.stock_status == stock.OUT_OF_STOCK:
            status = restore.get("stock_status")
    return stock.product_changes(product.as_product(), price=target.price, stock=quantity, status=status,
                                 backorders=backorders)


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
    restore: dict[str, str] | None = None  # what the link remembers after this write (a block's "before")

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


def _restore_after(product: WooProduct, target: Target, changes: dict[str, Any]) -> dict[str, str] | None:
    """While blocked: what the first block changed (kept over later blocks); unblocked: nothing."""
    if not target.blocked:
        return None
    if product.restore:
        return product.restore
    kept = {name: str(value) for name in ("stock_status", "backorders") if name in changes
            and isinstance(value := getattr(product, name), str)}
    return kept or None


def update_for(item: BCItem, product: WooProduct, target: Target) -> Update | None:
    """The write that puts ``product`` right for ``item``, or None when it is right already."""
    changes = changes_for(product, target)
    if not changes:
        return None
    action = "update_variation" if product.is_variation else "update_product"
    note = f"item {item.number} -> product {product.id}"
    if product.is_variation:
        note += f" (variation of {product.parent_id})"
    if target.blocked:
        note += " (blocked in Business Central: not purchasable)"
    write = Write(record=record_id(item.number), action=action, system="woocommerce", key=str(product.id),
                  body=changes, note=note)
    return Update(item, product, write, _restore_after(product, target, changes))


@dataclass
class ItemPlan:
    """What to do about one item."""

    number: str
    decision: str  # held | failed | skipped | unknown | update | unchanged
    item: BCItem | None = None
    # Each product of the item in the order found, with its update (None: it is right already).
    products: list[tuple[WooProduct, Update | None]] = field(default_factory=list)
    reason: str | None = None
    price_note: str | None = None  # why the price is not written (the stock still is)
    failure: str | None = None  # a hostile value: recorded as a failure, whatever else is written

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
    """The decision that needs no product: ``held``; None when the item goes on."""
    if held:
        return ItemPlan(item.number, "held", item, reason=HELD_REASON)
    return None


def unknown_reason(sku: str) -> str:
    return f"no WooCommerce product or variation has SKU {sku!r}"


def plan_item(item: BCItem, products: Sequence[WooProduct], reservations: Reservations, config: Any, *,
              held: bool = False, sku: str | None = None) -> ItemPlan:
    """Every decision about one item and its products (``sku``: the SKU the item sells under)."""
    screened = screen(item, config, held=held)
    if screened is not None:
        return screened
    target = target_for(item, reservations, config)
    return plan_products(item, products, target, sku=sku)


def plan_products(item: BCItem, products: Sequence[WooProduct], target: Target, *,
                  sku: str | None = None) -> ItemPlan:
    """The decisions of one item whose :class:`Target` is known."""
    plan = ItemPlan(item.number, "unchanged", item, price_note=target.price_note, failure=target.failure)
    if not products:
        plan.decision, plan.reason = "unknown", unknown_reason(sku or item.number)
        return plan
    if not target.writes_anything:
        plan.decision = "failed" if target.failure else "skipped"
        plan.reason = target.failure or target.price_note or "nothing to write"
        return plan
    for product in products:
        try:
            update = update_for(item, product, target)
        except ITEM_ERRORS as exc:  # a product value the write cannot be built from
            plan.failure = "; ".join(filter(None, [plan.failure, f"product {product.id}: {exc}"]))
            continue
        plan.products.append((product, update))
    if plan.updates:
        plan.decision = "update"
    elif plan.failure:
        plan.decision, plan.reason = "failed", plan.failure
    elif target.price_note:
        plan.decision, plan.reason = "skipped", target.price_note
    return plan
