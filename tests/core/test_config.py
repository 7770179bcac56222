"""wcbc.core.config: locating, validating and writing the configuration file."""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from wcbc.core import config as cfgmod
from wcbc.core.config import (
    SCHEMA,
    Config,
    find_config_path,
    is_loopback_host,
    load_config,
    render_starter_config,
    write_config,
)
from wcbc.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
[woocommerce]
url = "https://shop.example.com/"

[business_central]
tenant_id = "8c4b2f9e-1a2b-4c3d-9e8f-0123456789ab"
environment = "Production"
company_id = "f03f6225-081c-ec11-bb77-000d3abcf3e1"
client_id = "11111111-2222-3333-4444-555555555555"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def with_extra(extra: str, base: str = MINIMAL) -> str:
    return base + "\n" + extra + "\n"


def error_for(tmp_path: Path, text: str, **kwargs: object) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert err.exit_code == 2
    assert err.file == str(path)
    assert str(path) in str(err)
    return err


# --------------------------------------------------------------------------- defaults


def test_minimal_config_gets_every_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    cfg = load_config(write(tmp_path, MINIMAL))
    assert isinstance(cfg, Config)
    assert cfg.woocommerce.url == "https://shop.example.com"  # trailing slash dropped
    assert cfg.woocommerce.allow_http is False
    assert cfg.woocommerce.timeout == 30.0 and cfg.woocommerce.per_page == 100
    assert cfg.woocommerce.time_zone == "UTC" and cfg.woocommerce.decimals == 2
    assert cfg.business_central.api_url == "https://api.businesscentral.dynamics.com"
    assert cfg.business_central.authority_url == "https://login.microsoftonline.com"
    assert cfg.business_central.max_concurrency == 5
    assert cfg.business_central.requests_per_5min == 6000
    assert cfg.business_central.page_size == 20000
    assert cfg.state.path == tmp_path / "xdg-state" / "wcbc" / "wcbc.db"
    assert cfg.state.journal_days == 90
    assert cfg.vault_path == tmp_path / "vault.bin"
    assert cfg.orders.target == "sales_order"
    assert cfg.orders.statuses == ("processing", "completed")
    assert cfg.orders.total_tolerance == Decimal("0.01")
    assert cfg.orders.customer_template == {}
    assert cfg.orders.shipping_account is None and cfg.orders.shipping_item is None
    assert cfg.items.tax_rate is None and cfg.items.hold_unbooked is True
    assert cfg.serve.port == 8787 and cfg.serve.renew_before_hours == 24.0
    assert cfg.alerts.smtp_port == 587
    assert cfg.tls.ca_bundle is None
    assert cfg.path == tmp_path / "config.toml"


def test_state_default_without_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.state.path == tmp_path / "home" / ".local" / "state" / "wcbc" / "wcbc.db"


def test_values_are_read_and_paths_resolved(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    text = with_extra(
        """
[state]
path = "data/wcbc.db"
journal_days = 30
[vault]
path = "/srv/secret/vault.bin"
[tls]
ca_bundle = "ca.pem"
[orders]
target = "posted_invoice"
statuses = ["completed"]
shipping_item = "SHIP"
total_tolerance = 0.05
start_date = "2026-01-31"
local_currency = "usd"
[orders.customer_template]
customerPostingGroup = "DOMESTIC"
[items]
tax_rate = "7.25"
mapping_file = "items.csv"
[serve]
renew_before = "90m"
public_url = "https://hooks.example.com/wcbc"
"""
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.state.path == tmp_path / "data" / "wcbc.db"
    assert cfg.state.journal_days == 30
    assert cfg.vault_path == Path("/srv/secret/vault.bin")
    assert cfg.tls.ca_bundle == tmp_path / "ca.pem"
    assert cfg.verify() == str(tmp_path / "ca.pem")
    assert cfg.orders.target == "posted_invoice"
    assert cfg.orders.statuses == ("completed",)
    assert cfg.orders.shipping_item == "SHIP"
    assert cfg.orders.total_tolerance == Decimal("0.05")
    assert cfg.orders.start_date == "2026-01-31"
    assert cfg.orders.local_currency == "USD"
    assert cfg.orders.customer_template == {"customerPostingGroup": "DOMESTIC"}
    assert cfg.items.tax_rate == Decimal("7.25")
    assert cfg.items.mapping_file == tmp_path / "items.csv"
    assert cfg.serve.renew_before_hours == 1.5


@pytest.mark.parametrize(
    ("value", "hours"),
    [('"24h"', 24.0), ('"2d"', 48.0), ('"90m"', 1.5), ("12", 12.0), ("0.5", 0.5), ('"3600s"', 1.0)],
)
def test_renew_before_forms(tmp_path: Path, value: str, hours: float) -> None:
    cfg = load_config(write(tmp_path, with_extra(f"[serve]\nrenew_before = {value}")))
    assert cfg.serve.renew_before_hours == hours


def test_renew_before_hours_alias(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, with_extra("[serve]\nrenew_before_hours = 6")))
    assert cfg.serve.renew_before_hours == 6.0
    err = error_for(tmp_path, with_extra('[serve]\nrenew_before_hours = 6\nrenew_before = "2h"'))
    assert err.key == "serve.renew_before"


def test_verify_falls_back_to_env_then_true(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    assert cfg.verify() is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/custom.pem")
    assert cfg.verify() == "/etc/custom.pem"


def test_optional_empty_string_means_unset(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, with_extra('[orders]\nshipping_account = ""')))
    assert cfg.orders.shipping_account is None


# --------------------------------------------------------------------------- locating


def test_find_config_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WCBC_CONFIG", str(tmp_path / "env.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_config_path(tmp_path / "explicit.toml") == tmp_path / "explicit.toml"
    assert find_config_path(None) == tmp_path / "env.toml"
    monkeypatch.delenv("WCBC_CONFIG")
    assert find_config_path(None) == tmp_path / "xdg" / "wcbc" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_config_path(None) == tmp_path / "home" / ".config" / "wcbc" / "config.toml"


def test_load_config_uses_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL, "from-env.toml")
    monkeypatch.setenv("WCBC_CONFIG", str(path))
    assert load_config().path == path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    assert info.value.hint and "wcbc init" in info.value.hint


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    err = error_for(tmp_path, '[woocommerce]\nurl = "https://x.example"\ntimeout = = 3\n')
    assert "line 3" in str(err)


