"""Every `wcbc <command>` that a hint, a message or a docstring in the code names is a real command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
import typer

from wcbc.cli.app import app

PACKAGE = Path(__file__).resolve().parents[2] / "wcbc"
REFERENCE = re.compile(r"\bwcbc ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)")
# Words that follow "wcbc" in prose ("wcbc runs finished", "not a wcbc vault file"): not command names.
# Any other word after "wcbc" in a string of the code must be a command.
PROSE = frozenset({
    "always", "are", "cannot", "configuration", "does", "error", "handler", "install", "knows", "lists",
    "needs", "never", "outside", "process", "reads", "refuses", "runs", "sends", "state", "under", "upgrades",
    "vault",
})


def named_commands(text: str) -> list[str]:
    return [m.group(1) for m in REFERENCE.finditer(text) if m.group(1).split()[0] not in PROSE]


def references() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for line in node.value.splitlines():
                    found += [(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}", c)
                              for c in named_commands(line.strip())]
    return found


def missing(words: str) -> str | None:
    """None when ``wcbc <words>`` names a command (arguments after a leaf command are ignored)."""
    node: click.Command = typer.main.get_command(app)
    for word in words.split():
        commands = getattr(node, "commands", None)
        if commands is None:
            return None
        if word not in commands:
            return f"no command {word!r} under `wcbc {node.name if node.name != 'wcbc' else ''}`"
        node = commands[word]
    return None


def test_the_scan_finds_the_references_and_catches_a_wrong_one() -> None:
    refs = references()
    assert len(refs) > 30
    assert {"serve", "credentials set woocommerce", "renew-subscriptions"} <= {c for _, c in refs}
    assert named_commands("hint: `wcbc setup` generates one") == ["setup"]
    assert missing("setup") is not None
    assert missing("credentials frobnicate") is not None
    assert named_commands("the vault is damaged (not a wcbc vault file)") == []


@pytest.mark.parametrize(("where", "command"), references(), ids=lambda v: str(v))
def test_every_command_named_in_the_code_exists(where: str, command: str) -> None:
    assert missing(command) is None, f"{where} names `wcbc {command}`: {missing(command)}"
