"""Every section and key of the configuration file, declared once (drives validation and the starter file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wcbc.core.config.checks import (
    check_currency,
    check_environment,
    check_guid,
    check_nonempty,
    check_on_copy,
    check_start_date,
    check_target,
    check_tax_rates,
    check_tenant,
    check_time_zone,
    check_web_url,
    one_of,
)
from wcbc.core.config.model import COPY_WINDOW_HOURS, WOO_CONCURRENCY


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, comment, and how it is checked."""

    name: str
    kind: str  # str|int|float|bool|decimal|path|strlist|strdict|tabledict|hours
    default: Any = None
    comment: str = ""
    required: bool = False
    example: Any = None  # written (commented out) by render_starter_config when default is None
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[Any], Any] | None = None  # returns the (normalised) value or raises Bad
    aliases: tuple[str, ...] = ()
    field: str | None = None  # dataclass field name when it differs from the TOML name


SCHEMA: dict[str, tuple[str, tuple[Key, ...]]] = {
    "woocommerce": (
        "The WooCommerce store (REST API keys go in the vault: `wcbc credentials set woocommerce`).",
        (
            Key("url", "str", required=True, example="https://shop.example.com",
                comment="Store address (https; the site root, not /wp-json)"),
            Key("allow_http", "bool", False,
                "Allow plain http, only for a loopback test store (127.0.0.1, ::1, localhost)"),
            Key("timeout", "float", 30.0, "Seconds before a WooCommerce call times out", minimum=0.1),
            Key("per_page", "int", 100, "Objects read per page (1-100)", minimum=1, maximum=100),
            Key("prices_include_tax", "bool", False, "The store's prices are entered including tax"),
            Key("decimals", "int", 2, "Price decimals used by the store", minimum=0, maximum=8),
            Key("time_zone", "str", "UTC", "The store's time zone (IANA name), for order dates",
                check=check_time_zone),
            Key("concurrency", "int", WOO_CONCURRENCY,
                "WooCommerce calls in flight at once (notes, product and batch calls)",
                minimum=1, maximum=16),
        ),
    ),
    "business_central": (
        "Business Central (the client secret goes in the vault: `wcbc credentials set business-central`).",
        (
            Key("tenant_id", "str", required=True, example="contoso.onmicrosoft.com",
                comment="Entra ID tenant: GUID or domain name", check=check_tenant),
            Key("environment", "str", required=True, example="Production",
                comment="Business Central environment name", check=check_environment),
            Key("company_id", "str", required=True, example="00000000-0000-0000-0000-000000000000",
                comment="Company id (GUID, from GET .../companies)", check=check_guid),
            Key("client_id", "str", required=True, example="00000000-0000-0000-0000-000000000000",
                comment="Application (client) id of the Entra ID app registration", check=check_nonempty),
            Key("api_url", "str", "https://api.businesscentral.dynamics.com", "Business Central API host"),
            Key("authority_url", "str", "https://login.microsoftonline.com", "Entra ID authority host"),
            Key("timeout", "float", 60.0, "Seconds before a Business Central call times out", minimum=0.1),
            Key("max_concurrency", "int", 5, "Calls in flight at once (BC allows 5 per user)",
                minimum=1, maximum=100),
            Key("requests_per_5min", "int", 6000, "Request budget per 5 minutes (BC allows 6000 per user)",
                minimum=1),
            Key("page_size", "int", 20000, "Records per page (BC allows at most 20000)",
                minimum=1, maximum=20000),
        ),
    ),
    "state": (
        "The local state database (links, records, journal, webhook inbox).",
        (
            Key("path", "path", None, "SQLite state file", example="~/.local/state/wcbc/wcbc.db"),
            Key("journal_days", "int", 90, "Days of journal kept (pruned after each run)", minimum=1),
            Key("on_copy", "str", "refuse",
                "A copy of this file in use on another host or path: refuse (exit 2) or warn",
                check=check_on_copy),
            Key("copy_window", "hours", COPY_WINDOW_HOURS,
                "The other user counts as active if its last run is this recent (24h, 90m, 2d)",
                field="copy_window_hours"),
        ),
    ),
    "tls": (
        "TLS verification.",
        (
            Key("ca_bundle", "path", None, "Extra CA bundle (PEM) to trust; default: the system store",
                example="/etc/ssl/certs/my-ca.pem"),
        ),
    ),
    "vault": (
        "The encrypted credential vault.",
        (Key("path", "path", None, "Vault file; default: vault.bin next to this file", example="vault.bin"),),
    ),
    "orders": (
        "WooCommerce orders -> Business Central sales documents.",
        (
            Key("target", "str", "sales_order", "sales_order, sales_invoice or posted_invoice",
                check=check_target),
            Key("statuses", "strlist", ("processing", "completed"), "Order statuses that are sent to BC"),
            Key("start_date", "str", None, "Ignore orders created before this date (YYYY-MM-DD)",
                example="2026-01-01", check=check_start_date),
            Key("number_prefix", "str", "WC-",
                "Prefix of the external document number (WooCommerce order no.)"),
            Key("prices_include_tax", "bool", False,
                "Gross line prices (VAT companies only; US Sales Tax refuses it)"),
            Key("shipping_account", "str", None, "G/L account for shipping charges (or shipping_item)",
                example="6110"),
            Key("shipping_item", "str", None, "Item number for shipping charges (or shipping_account)",
                example="SHIPPING"),
            Key("fee_account", "str", None, "G/L account for order fees", example="6120"),
            Key("discount_account", "str", None, "G/L account for negative fees (discounts entered as fees)",
                example="6910"),
            Key("rounding_account", "str", None, "G/L account for rounding differences", example="6130"),
            Key("total_tolerance", "decimal", Decimal("0.01"),
                "Largest accepted difference between the WooCommerce and BC totals", minimum=0),
            Key("guest_customer", "str", None, "BC customer number used for guest orders", example="GUEST"),
            Key("customer_template", "strdict", {}, "Fields given to customers created in BC",
                example={"taxLiable": "true"}),
            Key("add_note", "bool", True, "Add an order note naming the BC document"),
            Key("max_attempts", "int", 3, "Failures before an order is put on hold", minimum=1),
            Key("overlap_seconds", "int", 300, "Re-read window when polling modified orders", minimum=0),
            Key("batch_size", "int", 100, "Orders handled per batch", minimum=1, maximum=100),
            Key("local_currency", "str", None, "BC local currency code (orders in it are sent without one)",
                example="USD", check=check_currency),
            Key("tax_codes", "strdict", {},
                "BC tax group (US) or VAT product posting group per WooCommerce tax class; untaxed: lines "
                "the store charged no tax on",
                example={"standard": "TAXABLE", "reduced-rate": "REDUCED", "untaxed": "NONTAXABLE"}),
            Key("rounding_cap", "decimal", Decimal("0.05"),
                "Largest difference a rounding line on rounding_account may absorb", minimum=0),
            Key("posting_date", "str", "order",
                "Posting date of booked documents: order (its date), paid (its payment date) or run (BC's "
                "work date)", check=one_of("order", "paid", "run")),
            Key("customer_templates", "tabledict", {},
                "Per billing country: writable fields given to new customers (over customer_template)",
                example={"DE": {"taxAreaId": "<VAT business posting group id>", "taxLiable": "true"}}),
            Key("vat_number_meta", "str", None,
                "Order meta key holding the buyer's VAT number (goes to taxRegistrationNumber)",
                example="_billing_vat_number"),
            Key("customer_currency", "str", None,
                "Currency of new customer cards (default: local_currency), never the order's",
                example="USD", check=check_currency),
            Key("on_cancel", "str", "undo", "A cancelled booked order: undo its BC document, or report it",
                check=one_of("undo", "report")),
            Key("refund_account", "str", None, "G/L account for refunded lines not restocked",
                example="6640"),
            Key("refund_amount_account", "str", None,
                "G/L account (no tax) for refund amounts not tied to a line", example="6630"),
            Key("post_credit_memos", "str", "auto",
                "auto (post when target is posted_invoice), always or never",
                check=one_of("auto", "always", "never")),
        ),
    ),
    "items": (
        "Business Central items -> WooCommerce product prices and stock.",
        (
            Key("mapping_file", "path", None, "CSV mapping BC item numbers to WooCommerce SKUs",
                example="items.csv"),
            Key("max_attempts", "int", 3, "Failures before an item is put on hold", minimum=1),
            Key("prices_include_tax", "bool", False, "Push prices including tax (uses tax_rate)"),
            Key("tax_rate", "decimal", None, "Tax rate in percent added when prices_include_tax is true",
                example="20", minimum=0),
            Key("hold_unbooked", "bool", True, "Hold back open BC orders and unbooked web orders from stock"),
            Key("tax_rates", "strdict", {}, "Tax rate in percent per BC item tax group (else tax_rate)",
                example={"TAXABLE": "7.25", "REDUCED": "5"}, check=check_tax_rates),
        ),
    ),
    "serve": (
        "`wcbc serve`: the webhook receiver (put it behind a reverse proxy on 443).",
        (
            Key("host", "str", "127.0.0.1", "Address to listen on", check=check_nonempty),
            Key("port", "int", 8787, "Port to listen on", minimum=0, maximum=65535),
            Key("public_url", "str", None, "Public https URL of this receiver (for webhook registration)",
                example="https://wcbc.example.com", check=check_web_url),
            Key("workers", "int", 4, "Worker threads", minimum=1, maximum=256),
            Key("max_body", "int", 1_048_576, "Largest accepted webhook body in bytes", minimum=1),
            Key("renew_before", "hours", 24.0,
                "Renew BC subscriptions this long before they expire (24h, 90m, 2d)",
                aliases=("renew_before_hours",), field="renew_before_hours"),
            Key("max_backlog", "int", 100_000, "Refuse deliveries (503) above this many queued", minimum=1),
            Key("connection_limit", "int", 1000,
                "Open connections at most; at the limit the stalest idle or slow ones are closed",
                minimum=10, maximum=100_000),
            Key("channel_timeout", "int", 15, "Close a connection idle this many seconds", minimum=1,
                maximum=3600),
            Key("request_timeout", "int", 10,
                "Drop a request whose headers and body have not all arrived this many seconds after its "
                "first byte", minimum=1, maximum=3600),
            Key("backlog", "int", 1024, "Listen queue of connections not yet accepted", minimum=1,
                maximum=65_535),
        ),
    ),
    "alerts": (
        "Alerts (stderr always; e-mail and chat when set). SMTP password: $WCBC_SMTP_PASSWORD.",
        (
            Key("email_to", "str", None, "Address that receives alerts", example="ops@example.com"),
            Key("smtp_host", "str", None, "SMTP server", example="smtp.example.com"),
            Key("smtp_port", "int", 587, "SMTP port", minimum=1, maximum=65535),
            Key("smtp_user", "str", None, "SMTP user name", example="wcbc@example.com"),
            Key("smtp_starttls", "bool", True, "Use STARTTLS"),
            Key("email_from", "str", None, "Sender address", example="wcbc@example.com"),
            Key("webhook_url", "str", None, "URL that receives a JSON POST per alert",
                example="https://hooks.example.com/wcbc", check=check_web_url),
            Key("heartbeat_url", "str", None, "URL pinged (GET) after each successful run",
                example="https://hc.example.com/ping/wcbc", check=check_web_url),
        ),
    ),
}

from wcbc.core.config.o2c import sections as _o2c_sections  # noqa: E402  (needs Key, defined above)

SCHEMA.update(_o2c_sections())
