"""The README's "Layers" table, checked: a layer of wcbc/ never imports a layer below it in this list."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wcbc"
LAYERS = ["core", "adapters", "sync", "ops", "webhooks", "cli"]
# `wcbc demo` plays the whole story, serve included: the one operations module that starts the receiver.
ALLOWED = {("ops/demo.py", "webhooks")}


def imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "wcbc" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_no_layer_imports_a_higher_one() -> None:
    wrong = []
    for layer in LAYERS:
        for path in (PACKAGE / layer).rglob("*.py"):
            rel = path.relative_to(PACKAGE).as_posix()
            for dep in imported_layers(path):
                if dep in LAYERS and LAYERS.index(dep) > LAYERS.index(layer) and (rel, dep) not in ALLOWED:
                    wrong.append(f"{rel} imports wcbc.{dep}")
    assert wrong == []


def test_the_sandbox_imports_nothing_from_wcbc() -> None:
    wrong = [f"{p.relative_to(PACKAGE).as_posix()} imports wcbc.{dep}"
             for p in (PACKAGE / "sandbox").rglob("*.py") for dep in imported_layers(p) if dep != "sandbox"]
    assert wrong == []


def test_the_readme_lists_the_layers_in_this_order() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Layers"):readme.index("### The path of an order")]
    positions = [table.index(f"| `{layer}/` |") for layer in LAYERS]
    assert positions == sorted(positions)
