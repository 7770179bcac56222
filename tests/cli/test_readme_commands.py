"""README "Commands" documents every command and every option of the Typer app itself (the reverse of
tests/test_readme.py, which checks that what README shows exists)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from wcbc.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    return README.read_text().split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]


def long_options(command: Any) -> list[str]:
    found = []
    for param in command.params:
        if param.param_type_name == "option":  # typer vendors click: duck-typed
            names = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
            if names and names[0] != "--help":
                found.append(names[0])
    return found


def leaf_commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from leaf_commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def documented_paths(cell: str) -> set[str]:
    """Command paths named by the `wcbc ...` spans of a table cell ("credentials set/show" names two)."""
    paths: set[str] = set()
    for span in re.findall(r"`wcbc ([^`]*)`", cell):
        words: list[list[str]] = []
        for word in span.split():
            if word[0] in "[-<" or not re.fullmatch(r"[a-z][a-z/-]*", word):
                break
            words.append(word.split("/"))
        prefixes = [""]
        for alternatives in words:
            prefixes = [f"{p} {a}".strip() for p in prefixes for a in alternatives]
        paths.update(prefixes)
    return paths


def rows() -> dict[str, str]:
    """command path -> the README table row(s) documenting it."""
    found: dict[str, str] = {}
    for line in section().splitlines():
        if line.startswith("| `wcbc"):
            first = line.split(" | ")[0]
            for path in documented_paths(first):
                found[path] = found.get(path, "") + line
    return found


ROOT = typer.main.get_command(app)
COMMANDS = list(leaf_commands(ROOT))


def test_the_scan_sees_every_command() -> None:
    assert len(COMMANDS) >= 17
    assert documented_paths("`wcbc credentials set/show/rotate-key`") == {
        "credentials set", "credentials show", "credentials rotate-key"}
    assert documented_paths("`wcbc webhooks check [--repair]`") == {"webhooks check"}


@pytest.mark.parametrize("option", long_options(ROOT))
def test_every_global_option_is_documented(option: str) -> None:
    global_line = next(p for p in section().split("\n\n") if p.strip().startswith("Global options:"))
    assert f"`{option}" in global_line, f"README Commands: global option {option} is not documented"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_and_option_is_documented(path: str, command: Any) -> None:
    documented = rows()
    assert path in documented, f"README Commands has no row for `wcbc {path}`"
    for option in long_options(command):
        assert re.search(rf"{re.escape(option)}\b", documented[path]), (
            f"README Commands: `wcbc {path}` row does not mention {option}")