# --------------------------------------------------------------------------- errors name file + key


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[orders]\ntarget = \"sales_quote\"", "orders.target", "sales_order"),
        ("[orders]\nstatuses = \"processing\"", "orders.statuses", "list of strings"),
        ("[orders]\nstatuses = [1, 2]", "orders.statuses", "list of strings"),
        ("[orders]\nmax_attempts = \"3\"", "orders.max_attempts", "integer"),
        ("[orders]\nmax_attempts = true", "orders.max_attempts", "integer"),
        ("[orders]\nmax_attempts = 0", "orders.max_attempts", "at least 1"),
        ("[orders]\nadd_note = \"yes\"", "orders.add_note", "true or false"),
        ("[orders]\ntotal_tolerance = \"abc\"", "orders.total_tolerance", "decimal"),
        ("[orders]\ntotal_tolerance = \"-1\"", "orders.total_tolerance", "at least 0"),
        ("[orders]\nstart_date = \"31/01/2026\"", "orders.start_date", "ISO date"),
        ("[orders]\nshipping_account = \"6110\"\nshipping_item = \"SHIP\"", "orders.shipping_item",
         "not both"),
        ("[orders]\ncustomer_template = { a = 1 }", "orders.customer_template", "must be a string"),
        ("[orders]\nshiping_account = \"6110\"", "orders.shiping_account", "unknown key"),
        ("[serve]\nrenew_before = \"soon\"", "serve.renew_before", "duration"),
        ("[serve]\nrenew_before = \"0h\"", "serve.renew_before", "positive"),
        ("[serve]\nport = 70000", "serve.port", "at most 65535"),
        ("[serve]\npublic_url = \"ftp://x\"", "serve.public_url", "http(s) URL"),
        ("[woocommerce]\ntimeout = \"30\"", "woocommerce.timeout", "number"),
        ("[woocommerce]\nper_page = 101", "woocommerce.per_page", "at most 100"),
        ("[woocommerce]\ntime_zone = \"Mars/Olympus\"", "woocommerce.time_zone", "time zone"),
        ("[tls]\nca_bundle = \"missing.pem\"", "tls.ca_bundle", "no CA bundle"),
        ("[items]\ntax_rate = true", "items.tax_rate", "decimal"),
        ("[alerts]\nsmtp_port = 3.5", "alerts.smtp_port", "integer"),
        ("[metrics]\nport = 9", "metrics", "unknown section"),
        ("debug = true", "debug", "unknown top-level key"),
    ],
)
def test_each_error_names_file_and_key(tmp_path: Path, extra: str, key: str, words: str) -> None:
    if extra.startswith("[woocommerce]"):
        text = MINIMAL.replace('[woocommerce]\nurl = "https://shop.example.com/"',
                               '[woocommerce]\nurl = "https://shop.example.com/"\n' + extra.split("\n", 1)[1])
    elif extra.startswith("debug"):
        text = extra + "\n" + MINIMAL
    else:
        text = with_extra(extra)
    err = error_for(tmp_path, text)
    assert err.key == key
    assert key in str(err)
    assert words in str(err)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("tenant_id", "not a tenant", "GUID or its domain"),
        ("company_id", "CRONUS", "GUID"),
        ("environment", "Prod/../x", "environment name"),
        ("client_id", "  ", "must not be empty"),
    ],
)
def test_bc_identifiers(tmp_path: Path, field: str, value: str, words: str) -> None:
    lines = [ln if not ln.startswith(field + " ") else f'{field} = "{value}"' for ln in MINIMAL.splitlines()]
    err = error_for(tmp_path, "\n".join(lines))
    assert err.key == f"business_central.{field}"
    assert words in str(err)


