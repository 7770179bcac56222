"""Records held by the WooCommerce simulator (plain dataclasses; rendering lives in woo_render)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.sandbox.woo.money import ZERO, TaxRate

BILLING_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "email",
    "phone",
)
SHIPPING_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "phone",
)
# The customers endpoint orders the address keys differently (postcode/country before state).
CUSTOMER_BILLING_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "postcode",
    "country",
    "state",
    "email",
    "phone",
)
CUSTOMER_SHIPPING_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "postcode",
    "country",
    "state",
    "phone",
)
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")


def address(data: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    data = data or {}
    return {k: str(data.get(k) or "") for k in keys}


@dataclass(slots=True)
class Meta:
    id: int
    key: str
    value: Any


@dataclass(slots=True)
class Product:
    id: int
    name: str
    slug: str
    type: str  # simple | variable | variation
    sku: str
    date_created: dt.datetime
    date_modified: dt.datetime
    regular_price: str = ""
    sale_price: str = ""
    status: str = "publish"
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    tax_status: str = "taxable"
    tax_class: str = ""
    description: str = ""
    short_description: str = ""
    parent_id: int = 0
    # variable: [{"name", "options", "position", "visible", "variation"}]; variation: [{"name", "option"}]
    attributes: list[dict[str, Any]] = field(default_factory=list)
    variations: list[int] = field(default_factory=list)
    total_sales: int = 0
    meta_data: list[Meta] = field(default_factory=list)
    weight: str = ""
    menu_order: int = 0

    def on_sale(self) -> bool:
        if self.sale_price == "":
            return False
        try:
            return Decimal(self.sale_price) < Decimal(self.regular_price or "0") or self.regular_price == ""
        except ArithmeticError:
            return False

    def active_price(self) -> str:
        return self.sale_price if self.on_sale() else self.regular_price


@dataclass(slots=True)
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    username: str
    billing: dict[str, str]
    shipping: dict[str, str]
    date_created: dt.datetime
    date_modified: dt.datetime
    is_paying_customer: bool = False
    role: str = "customer"
    meta_data: list[Meta] = field(default_factory=list)


@dataclass(slots=True)
class Coupon:
    id: int
    code: str
    discount_type: str  # percent | fixed_cart | fixed_product
    amount: Decimal
    date_created: dt.datetime
    date_modified: dt.datetime
    usage_count: int = 0
    free_shipping: bool = False


@dataclass(slots=True)
class LineItem:
    id: int
    name: str
    product_id: int
    variation_id: int
    quantity: int
    unit_price: Decimal  # catalogue price at order time, in the store's price basis
    tax_class: str
    sku: str | None
    parent_name: str | None
    image_id: int | str
    meta_data: list[dict[str, Any]] = field(default_factory=list)  # {id,key,value,display_key,display_value}
    subtotal: Decimal = ZERO
    total: Decimal = ZERO
    taxes: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)  # rate_id -> (total, subtotal)
    taxable: bool = True

    @property
    def subtotal_tax(self) -> Decimal:
        return sum((t[1] for t in self.taxes.values()), ZERO)

    @property
    def total_tax(self) -> Decimal:
        return sum((t[0] for t in self.taxes.values()), ZERO)


@dataclass(slots=True)
class ShippingLine:
    id: int
    method_title: str
    method_id: str
    total: Decimal
    instance_id: str = ""
    tax_status: str = "taxable"
    taxes: dict[int, Decimal] = field(default_factory=dict)
    meta_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_tax(self) -> Decimal:
        return sum(self.taxes.values(), ZERO)


@dataclass(slots=True)
class FeeLine:
    id: int
    name: str
    total: Decimal
    tax_class: str = ""
    tax_status: str = "taxable"
    taxes: dict[int, Decimal] = field(default_factory=dict)
    meta_data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_tax(self) -> Decimal:
        return sum(self.taxes.values(), ZERO)


@dataclass(slots=True)
class CouponLine:
    id: int
    code: str
    coupon_id: int
    discount_type: str
    nominal_amount: Decimal
    discount: Decimal = ZERO
    discount_tax: Decimal = ZERO
    free_shipping: bool = False
    meta_data: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class TaxLine:
    id: int
    rate: TaxRate
    tax_total: Decimal = ZERO
    shipping_tax_total: Decimal = ZERO


@dataclass(slots=True)
class Note:
    id: int
    note: str
    customer_note: bool
    author: str
    date_created: dt.datetime


@dataclass(slots=True)
class Order:
    id: int
    status: str
    currency: str
    prices_include_tax: bool
    date_created: dt.datetime
    date_modified: dt.datetime
    customer_id: int
    order_key: str
    billing: dict[str, str]
    shipping: dict[str, str]
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    created_via: str = "rest-api"
    customer_note: str = ""
    date_paid: dt.datetime | None = None
    date_completed: dt.datetime | None = None
    meta_data: list[Meta] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    fee_lines: list[FeeLine] = field(default_factory=list)
    coupon_lines: list[CouponLine] = field(default_factory=list)
    tax_lines: list[TaxLine] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    stock_reduced: bool = False
    parent_id: int = 0
    refunds: list[Refund] = field(default_factory=list)  # newest first
    # totals (Decimals, rounded to the store decimals)
    discount_total: Decimal = ZERO
    discount_tax: Decimal = ZERO
    shipping_total: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    cart_tax: Decimal = ZERO
    total: Decimal = ZERO
    total_tax: Decimal = ZERO


@dataclass(slots=True)
class Refund:
    """A ``shop_order_refund``: its own post id, negative copies of the refunded order items."""

    id: int
    parent_id: int
    date_created: dt.datetime
    amount: Decimal  # positive
    reason: str
    refunded_by: int
    refunded_payment: bool = False
    meta_data: list[Meta] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    fee_lines: list[FeeLine] = field(default_factory=list)
    tax_lines: list[TaxLine] = field(default_factory=list)


@dataclass(slots=True)
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    date_created: dt.datetime
    date_modified: dt.datetime | None = None
    failure_count: int = 0
    pending_delivery: bool = True
    api_version: int = 3
    user_id: int = 1


class RestError(Exception):
    """A WordPress REST error: {code, message, data:{status, ...}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.data = status, code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}
