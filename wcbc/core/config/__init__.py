"""The configuration file: where it is, what it may hold, and the starter file `wcbc init` writes.

The file is TOML. Every section and key is declared once in :data:`SCHEMA`; that table drives
validation (types, ranges, required keys, unknown keys) and :func:`render_starter_config`, so the
example file and the validator cannot drift apart.

Every problem is a :class:`~wcbc.core.errors.ConfigError` naming the file, the key and what is wrong;
:func:`load_config` builds nothing until the whole file has been checked. Secrets never live here:
they are in the vault (see :mod:`wcbc.core.vault`) or in environment variables.
"""

from wcbc.core.config.load import load_config
from wcbc.core.config.model import (
    COPY_WINDOW_HOURS,
    ON_COPY_CHOICES,
    ORDER_TARGETS,
    WOO_CONCURRENCY,
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
from wcbc.core.config.paths import (
    CONFIG_ENV_VAR,
    default_state_path,
    default_vault_path,
    find_config_path,
    is_loopback_host,
    user_config_dir,
)
from wcbc.core.config.schema import SCHEMA, Key
from wcbc.core.config.starter import render_starter_config, write_config
from wcbc.core.files import write_private_file

__all__ = [
    "CONFIG_ENV_VAR", "COPY_WINDOW_HOURS", "ON_COPY_CHOICES", "ORDER_TARGETS", "SCHEMA", "WOO_CONCURRENCY",
    "AlertsConfig", "BCConfig", "Config", "ItemsConfig", "Key", "OrdersConfig", "ServeConfig", "StateConfig",
    "TLSConfig", "WooConfig", "default_state_path", "default_vault_path", "find_config_path",
    "is_loopback_host", "load_config", "render_starter_config", "user_config_dir", "write_config",
    "write_private_file",
]
