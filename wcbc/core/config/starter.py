"""The commented starter configuration `wcbc init` writes (from SCHEMA), and writing it to disk."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from wcbc.core.config.schema import SCHEMA
from wcbc.core.errors import ConfigError
from wcbc.core.files import write_private_file


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
            elif spec.kind in ("strdict", "tabledict") and not spec.default and spec.example:
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
