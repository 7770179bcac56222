"""Every HTTP request wcbc sends goes through wcbc.adapters.http.HttpClient (the sandbox excepted: it is
the other side)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "wcbc"
SENDING = {"get", "post", "put", "patch", "delete", "head", "options", "request", "Session", "session"}
LOW_LEVEL = {"urllib.request", "http.client", "httpx", "urllib3", "aiohttp"}


def direct_http(path: Path) -> list[str]:
    """``requests.post`` & co. (called or passed around), ``requests.Session()``, the ``requests`` module
    itself used as a value (``session or requests``), and lower-level HTTP libraries."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "requests":
            parent = parents.get(node)
            if not isinstance(parent, ast.Attribute):
                found.append(f"line {node.lineno}: the requests module as a value")
            elif parent.attr in SENDING - {"Session"}:
                found.append(f"line {node.lineno}: requests.{parent.attr}")
            elif parent.attr == "Session" and isinstance(parents.get(parent), ast.Call):
                found.append(f"line {node.lineno}: requests.Session()")
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name in LOW_LEVEL]
        if isinstance(node, ast.ImportFrom) and node.module in LOW_LEVEL:
            found.append(f"line {node.lineno}: from {node.module} import ...")
    return found


def test_only_the_http_adapter_sends_requests() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): hits
        for path in PACKAGE.rglob("*.py")
        if not path.is_relative_to(PACKAGE / "sandbox")
        and not path.is_relative_to(PACKAGE / "adapters" / "http")
        and (hits := direct_http(path))
    }
    assert offenders == {}


def test_the_scan_sees_a_direct_call(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import requests\nimport http.client\nrequests.post('https://x', json={})\n"
                      "send = (get or requests.post)\nposter = session or requests\n"
                      "def f(s: requests.Session) -> None: ...\n")
    assert len(direct_http(sample)) == 4
    assert direct_http(PACKAGE / "adapters" / "http" / "client.py") != []  # the one place that may
