"""The configuration file: where it is, what it may hold, and the starter file `wcbc init` writes.

The file is TOML. Every section and key is declared once in :data:`SCHEMA`; that table drives
validation (types, ranges, required keys, unknown keys) and :func:`render_starter_config`, so the
example file and the validator cannot drift apart.

Every problem is a :class:`~wcbc.core.errors.ConfigError` naming the file, the key and what is wrong;
:func:`load_config` builds nothing until the whole file has been checked. Secrets never live here:
they are in the vault (see :mod:`wcbc.core.vault`) or in environment variables.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wcbc.core.errors import ConfigError

CONFIG_ENV_VAR = "WCBC_CONFIG"
ORDER_TARGETS = ("sales_order", "sales_invoice", "posted_invoice")

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_DURATION_HOURS = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0, "": 1.0, "d": 24.0}


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class WooConfig:
    url: str
    allow_http: bool = False
    timeout: float = 30.0
    per_page: int = 100
    prices_include_tax: bool = False
    decimals: int = 2
    time_zone: str = "UTC"  # the store's time zone (IANA), for order dates
    concurrency: int = 4  # WooCommerce calls in flight at once (a WordPress site has a few PHP workers)


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


@dataclass(frozen=True)
class TLSConfig:
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class OrdersConfig:
    target: str = "sales_order"  # sales_order|sales_invoice|posted_invoice
    statuses: tuple[str, ...] = ("processing", "completed")
    start_date: str | None = None
    number_prefix: str = ""
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

    def verify(self) -> str | bool:
        """The ``verify=`` argument for requests: the CA bundle, else $REQUESTS_CA_BUNDLE, else True."""
        if self.tls.ca_bundle is not None:
            return str(self.tls.ca_bundle)
        env = os.environ.get("REQUESTS_CA_BUNDLE")
        if env:
            return env
        return True


# --------------------------------------------------------------------------- paths


def _home_dir(env_var: str, fallback: str) -> Path:
    value = os.environ.get(env_var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def user_config_dir() -> Path:
    """$XDG_CONFIG_HOME/wcbc, else ~/.config/wcbc."""
    return _home_dir("XDG_CONFIG_HOME", ".config") / "wcbc"


def default_state_path() -> Path:
    """$XDG_STATE_HOME/wcbc/wcbc.db, else ~/.local/state/wcbc/wcbc.db."""
    return _home_dir("XDG_STATE_HOME", ".local/state") / "wcbc" / "wcbc.db"


def default_vault_path(config_path: Path) -> Path:
    """The vault lives next to the configuration file unless [vault] path says otherwise."""
    return config_path.parent / "vault.bin"


def find_config_path(explicit: Path | None) -> Path:
    """--config, else $WCBC_CONFIG, else the user config dir/wcbc/config.toml (need not exist)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return user_config_dir() / "config.toml"


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- schema


