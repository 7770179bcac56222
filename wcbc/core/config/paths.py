"""Where the configuration, state and vault live by default, and which hosts count as loopback."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

CONFIG_ENV_VAR = "WCBC_CONFIG"


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
