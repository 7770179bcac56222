"""README "Configuration" lists every key of every section of the config schema (docs tested like code)."""

import re
from pathlib import Path

from wcbc.core.config.schema import SCHEMA

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_config_key_is_in_the_readme_table() -> None:
    table = README[README.index("| section | keys |"):README.index("## Credentials")]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `\[([a-z_.]+)\]` \|.*$", table, re.M)}
    missing = [f"[{section}] {key.name}" for section, (_, keys) in SCHEMA.items()
               for key in keys if f"`{key.name}`" not in rows.get(section, "")]
    assert missing == []
