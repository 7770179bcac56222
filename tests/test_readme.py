"""README.md is tested like code: every `wcbc …` command it shows is a real command with real options,
and the go-live sequence it describes runs against the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from tests.e2e.conftest import E2E
from wcbc.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def shown_commands() -> list[str]:
    """Every `wcbc …` invocation in README: inline code spans and lines of code blocks."""
    text = README.read_text()
    found: list[str] = []
    in_block = False
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            line = pending + line.split("#", 1)[0].rstrip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            words = line.split()
            shell_function = "()" in line  # the README's `wcbc() { … }` helper defines, not calls
            if (
                words
                and not shell_function
                and (words[0] == "wcbc" or any(w.endswith("/bin/wcbc") for w in words))
            ):
                found.append(line.strip())
        else:
            found.extend(span for span in re.findall(r"`([^`]+)`", line) if re.match(r"wcbc\s+[a-z-]", span))
    return found


def check(command: str) -> None:
    words = command.replace("…", "").replace('"', "").split()
    while words and not (words[0] == "wcbc" or words[0].endswith("/bin/wcbc")):
        words.pop(0)
    assert words, command
    words.pop(0)
    group = typer.main.get_command(app)
    node = group
    while words:
        word = words.pop(0)
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            params = {opt: p for p in node.params for opt in (*p.opts, *p.secondary_opts)}
            assert name in params, f"README shows `{command}`: `wcbc {node.name}` has no option {name}"
            param = params[name]
            if not getattr(param, "is_flag", False) and "=" not in word and words:
                words.pop(0)  # the option's value
            continue
        commands = getattr(node, "commands", None)
        if commands is None:
            break  # arguments of a leaf command
        if word in ("|", "/", "or"):
            break
        choices = word.split("/")  # "set/show/rotate-key": each alternative must exist
        for choice in choices:
            assert choice in commands, f"README shows `{command}`: no command {choice!r} under `{node.name}`"
        node = commands[choices[0]]


def test_readme_shows_commands_at_all() -> None:
    assert len(shown_commands()) > 40


@pytest.mark.parametrize("command", sorted(set(shown_commands())))
def test_every_command_shown_in_readme_exists(command: str) -> None:
    check(command)


def test_go_live_checklist_runs_against_the_sandbox(e2e: E2E) -> None:
    """README "Go-live checklist": doctor, dry runs, the first real runs, then status."""
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    order = e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "MUG-001", "quantity": 1}])
    assert e2e.cli("doctor")[0] == 0
    code, out, _ = e2e.cli("sync-orders", "--dry-run")
    assert code == 0 and "MUG-001" in out
    assert e2e.cli("reconcile", "--dry-run")[0] == 0
    assert e2e.cli("reconcile")[0] == 0
    assert e2e.cli("sync-orders")[0] == 0
    assert e2e.cli("sync-items")[0] == 0
    assert e2e.cli("reconcile", "--orders", "--since", "2020-01-01")[0] == 0
    code, out, _ = e2e.cli("--json", "status")
    assert code == 0
    assert json.loads(out)["records"]["done"] >= 1
    code, out, _ = e2e.cli("audit", f"order:{order['id']}")
    assert code == 0 and "result" in out
    assert e2e.cli("failures")[0] == 0
    assert e2e.cli("replay", "--failed")[0] == 0
    assert e2e.cli("credentials", "show")[0] == 0