def test_tenant_domain_is_accepted(tmp_path: Path) -> None:
    text = MINIMAL.replace('"8c4b2f9e-1a2b-4c3d-9e8f-0123456789ab"', '"contoso.onmicrosoft.com"')
    assert load_config(write(tmp_path, text)).business_central.tenant_id == "contoso.onmicrosoft.com"


@pytest.mark.parametrize("key", ["url"])
def test_required_key_missing(tmp_path: Path, key: str) -> None:
    err = error_for(tmp_path, MINIMAL.replace('url = "https://shop.example.com/"', ""))
    assert err.key == "woocommerce.url"
    assert "required" in str(err)


def test_required_section_missing(tmp_path: Path) -> None:
    text = MINIMAL.split("[business_central]")[0]
    err = error_for(tmp_path, text)
    assert err.key == "business_central.tenant_id"


def test_section_must_be_a_table(tmp_path: Path) -> None:
    err = error_for(tmp_path, 'orders = "x"\n' + MINIMAL)
    assert err.key == "orders"


def test_duplicate_section_is_a_toml_error(tmp_path: Path) -> None:
    err = error_for(tmp_path, with_extra("[woocommerce]\ntimeout = 3"))
    assert "TOML" in str(err) and "line" in str(err)


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    err = error_for(tmp_path, with_extra("[orders]\nshiping_account = \"6110\""))
    assert err.hint and "shipping_account" in err.hint


# --------------------------------------------------------------------------- http rules


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_http_loopback_needs_opt_in(tmp_path: Path, host: str) -> None:
    text = MINIMAL.replace("https://shop.example.com/", f"http://{host}:8080/shop")
    err = error_for(tmp_path, text)
    assert err.key == "woocommerce.url"
    assert err.hint and "allow_http" in err.hint
    # opt-in through the CLI flag
    cfg = load_config(write(tmp_path, text), allow_http=True)
    assert cfg.woocommerce.url == f"http://{host}:8080/shop"
    assert cfg.woocommerce.allow_http is True
    # opt-in through the config key
    text2 = text.replace("[woocommerce]", "[woocommerce]\nallow_http = true")
    assert load_config(write(tmp_path, text2)).woocommerce.allow_http is True


@pytest.mark.parametrize("host", ["shop.example.com", "10.0.0.5", "128.0.0.1", "localhost.example.com"])
def test_http_non_loopback_refused_even_with_opt_in(tmp_path: Path, host: str) -> None:
    text = MINIMAL.replace("https://shop.example.com/", f"http://{host}/").replace(
        "[woocommerce]", "[woocommerce]\nallow_http = true"
    )
    err = error_for(tmp_path, text, allow_http=True)
    assert err.key == "woocommerce.url"
    assert "refused" in str(err)


def test_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path) -> None:
    text = MINIMAL.replace("https://shop.example.com/", "https://ck_abc:cs_hunter2@shop.example.com/")
    err = error_for(tmp_path, text)
    assert err.key == "woocommerce.url"
    assert "cs_hunter2" not in str(err)


@pytest.mark.parametrize("bad", ["shop.example.com", "ftp://shop.example.com", "https://x.example/?a=1"])
def test_bad_urls(tmp_path: Path, bad: str) -> None:
    err = error_for(tmp_path, MINIMAL.replace("https://shop.example.com/", bad))
    assert err.key == "woocommerce.url"


def test_bc_urls_follow_the_same_rule(tmp_path: Path) -> None:
    err = error_for(tmp_path, MINIMAL.replace(
        'client_id = "11111111-2222-3333-4444-555555555555"',
        'client_id = "11111111-2222-3333-4444-555555555555"\napi_url = "http://bc.example.com"'))
    assert err.key == "business_central.api_url"


