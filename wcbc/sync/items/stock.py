"""Pure item-side calculations: a BC item's price and stock -> WooCommerce product values.

No I/O. Quantities and money are :class:`decimal.Decimal` inside; WooCommerce gets price strings with the
store's decimals and whole stock quantities.

Stock that may be sold in the store = BC ``inventory`` (total over all locations; it drops only when a
shipment or invoice is posted) minus what open BC sales orders still have to ship minus what web orders
not yet booked in BC hold, rounded down and never below 0.

Every number read from BC or WooCommerce goes through :func:`bounded`: finite, of a type a JSON number can
have, and within Business Central's decimal range (:data:`BC_DECIMAL_MAX`). Anything else is a
``ValueError`` naming the value, which fails that item alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from wcbc.core.errors import ConfigError
from wcbc.sync.mapping.money import ZERO, MoneyError, format_money, parse_money

# AL's Decimal range: every BC price and quantity is within it (a value outside it is not a BC value).
BC_DECIMAL_MAX = Decimal("999999999999999.99")
# What a blocked item's products are set to, and the statuses a product may have.
OUT_OF_STOCK = "outofstock"
IN_STOCK = "instock"

# WooCommerce order statuses whose lines no longer hold stock (cancelled/failed orders give it back).
RELEASED_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash", "checkout-draft", "draft"})
# Unposted BC sales invoice statuses (a posted invoice has already lowered inventory). The wire form of
# "In Review" is "In_x0020_Review".
UNPOSTED_INVOICE_STATUSES = frozenset({"Draft", "In Review", "In_x0020_Review"})


def bounded(value: Any, what: str = "amount") -> Decimal:
    """``value`` as a Decimal when it is a finite number within BC's decimal range, else ``ValueError``
    naming ``what`` and the value (NaN, infinities, ``"1e309"``, a huge number, a bool, a list...)."""
    try:
        result = parse_money(value)
    except MoneyError:
        raise ValueError(f"{what}: not a number: {_shown(value)}") from None
    if abs(result) > BC_DECIMAL_MAX:
        raise ValueError(f"{what}: {_shown(value)} is outside Business Central's range "
                         f"(at most {BC_DECIMAL_MAX} either way)")
    return result


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _quantity(value: Any) -> Decimal:
    return bounded(value, "quantity")


def sellable_stock(inventory: Any, open_sales_qty: Any = 0, unbooked_web_qty: Any = 0) -> int:
    """``floor(inventory - open_sales_qty - unbooked_web_qty)``, at least 0.

    Inputs may be Decimal, int, float or numeric strings with fractions. Negative ``open_sales_qty`` or
    ``unbooked_web_qty`` count as 0, so the result is never above ``floor(inventory)`` and never negative.
    """
    available = _quantity(inventory) - max(_quantity(open_sales_qty), ZERO) - max(_quantity(unbooked_web_qty),
                                                                                  ZERO)
    if available <= 0:
        return 0
    return int(available.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class StorePrice:
    """The price to write to WooCommerce (a string such as ``"12.50"``), or ``None`` with the reason."""

    price: str | None
    skip_reason: str | None = None
    unreadable: bool = False  # the BC value itself is wrong (not a number, out of range): a failure

    @property
    def skipped(self) -> bool:
        return self.price is None


def price_for_store(
    unit_price: Any,
    *,
    bc_includes_tax: bool,
    store_includes_tax: bool,
    tax_rate: Decimal | str | float | None,
    decimals: int,
    blocked: bool = False,
) -> StorePrice:
    """The WooCommerce ``regular_price`` for a BC item's ``unitPrice``.

    ``bc_includes_tax`` is the item's ``priceIncludesTax``; ``store_includes_tax`` whether the store's prices
    are entered including tax. When they differ the price is converted with ``tax_rate`` (in percent: 20 =
    20%): net -> gross multiplies by ``1 + rate/100``, gross -> net divides by it; the result is rounded half
    up to ``decimals``. They differ and ``tax_rate`` is ``None`` -> :class:`ConfigError` (``items.tax_rate``).

    Skipped (``price`` None, ``skip_reason`` set) when the item is blocked or its price is 0 or less (a
    missing BC price must not make the product free); skipped and ``unreadable`` when the price is not a
    number within BC's range.
    """
    if blocked:
        return StorePrice(None, "the item is blocked in Business Central")
    try:
        price = bounded(unit_price, "unitPrice")
    except ValueError as exc:
        return StorePrice(None, f"unreadable Business Central price ({exc})", unreadable=True)
    if price <= 0:
        return StorePrice(None, "the item has no price (0) in Business Central")
    if bool(bc_includes_tax) != bool(store_includes_tax):
        if tax_rate is None:
            raise ConfigError(
                "Business Central and the store disagree on prices including tax and no tax rate is set",
                key="items.tax_rate",
                hint="set items.tax_rate (in percent, e.g. 20; [items] tax_rates per tax group) or make "
                     "items.prices_include_tax match BC",
            )
        try:
            rate = parse_money(tax_rate)
        except MoneyError:
            raise ConfigError(f"not a tax rate: {tax_rate!r}", key="items.tax_rate") from None
        if rate < 0:
            raise ConfigError("the tax rate must not be negative", key="items.tax_rate")
        factor = 1 + rate / 100
        price = price * factor if store_includes_tax else price / factor
        if price > BC_DECIMAL_MAX:
            return StorePrice(None, f"the converted price {price:.2f} is out of range", unreadable=True)
    text = format_money(price, decimals)
    if parse_money(text) <= 0:
        return StorePrice(None, "the price rounds to 0 in the store's decimals")
    return StorePrice(text)


def _same_amount(current: Any, wanted: Any) -> bool:
    try:
        if current is None or (isinstance(current, str) and not current.strip()):
            return False
        return parse_money(current) == parse_money(wanted)
    except MoneyError:
        return False


def product_changes(product: Mapping[str, Any], *, price: str | None, stock: int | None,
                    status: str | None = None, backorders: str | None = None) -> dict[str, Any]:
    """The minimal WooCommerce update for ``product`` (a product or a variation as WooCommerce returns it).

    Returns ``{"id": ..., "regular_price": "12.50", "manage_stock": True, "stock_quantity": 7}`` with only
    the parts that differ, or ``{}`` when nothing does. Prices are compared as numbers (``"12.5"`` equals
    ``"12.50"``). A variable or grouped product never gets a price (WooCommerce ignores it there: write the
    variations); grouped and external products never get stock. Stock is always sent as the pair
    ``manage_stock: true`` + ``stock_quantity`` (WooCommerce ignores a quantity without managed stock).
    ``price``/``stock`` ``None`` leaves that part alone. ``sale_price`` is never touched.

    ``status`` (``stock_status``) and ``backorders`` are written when given and different, only where a
    buyer can put the product itself in a cart: never on variable, grouped or external products (a variable
    parent's status follows its variations). WooCommerce applies ``stock_status`` as sent when the product
    does not manage stock (or the store manages none) and derives it from the quantity otherwise.
    """
    kind = str(product.get("type") or "simple")
    changes: dict[str, Any] = {}
    if price is not None and kind not in ("variable", "grouped"):
        wanted = str(price).strip()
        try:
            parse_money(wanted)
        except MoneyError:
            raise ValueError(f"not a price: {price!r}") from None
        if not wanted:
            raise ValueError("an empty price would clear the product's price")
        if not _same_amount(product.get("regular_price"), wanted):
            changes["regular_price"] = wanted
    if stock is not None and kind not in ("grouped", "external"):
        quantity = int(stock)
        if quantity != stock:
            raise ValueError(f"stock must be a whole number, not {stock!r}")
        managed = product.get("manage_stock") is True
        if not managed or not _same_amount(product.get("stock_quantity"), quantity):
            changes["manage_stock"] = True
            changes["stock_quantity"] = quantity
    if kind not in ("variable", "grouped", "external"):
        if status is not None and product.get("stock_status") != status:
            changes["stock_status"] = status
        if backorders is not None and product.get("backorders") != backorders:
            changes["backorders"] = backorders
    if not changes:
        return {}
    return {"id": product.get("id"), **changes}


def _item_number(value: Any) -> str:
    return str(value or "").strip().upper()


def open_quantities(sales_orders_with_lines: Iterable[Mapping[str, Any]], *,
                    bad: dict[str, str] | None = None) -> dict[str, Decimal]:
    """Per BC item number (upper-cased), the quantity still to ship on open sales documents.

    Takes BC ``salesOrders`` read with ``$expand=salesOrderLines``: on each ``lineType: "Item"`` line,
    ``quantity - shippedQuantity`` (never below 0), keyed by ``lineObjectNumber``. Unposted sales invoices
    (``salesInvoices`` with ``$expand=salesInvoiceLines`` and status Draft or In Review) may be passed too:
    their whole line quantity counts, since invoice lines carry no shipped quantity. Items with nothing open
    are left out. ``bad`` given: a line whose quantity is unreadable is put there (item number -> cause)
    instead of raising, so only that item's stock fails.
    """
    result: dict[str, Decimal] = {}
    for document in sales_orders_with_lines:
        if "salesOrderLines" in document:
            lines = document.get("salesOrderLines") or []
            shipped_field: str | None = "shippedQuantity"
        elif "salesInvoiceLines" in document:
            if str(document.get("status") or "Draft") not in UNPOSTED_INVOICE_STATUSES:
                continue
            lines = document.get("salesInvoiceLines") or []
            shipped_field = None
        else:
            continue
        for line in lines:
            if str(line.get("lineType") or "") != "Item":
                continue
            number = _item_number(line.get("lineObjectNumber"))
            if not number:
                continue
            try:
                remaining = _quantity(line.get("quantity"))
                if shipped_field:
                    remaining -= _quantity(line.get(shipped_field))
            except ValueError as exc:
                if bad is None:
                    raise
                bad.setdefault(number, f"BC document {document.get('number')}: {exc}")
                continue
            if remaining > 0:
                result[number] = result.get(number, ZERO) + remaining
    return result


def unbooked_quantities(
    woo_orders: Iterable[Mapping[str, Any]],
    booked_order_ids: Iterable[int | str],
    *,
    released_statuses: frozenset[str] = RELEASED_STATUSES,
    bad: dict[str, str] | None = None,
) -> dict[str, Decimal]:
    """Per SKU (trimmed, upper-cased), the quantity on WooCommerce orders that are not in BC yet.

    An order counts unless its id is in ``booked_order_ids`` (compared as text) or its status gave the stock
    back (``cancelled``, ``refunded``, ``failed``, ``trash``, drafts). Lines without a SKU are left out.
    SKUs are upper-cased because WooCommerce matches SKUs case-insensitively and BC stores item numbers
    upper-cased: look results up with ``sku.strip().upper()``. ``bad`` given: a line whose quantity is
    unreadable is put there (SKU key -> cause) instead of raising.
    """
    booked = {str(order_id) for order_id in booked_order_ids}
    result: dict[str, Decimal] = {}
    for order in woo_orders:
        if str(order.get("id")) in booked or str(order.get("status") or "") in released_statuses:
            continue
        for line in order.get("line_items") or []:
            sku = line.get("sku")
            key = sku.strip().upper() if isinstance(sku, str) else ""
            if not key:
                continue
            try:
                quantity = _quantity(line.get("quantity"))
            except ValueError as exc:
                if bad is None:
                    raise
                bad.setdefault(key, f"web order {order.get('id')}: {exc}")
                continue
            if quantity > 0:
                result[key] = result.get(key, ZERO) + quantity
    return result


__all__ = [
    "BC_DECIMAL_MAX",
    "RELEASED_STATUSES",
    "bounded",
    "StorePrice",
    "open_quantities",
    "price_for_store",
    "product_changes",
    "sellable_stock",
    "unbooked_quantities",
]
