"""Reading a configuration file: every problem is a ConfigError naming the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wcbc.core.config import o2c
from wcbc.core.config.checks import Bad
from wcbc.core.config.coerce import coerce, type_name
from wcbc.core.config.model import (
    AlertsConfig,
    BCConfig,
    Config,
    ItemsConfig,
    OrdersConfig,
    ServeConfig,
    StateConfig,
    TLSConfig,
    WooConfig,
)
from wcbc.core.config.paths import default_state_path, default_vault_path, find_config_path, is_loopback_host
from wcbc.core.config.schema import SCHEMA, Key
from wcbc.core.errors import ConfigError


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
            raise ConfigError(f"must be a [section] table (got {type_name(value)})", file=file, key=name)

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
                out[spec.field or spec.name] = coerce(spec, raw_value, base_dir)
            except Bad as exc:
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
    orders["tax_codes"] = dict(orders["tax_codes"])
    orders["customer_templates"] = {str(k).upper(): dict(v) for k, v in orders["customer_templates"].items()}

    tls = values["tls"]
    if tls["ca_bundle"] is not None and not tls["ca_bundle"].is_file():
        raise ConfigError(f"no CA bundle file at {tls['ca_bundle']}", file=file, key="tls.ca_bundle")

    state_path = values["state"]["path"] or default_state_path()
    vault_path = values["vault"]["path"] or default_vault_path(cfg_path.absolute())
    return Config(
        path=cfg_path.absolute(),
        woocommerce=WooConfig(**woo),
        business_central=BCConfig(**bc),
        state=StateConfig(**{**values["state"], "path": state_path}),
        tls=TLSConfig(**tls),
        orders=OrdersConfig(**orders),
        items=ItemsConfig(**values["items"]),
        serve=ServeConfig(**values["serve"]),
        alerts=AlertsConfig(**values["alerts"]),
        vault_path=vault_path,
        **o2c.build(values),
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