def test_is_loopback_host() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("LOCALHOST")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("example.com")
    assert not is_loopback_host(None)


# --------------------------------------------------------------------------- starter file


def test_schema_matches_dataclasses() -> None:
    classes = {
        "woocommerce": cfgmod.WooConfig, "business_central": cfgmod.BCConfig, "tls": cfgmod.TLSConfig,
        "orders": cfgmod.OrdersConfig, "items": cfgmod.ItemsConfig, "serve": cfgmod.ServeConfig,
        "alerts": cfgmod.AlertsConfig, "state": cfgmod.StateConfig,
    }
    for section, cls in classes.items():
        names = {k.field or k.name for k in SCHEMA[section][1]}
        assert names == {f.name for f in dataclasses.fields(cls)}, section
        for key in SCHEMA[section][1]:
            fld = next(f for f in dataclasses.fields(cls) if f.name == (key.field or key.name))
            if fld.default is not dataclasses.MISSING and section != "state":
                assert fld.default == key.default or (fld.default == tuple(key.default or ())), key.name


def test_example_file_is_the_rendered_starter() -> None:
    assert (REPO / "examples" / "config.toml").read_text() == render_starter_config({})


def test_starter_config_loads_and_documents_every_key(tmp_path: Path) -> None:
    text = render_starter_config({})
    for section, (_, keys) in SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"{key.name} = " in text, key.name
    cfg = load_config(write(tmp_path, text))
    assert cfg.orders.target == "sales_order"


def test_starter_config_with_values(tmp_path: Path) -> None:
    text = render_starter_config(
        {
            "woocommerce.url": "https://my.shop",
            "business_central": {"tenant_id": "contoso.onmicrosoft.com", "environment": "Sandbox"},
            "orders.statuses": ["completed"],
            "serve.renew_before_hours": 36,
            "orders.customer_template": {"customerPostingGroup": "EU"},
        }
    )
    parsed = tomllib.loads(text)
    assert parsed["woocommerce"]["url"] == "https://my.shop"
    assert parsed["business_central"]["environment"] == "Sandbox"
    cfg = load_config(write(tmp_path, text))
    assert cfg.orders.statuses == ("completed",)
    assert cfg.serve.renew_before_hours == 36.0
    assert cfg.orders.customer_template == {"customerPostingGroup": "EU"}
    with pytest.raises(ValueError, match="orders.nope"):
        render_starter_config({"orders.nope": 1})


def test_write_config_refuses_overwrite_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "config.toml"
    write_config(path, "a = 1\n")
    assert path.read_text() == "a = 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(ConfigError) as info:
        write_config(path, "b = 2\n")
    assert info.value.hint and "--force" in info.value.hint
    assert path.read_text() == "a = 1\n"
    write_config(path, "b = 2\n", force=True)
    assert path.read_text() == "b = 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp files left
    assert not os.access(path, os.X_OK)


def test_woocommerce_concurrency_has_one_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wcbc.core.config import WOO_CONCURRENCY, WooConfig

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    spec = next(k for k in SCHEMA["woocommerce"][1] if k.name == "concurrency")
    assert WOO_CONCURRENCY == 4 and spec.default == WOO_CONCURRENCY and spec.comment
    assert WooConfig(url="https://x.example").concurrency == WOO_CONCURRENCY
    assert load_config(write(tmp_path, MINIMAL)).woocommerce.concurrency == WOO_CONCURRENCY
    assert "`concurrency` (4)" in (REPO / "README.md").read_text()
    cfg = load_config(write(tmp_path, MINIMAL.replace("[woocommerce]\n", "[woocommerce]\nconcurrency = 2\n")))
    assert cfg.woocommerce.concurrency == 2


@pytest.mark.parametrize("value", ["2026-01-31", "2026-01-31T10:00:00Z", "2026-01-31T10:00:00.1234567+02:00"])
def test_start_date_accepts_every_iso_form(tmp_path: Path, value: str) -> None:
    cfg = load_config(write(tmp_path, MINIMAL + f'\n[orders]\nstart_date = "{value}"\n'))
    assert cfg.orders.start_date == value


def test_state_copy_keys(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.state.on_copy == "refuse" and cfg.state.copy_window_hours == 24.0
    cfg = load_config(write(tmp_path, MINIMAL + '\n[state]\non_copy = "warn"\ncopy_window = "90m"\n'))
    assert cfg.state.on_copy == "warn" and cfg.state.copy_window_hours == 1.5
    with pytest.raises(ConfigError, match=r"state\.on_copy.*refuse, warn"):
        load_config(write(tmp_path, MINIMAL + '\n[state]\non_copy = "ignore"\n'))