class _Bad(Exception):
    """A value is wrong; the message says what (the caller adds file and key)."""


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, comment, and how it is checked."""

    name: str
    kind: str  # str|int|float|bool|decimal|path|strlist|strdict|hours
    default: Any = None
    comment: str = ""
    required: bool = False
    example: Any = None  # written (commented out) by render_starter_config when default is None
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[Any], Any] | None = None  # returns the (normalised) value or raises _Bad
    aliases: tuple[str, ...] = ()
    field: str | None = None  # dataclass field name when it differs from the TOML name


def _check_tax_rates(value: dict[str, str]) -> dict[str, Decimal]:
    rates = {k.strip().upper(): _to_decimal(v) for k, v in value.items()}
    if any(r < 0 or r > 1000 for r in rates.values()):
        raise _Bad("each rate must be a percent from 0 to 1000")
    return rates


def _check_guid(value: str) -> str:
    if not _GUID_RE.match(value):
        raise _Bad(f"must be a GUID like 00000000-0000-0000-0000-000000000000 (got {value!r})")
    return value


def _check_tenant(value: str) -> str:
    if _GUID_RE.match(value) or _DOMAIN_RE.match(value):
        return value
    raise _Bad(f"must be the tenant GUID or its domain name, e.g. contoso.onmicrosoft.com (got {value!r})")


def _check_environment(value: str) -> str:
    if not _ENVIRONMENT_RE.match(value):
        raise _Bad(f"must be a Business Central environment name such as Production (got {value!r})")
    return value


def _check_time_zone(value: str) -> str:
    if value in ("UTC", "Etc/UTC"):  # valid even where the system has no time zone database
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise _Bad(f"is not a known IANA time zone such as Europe/Paris (got {value!r})") from exc
    return value


def _check_target(value: str) -> str:
    if value not in ORDER_TARGETS:
        raise _Bad(f"must be one of {', '.join(ORDER_TARGETS)} (got {value!r})")
    return value


def _check_start_date(value: str) -> str:
    text = value.strip()
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(f"must be an ISO date such as 2026-01-31 (got {value!r})") from exc
    return text


def _check_currency(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9]{1,10}$", value):
        raise _Bad(f"must be a Business Central currency code such as EUR (got {value!r})")
    return value.upper()


def _check_web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Bad("must be an http(s) URL")
    return value


def _check_nonempty(value: str) -> str:
    if not value.strip():
        raise _Bad("must not be empty")
    return value


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
                check=_check_time_zone),
            Key("concurrency", "int", 4, "WooCommerce calls in flight at once (notes, product reads)",
                minimum=1, maximum=16),
        ),
    ),
    "business_central": (
        "Business Central (the client secret goes in the vault: `wcbc credentials set business-central`).",
        (
            Key("tenant_id", "str", required=True, example="contoso.onmicrosoft.com",
                comment="Entra ID tenant: GUID or domain name", check=_check_tenant),
            Key("environment", "str", required=True, example="Production",
                comment="Business Central environment name", check=_check_environment),
            Key("company_id", "str", required=True, example="00000000-0000-0000-0000-000000000000",
                comment="Company id (GUID, from GET .../companies)", check=_check_guid),
            Key("client_id", "str", required=True, example="00000000-0000-0000-0000-000000000000",
                comment="Application (client) id of the Entra ID app registration", check=_check_nonempty),
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
                check=_check_target),
            Key("statuses", "strlist", ("processing", "completed"), "Order statuses that are sent to BC"),
            Key("start_date", "str", None, "Ignore orders created before this date (YYYY-MM-DD)",
                example="2026-01-01", check=_check_start_date),
            Key("number_prefix", "str", "", "Prefix of the external document number (WooCommerce order no.)"),
            Key("prices_include_tax", "bool", False,
                "Gross line prices (VAT companies only; US Sales Tax refuses it)"),
            Key("shipping_account", "str", None, "G/L account for shipping charges (or shipping_item)",
                example="6110"),
            Key("shipping_item", "str", None, "Item number for shipping charges (or shipping_account)",
                example="SHIPPING"),
            Key("fee_account", "str", None, "G/L account for order fees", example="6120"),
            Key("rounding_account", "str", None, "G/L account for rounding differences", example="6130"),
            Key("total_tolerance", "decimal", Decimal("0.01"),
                "Largest accepted difference between the WooCommerce and BC totals", minimum=0),
            Key("guest_customer", "str", None, "BC customer number used for guest orders", example="GUEST"),
            Key("customer_template", "strdict", {}, "Fields given to customers created in BC",
                example={"customerPostingGroup": "DOMESTIC"}),
            Key("add_note", "bool", True, "Add an order note naming the BC document"),
            Key("max_attempts", "int", 3, "Failures before an order is put on hold", minimum=1),
            Key("overlap_seconds", "int", 300, "Re-read window when polling modified orders", minimum=0),
            Key("batch_size", "int", 100, "Orders handled per batch", minimum=1, maximum=100),
            Key("local_currency", "str", None, "BC local currency code (orders in it are sent without one)",
                example="USD", check=_check_currency),
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
                example={"TAXABLE": "7.25", "REDUCED": "5"}, check=_check_tax_rates),
        ),
    ),
    "serve": (
        "`wcbc serve`: the webhook receiver (put it behind a reverse proxy on 443).",
        (
            Key("host", "str", "127.0.0.1", "Address to listen on", check=_check_nonempty),
            Key("port", "int", 8787, "Port to listen on", minimum=0, maximum=65535),
            Key("public_url", "str", None, "Public https URL of this receiver (for webhook registration)",
                example="https://wcbc.example.com", check=_check_web_url),
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
                example="https://hooks.example.com/wcbc", check=_check_web_url),
            Key("heartbeat_url", "str", None, "URL pinged (GET) after each successful run",
                example="https://hc.example.com/ping/wcbc", check=_check_web_url),
        ),
    ),
}

_REQUIRED_SECTIONS = ("woocommerce", "business_central")


# --------------------------------------------------------------------------- value checks


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def _coerce(spec: Key, value: Any, base_dir: Path) -> Any:
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Bad(f"must be true or false (got {_type_name(value)})")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"must be an integer (got {_type_name(value)})")
        out: Any = value
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(f"must be a number (got {_type_name(value)})")
        out = float(value)
        if out != out or out in (float("inf"), float("-inf")):
            raise _Bad("must be a finite number")
    elif kind == "decimal":
        out = _to_decimal(value)
    elif kind == "hours":
        out = _to_hours(value)
    elif kind in ("str", "path"):
        if not isinstance(value, str):
            raise _Bad(f"must be a string (got {_type_name(value)})")
        if kind == "path":
            if not value.strip():
                raise _Bad("must not be empty")
            p = Path(value).expanduser()
            return p if p.is_absolute() else base_dir / p
        out = value.strip()
    elif kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Bad(f"must be a list of strings (got {_type_name(value)})")
        items = tuple(v.strip() for v in value)
        if not items or any(not v for v in items):
            raise _Bad("must be a non-empty list of non-empty strings")
        out = items
    elif kind == "strdict":
        if not isinstance(value, dict):
            raise _Bad(f"must be a table of strings (got {_type_name(value)})")
        for k, v in value.items():
            if not isinstance(v, str):
                raise _Bad(f"value of {k!r} must be a string (got {_type_name(v)})")
        out = dict(value)
    else:  # pragma: no cover - schema error
        raise AssertionError(kind)
    if spec.minimum is not None and out < spec.minimum:
        raise _Bad(f"must be at least {spec.minimum:g} (got {out})")
    if spec.maximum is not None and out > spec.maximum:
        raise _Bad(f"must be at most {spec.maximum:g} (got {out})")
    if spec.check is not None:
        out = spec.check(out)
    return out


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Bad(f"must be a decimal number or a string such as \"0.01\" (got {_type_name(value)})")
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _Bad(f"must be a decimal number such as \"0.01\" (got {value!r})") from exc
    if not out.is_finite():
        raise _Bad("must be a finite decimal number")
    return out


def _to_hours(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("must be a duration such as \"24h\", \"90m\", \"2d\" or a number of hours")
    if isinstance(value, int | float):
        hours = float(value)
    elif isinstance(value, str) and (m := _DURATION_RE.match(value.lower())):
        hours = float(m.group(1)) * _DURATION_HOURS[m.group(2)]
    else:
        raise _Bad(f"must be a duration such as \"24h\", \"90m\", \"2d\" or a number of hours "
                   f"(got {value!r})")
    if not hours > 0 or hours == float("inf"):
        raise _Bad("must be a positive duration")
    return hours


def _check_url(key: str, value: str, allow_http: bool, file: str) -> str:
    """https, or http for a loopback host with the opt-in. The URL is echoed only when safe."""
    parts = urlsplit(value)
    if parts.username or parts.password:
        raise ConfigError("must not contain a user name or password (credentials go in the vault)",
                          file=file, key=key)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"must be an https URL such as https://shop.example.com (got {value!r})",
                          file=file, key=key)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"has an invalid port (got {value!r})", file=file, key=key) from exc
    if parts.query or parts.fragment:
        raise ConfigError(f"must not have a query or fragment (got {value!r})", file=file, key=key)
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise ConfigError(
                f"plain http is refused for {parts.hostname}: API keys would travel in clear "
                "(and WooCommerce ignores them over http); use https",
                file=file, key=key,
            )
        if not allow_http:
            raise ConfigError(
                "plain http is allowed only for a loopback test host and only with the opt-in",
                file=file, key=key,
                hint="set woocommerce.allow_http = true or pass --allow-http, or use https",
            )
    return value.rstrip("/")


# --------------------------------------------------------------------------- loading


def _read_toml(path: Path) -> dict[str, Any]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("no configuration file here", file=file,
                          hint="run `wcbc init` to write one, or pass --config") from exc
    except IsADirectoryError as exc:
        raise ConfigError("is a directory, not a configuration file", file=file) from exc
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=file) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("is not valid UTF-8 text", file=file) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=file) from exc


def load_config(path: Path | None = None, *, allow_http: bool = False) -> Config:
    """Read and check the configuration; raises ConfigError naming file and key.

    ``allow_http`` is the CLI opt-in (--allow-http); it has the same effect as
    ``woocommerce.allow_http = true`` and never allows http to a non-loopback host.
    """
    cfg_path = find_config_path(path)
    file = str(cfg_path)
    data = _read_toml(cfg_path)
    base_dir = cfg_path.absolute().parent

    for name, value in data.items():
        if name not in SCHEMA:
            if isinstance(value, dict):
                raise ConfigError(f"unknown section (known: {', '.join(SCHEMA)})", file=file, key=name)
            raise ConfigError("unknown top-level key: every key belongs in a [section]", file=file,
                              key=name)
        if not isinstance(value, dict):
            raise ConfigError(f"must be a [section] table (got {_type_name(value)})", file=file, key=name)

    values: dict[str, dict[str, Any]] = {}
    for section, (_, keys) in SCHEMA.items():
        table: dict[str, Any] = data.get(section, {})
        by_name: dict[str, Key] = {}
        for spec in keys:
            by_name[spec.name] = spec
            for alias in spec.aliases:
                by_name[alias] = spec
        for name in table:
            if name not in by_name:
                close = [k.name for k in keys if _similar(name, k.name)]
                names = ", ".join(k.name for k in keys)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {names}"
                raise ConfigError("unknown key", file=file, key=f"{section}.{name}", hint=hint)
        out: dict[str, Any] = {}
        for spec in keys:
            present = [n for n in (spec.name, *spec.aliases) if n in table]
            dotted = f"{section}.{spec.name}"
            if len(present) > 1:
                raise ConfigError(f"is given twice (as {' and '.join(present)}); keep one",
                                  file=file, key=dotted)
            if not present:
                if spec.required:
                    raise ConfigError("is required but missing", file=file, key=dotted,
                                      hint=f"add it under [{section}]")
                out[spec.field or spec.name] = spec.default
                continue
            raw_value = table[present[0]]
            optional = spec.default is None and not spec.required
            if optional and isinstance(raw_value, str) and not raw_value.strip():
                out[spec.field or spec.name] = None  # "" means unset for optional keys
                continue
            try:
                out[spec.field or spec.name] = _coerce(spec, raw_value, base_dir)
            except _Bad as exc:
                raise ConfigError(str(exc), file=file, key=f"{section}.{present[0]}") from None
            if spec.required and spec.kind == "str" and not out[spec.field or spec.name]:
                raise ConfigError("must not be empty", file=file, key=dotted)
        values[section] = out

    opt_in = allow_http or bool(values["woocommerce"]["allow_http"])
    woo = values["woocommerce"]
    woo["url"] = _check_url("woocommerce.url", woo["url"], opt_in, file)
    woo["allow_http"] = opt_in
    bc = values["business_central"]
    for key in ("api_url", "authority_url"):
        bc[key] = _check_url(f"business_central.{key}", bc[key], opt_in, file)

    orders = values["orders"]
    if orders["shipping_account"] and orders["shipping_item"]:
        raise ConfigError("set shipping_account or shipping_item, not both", file=file,
                          key="orders.shipping_item")
    orders["statuses"] = tuple(orders["statuses"])
    orders["customer_template"] = dict(orders["customer_template"])

    tls = values["tls"]
    if tls["ca_bundle"] is not None and not tls["ca_bundle"].is_file():
        raise ConfigError(f"no CA bundle file at {tls['ca_bundle']}", file=file, key="tls.ca_bundle")

    state_path = values["state"]["path"] or default_state_path()
    vault_path = values["vault"]["path"] or default_vault_path(cfg_path.absolute())
    return Config(
        path=cfg_path.absolute(),
        woocommerce=WooConfig(**woo),
        business_central=BCConfig(**bc),
        state=StateConfig(path=state_path, journal_days=values["state"]["journal_days"]),
        tls=TLSConfig(**tls),
        orders=OrdersConfig(**orders),
        items=ItemsConfig(**values["items"]),
        serve=ServeConfig(**values["serve"]),
        alerts=AlertsConfig(**values["alerts"]),
        vault_path=vault_path,
    )


def _similar(a: str, b: str) -> bool:
    """A cheap typo detector: same letters give or take one, or one is a prefix of the other."""
    a, b = a.lower(), b.lower()
    if a.startswith(b) or b.startswith(a):
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    diff = sum(1 for x, y in zip(a, b, strict=False) if x != y)
    return diff <= 1 or sorted(a) == sorted(b)


# --------------------------------------------------------------------------- starter file


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _flatten(values: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key in SCHEMA and isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


def render_starter_config(values: dict[str, Any]) -> str:
    """The commented starter configuration written by `wcbc init`.

    ``values`` overrides defaults, as ``{"woocommerce.url": "https://..."}`` or
    ``{"woocommerce": {"url": "https://..."}}``. Required keys without a value get a placeholder;
    optional keys without a default are written commented out. Unknown keys raise ValueError.
    """
    flat = _flatten(values)
    known = {f"{s}.{k.name}" for s, (_, keys) in SCHEMA.items() for k in keys}
    known |= {f"{s}.{a}" for s, (_, keys) in SCHEMA.items() for k in keys for a in k.aliases}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
    lines = [
        "# wcbc configuration (TOML). Every key is shown with its default value.",
        "# Secrets are not kept here: use `wcbc credentials set <system>` or WCBC_* environment variables.",
        "# Paths may be relative to this file and may start with ~.",
    ]
    for section, (description, keys) in SCHEMA.items():
        lines += ["", f"# {description}", f"[{section}]"]
        for spec in keys:
            dotted = f"{section}.{spec.name}"
            alias_given = [f"{section}.{a}" for a in spec.aliases if f"{section}.{a}" in flat]
            given = dotted in flat or bool(alias_given)
            value = flat[dotted] if dotted in flat else (flat[alias_given[0]] if alias_given else None)
            lines.append(f"# {spec.comment}")
            if given and value is not None:
                if spec.kind == "hours" and isinstance(value, int | float) and not isinstance(value, bool):
                    value = _hours_text(float(value))
                lines.append(f"{spec.name} = {_toml_value(value)}")
            elif spec.required:
                lines.append(f"{spec.name} = {_toml_value(spec.example)}")
            elif spec.default is None:
                lines.append(f"# {spec.name} = {_toml_value(spec.example)}")
            elif spec.kind == "hours":
                lines.append(f"{spec.name} = {_toml_value(_hours_text(spec.default))}")
            elif spec.kind == "strdict" and not spec.default and spec.example:
                lines.append(f"{spec.name} = {{}}  # e.g. {_toml_value(spec.example)}")
            else:
                lines.append(f"{spec.name} = {_toml_value(spec.default)}")
    return "\n".join(lines) + "\n"


def _hours_text(hours: float) -> str:
    if hours == int(hours):
        return f"{int(hours)}h"
    minutes = hours * 60
    if minutes == int(minutes):
        return f"{int(minutes)}m"
    return f"{hours}h"


# --------------------------------------------------------------------------- writing


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + os.replace), mode 0600, parent dir 0700."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_config(path: Path, text: str, *, force: bool = False) -> None:
    """Write a configuration file (0600, atomically); refuses to overwrite unless ``force``."""
    path = Path(path).expanduser()
    if path.exists() and not force:
        raise ConfigError("already exists; not overwritten", file=str(path),
                          hint="pass --force to replace it")
    try:
        write_private_file(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot be written: {exc.strerror}", file=str(path)) from exc
