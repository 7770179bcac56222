"""Turning one TOML value into the type its key declares (with ranges), or raising Bad."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wcbc.core.config.checks import Bad, to_decimal, type_name
from wcbc.core.config.schema import Key

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_DURATION_HOURS = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0, "": 1.0, "d": 24.0}


def coerce(spec: Key, value: Any, base_dir: Path) -> Any:
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise Bad(f"must be true or false (got {type_name(value)})")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise Bad(f"must be an integer (got {type_name(value)})")
        out: Any = value
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"must be a number (got {type_name(value)})")
        out = float(value)
        if out != out or out in (float("inf"), float("-inf")):
            raise Bad("must be a finite number")
    elif kind == "decimal":
        out = to_decimal(value)
    elif kind == "hours":
        out = _to_hours(value)
    elif kind in ("str", "path"):
        if not isinstance(value, str):
            raise Bad(f"must be a string (got {type_name(value)})")
        if kind == "path":
            if not value.strip():
                raise Bad("must not be empty")
            p = Path(value).expanduser()
            return p if p.is_absolute() else base_dir / p
        out = value.strip()
    elif kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Bad(f"must be a list of strings (got {type_name(value)})")
        items = tuple(v.strip() for v in value)
        if not items or any(not v for v in items):
            raise Bad("must be a non-empty list of non-empty strings")
        out = items
    elif kind == "strdict":
        if not isinstance(value, dict):
            raise Bad(f"must be a table of strings (got {type_name(value)})")
        for k, v in value.items():
            if not isinstance(v, str):
                raise Bad(f"value of {k!r} must be a string (got {type_name(v)})")
        out = dict(value)
    elif kind == "tabledict":  # a table of tables of strings: [section.key.NAME] field = "value"
        if not isinstance(value, dict):
            raise Bad(f"must be a table of tables (got {type_name(value)})")
        out = {}
        for k, table in value.items():
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise Bad(f"{k!r} must be a table of strings")
            out[k] = dict(table)
    else:  # pragma: no cover - schema error
        raise AssertionError(kind)
    if spec.minimum is not None and out < spec.minimum:
        raise Bad(f"must be at least {spec.minimum:g} (got {out})")
    if spec.maximum is not None and out > spec.maximum:
        raise Bad(f"must be at most {spec.maximum:g} (got {out})")
    if spec.check is not None:
        out = spec.check(out)
    return out


def _to_hours(value: Any) -> float:
    if isinstance(value, bool):
        raise Bad("must be a duration such as \"24h\", \"90m\", \"2d\" or a number of hours")
    if isinstance(value, int | float):
        hours = float(value)
    elif isinstance(value, str) and (m := _DURATION_RE.match(value.lower())):
        hours = float(m.group(1)) * _DURATION_HOURS[m.group(2)]
    else:
        raise Bad(f"must be a duration such as \"24h\", \"90m\", \"2d\" or a number of hours "
                   f"(got {value!r})")
    if not hours > 0 or hours == float("inf"):
        raise Bad("must be a positive duration")
    return hours
