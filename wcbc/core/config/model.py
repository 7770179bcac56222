"""What a loaded configuration holds: one frozen dataclass per section, and :class:`Config`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from wcbc.core.config.o2c import FulfilmentConfig, PaymentsConfig

ORDER_TARGETS = ("sales_order", "sales_invoice", "posted_invoice")
ON_COPY_CHOICES = ("refuse", "warn")
# WooCommerce calls in flight at once, the one definition (a WordPress site has only a few PHP workers)
WOO_CONCURRENCY = 4
COPY_WINDOW_HOURS = 24.0


@dataclass(frozen=True)
class WooConfig:
    url: str
    allow_http: bool = False
    timeout: float = 30.0
    per_page: int = 100
    prices_include_tax: bool = False
    decimals: int = 2
    time_zone: str = "UTC"  # the store's time zone (IANA), for order dates
    concurrency: int = WOO_CONCURRENCY


@dataclass(frozen=True)
class BCConfig:
    tenant_id: str
    environment: str
    company_id: str
    client_id: str
    api_url: str = "https://api.businesscentral.dynamics.com"
    authority_url: str = "https://login.microsoftonline.com"
    timeout: float = 60.0
    max_concurrency: int = 5
    requests_per_5min: int = 6000
    page_size: int = 20000


@dataclass(frozen=True)
class StateConfig:
    path: Path
    journal_days: int = 90
    on_copy: str = "refuse"  # refuse|warn: a copy of this state file in use on another host or path
    copy_window_hours: float = COPY_WINDOW_HOURS


@dataclass(frozen=True)
class TLSConfig:
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class OrdersConfig:
    target: str = "sales_order"  # sales_order|sales_invoice|posted_invoice
    statuses: tuple[str, ...] = ("processing", "completed")
    start_date: str | None = None
    number_prefix: str = "WC-"  # an install that set "" keeps it (README, Upgrading)
    prices_include_tax: bool = False
    shipping_account: str | None = None
    shipping_item: str | None = None
    fee_account: str | None = None
    rounding_account: str | None = None
    total_tolerance: Decimal = Decimal("0.01")
    guest_customer: str | None = None
    customer_template: dict[str, str] = field(default_factory=dict)
    add_note: bool = True
    max_attempts: int = 3
    overlap_seconds: int = 300
    batch_size: int = 100
    local_currency: str | None = None  # BC LCY code: an order in it is sent with currencyCode ""
    tax_codes: dict[str, str] = field(default_factory=dict)  # WooCommerce tax class -> BC tax code
    rounding_cap: Decimal = Decimal("0.05")
    customer_currency: str | None = None
    customer_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    vat_number_meta: str | None = None
    discount_account: str | None = None
    posting_date: str = "order"  # order | paid | run
    on_cancel: str = "undo"  # undo|report: what a cancelled booked order does to its BC document
    refund_account: str | None = None  # refunded lines not restocked
    refund_amount_account: str | None = None  # refund amounts not tied to a line (gross, untaxed)
    post_credit_memos: str = "auto"  # auto (post when target is posted_invoice) | always | never


@dataclass(frozen=True)
class ItemsConfig:
    mapping_file: Path | None = None
    max_attempts: int = 3
    prices_include_tax: bool = False
    tax_rate: Decimal | None = None
    hold_unbooked: bool = True
    tax_rates: dict[str, Decimal] = field(default_factory=dict)  # BC tax group code -> percent


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    public_url: str | None = None
    workers: int = 4
    max_body: int = 1_048_576
    renew_before_hours: float = 24.0
    max_backlog: int = 100_000
    connection_limit: int = 1000
    channel_timeout: int = 15
    request_timeout: int = 10
    backlog: int = 1024


@dataclass(frozen=True)
class AlertsConfig:
    email_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_starttls: bool = True
    email_from: str | None = None
    webhook_url: str | None = None
    heartbeat_url: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    woocommerce: WooConfig
    business_central: BCConfig
    state: StateConfig
    tls: TLSConfig
    orders: OrdersConfig
    items: ItemsConfig
    serve: ServeConfig
    alerts: AlertsConfig
    vault_path: Path
    fulfilment: FulfilmentConfig = field(default_factory=FulfilmentConfig)
    payments: PaymentsConfig = field(default_factory=PaymentsConfig)

    def verify(self) -> str | bool:
        """The ``verify=`` argument for requests: the CA bundle, else $REQUESTS_CA_BUNDLE, else True."""
        if self.tls.ca_bundle is not None:
            return str(self.tls.ca_bundle)
        env = os.environ.get("REQUESTS_CA_BUNDLE")
        if env:
            return env
        return True
