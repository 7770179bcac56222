"""The few settings the mapping needs, checked once: :class:`MappingOptions`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcbc.core.errors import ConfigError
from wcbc.sync.mapping.money import MoneyError, parse_money, to_json_number
from wcbc.sync.mapping.orders.text import EXTERNAL_DOCUMENT_NUMBER_MAX, _utf16_len

TARGETS = ("sales_order", "sales_invoice", "posted_invoice")

# Writable v2.0 customer fields a template may set (business-central.md §3.1), and how to send them.
CUSTOMER_TEMPLATE_FIELDS: dict[str, str] = {
    "type": "text",
    "website": "text",
    "salespersonCode": "text",
    "creditLimit": "decimal",
    "taxLiable": "bool",
    "taxAreaId": "text",
    "taxRegistrationNumber": "text",
    "paymentTermsId": "text",
    "shipmentMethodId": "text",
    "paymentMethodId": "text",
    "blocked": "text",
}


@dataclass(frozen=True)
class MappingOptions:
    """The few settings the mapping needs (from ``[orders]`` and ``[woocommerce]`` in the config).

    ``target``: ``sales_order`` | ``sales_invoice`` | ``posted_invoice`` (both invoice targets create a
    salesInvoices document; posting is the sync layer's business). ``decimals``: the currency's amount
    decimals (BC amount rounding precision, normally the store's price decimals). ``guest_customer``: when
    set, every guest order is booked on this BC customer number instead of a customer per e-mail address.
    """

    target: str = "sales_order"
    number_prefix: str = ""
    prices_include_tax: bool = False
    shipping_account: str | None = None
    shipping_item: str | None = None
    fee_account: str | None = None
    discount_account: str | None = None  # negative fees (discounts entered as fees)
    posting_date: str = "order"  # order | paid | run
    local_currency: str | None = None
    time_zone: str = "UTC"
    customer_template: Mapping[str, Any] = field(default_factory=dict)
    decimals: int = 2
    guest_customer: str | None = None
    add_comment: bool = True
    tax_codes: Mapping[str, str] = field(default_factory=dict)  # WooCommerce tax class -> BC taxCode
    customer_currency: str | None = None  # a new customer card's currency (None: the local currency)
    customer_templates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # country -> template
    vat_number_meta: str | None = None  # the order meta key holding the buyer's VAT number

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"unknown target {self.target!r}; use one of {', '.join(TARGETS)}",
                              key="orders.target")
        decimals = self.decimals
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 8:
            raise ConfigError(f"decimals must be a whole number from 0 to 8, not {self.decimals!r}",
                              key="woocommerce.decimals")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"unknown time zone {self.time_zone!r}; use an IANA name such as "
                              "'America/Los_Angeles'", key="woocommerce.time_zone") from None
        if self.posting_date not in ("order", "paid", "run"):
            raise ConfigError(f"posting_date must be order, paid or run, not {self.posting_date!r}",
                              key="orders.posting_date")
        prefix = self.number_prefix or ""
        if _utf16_len(prefix.strip()) >= EXTERNAL_DOCUMENT_NUMBER_MAX:
            raise ConfigError("the prefix leaves no room for the order number (BC allows 35 characters)",
                              key="orders.number_prefix")
        template = dict(self.customer_template or {})
        for key, value in template.items():
            _template_value(key, value)  # raises ConfigError on a bad key or value
        object.__setattr__(self, "customer_template", template)
        by_country = {str(c).strip().upper(): dict(t) for c, t in (self.customer_templates or {}).items()}
        for fields in by_country.values():
            for key, value in fields.items():
                _template_value(key, value, "orders.customer_templates")
        object.__setattr__(self, "customer_templates", by_country)
        codes = {str(k).strip().lower(): str(v).strip().upper() for k, v in (self.tax_codes or {}).items()}
        for key, value in codes.items():
            if not value:
                raise ConfigError(f"tax class {key!r} maps to an empty BC tax code", key="orders.tax_codes")
        object.__setattr__(self, "tax_codes", codes)
        for name in ("shipping_account", "shipping_item", "fee_account", "discount_account", "local_currency",
                     "guest_customer",
                     "customer_currency", "vat_number_meta"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value).strip() or None)

    @classmethod
    def from_config(cls, cfg: Any) -> MappingOptions:
        """Build from a ``core.config.Config`` (read duck-typed: ``cfg.orders`` and ``cfg.woocommerce``)."""
        orders = getattr(cfg, "orders", None)
        woo = getattr(cfg, "woocommerce", None)

        def get(obj: Any, name: str, default: Any) -> Any:
            return getattr(obj, name, default) if obj is not None else default

        return cls(
            target=get(orders, "target", "sales_order"),
            number_prefix=get(orders, "number_prefix", "") or "",
            prices_include_tax=bool(get(orders, "prices_include_tax", False)),
            shipping_account=get(orders, "shipping_account", None),
            shipping_item=get(orders, "shipping_item", None),
            fee_account=get(orders, "fee_account", None),
            discount_account=get(orders, "discount_account", None),
            posting_date=get(orders, "posting_date", "order") or "order",
            local_currency=get(orders, "local_currency", None),
            time_zone=get(woo, "time_zone", "UTC") or "UTC",
            customer_template=dict(get(orders, "customer_template", {}) or {}),
            decimals=int(get(woo, "decimals", 2)),
            guest_customer=get(orders, "guest_customer", None),
            add_comment=True,
            tax_codes=dict(get(orders, "tax_codes", {}) or {}),
            customer_currency=get(orders, "customer_currency", None),
            customer_templates=dict(get(orders, "customer_templates", {}) or {}),
            vat_number_meta=get(orders, "vat_number_meta", None),
        )

    @property
    def is_invoice(self) -> bool:
        return self.target != "sales_order"

    @property
    def entity_set(self) -> str:
        """The BC entity set to POST to: ``salesOrders`` or ``salesInvoices``."""
        return "salesInvoices" if self.is_invoice else "salesOrders"

    @property
    def lines_key(self) -> str:
        """The deep-insert navigation property: ``salesOrderLines`` or ``salesInvoiceLines``."""
        return "salesInvoiceLines" if self.is_invoice else "salesOrderLines"


def _template_value(key: str, value: Any, where: str = "orders.customer_template") -> Any:
    kind = CUSTOMER_TEMPLATE_FIELDS.get(key)
    if kind is None:
        allowed = ", ".join(sorted(CUSTOMER_TEMPLATE_FIELDS))
        raise ConfigError(f"{key!r} is not a writable field of BC's v2.0 customers API; allowed: {allowed}",
                          key=where)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ConfigError(f"{key} must be true or false, not {value!r}", key=where)
    if kind == "decimal":
        try:
            return to_json_number(parse_money(value))
        except MoneyError:
            raise ConfigError(f"{key} must be a number, not {value!r}",
                              key=where) from None
    text = str(value)
    if key == "type" and text not in ("Company", "Person"):
        raise ConfigError(f"type must be 'Company' or 'Person', not {value!r}",
                          key=where)
    return text

