"""`wcbc demo` is the quick start's main command: it must pass every one of its checks."""

from __future__ import annotations

import io

from rich.console import Console

from wcbc.ops.demo import run_demo


def test_demo_passes_every_check(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WCBC_CONFIG", raising=False)
    buffer = io.StringIO()
    code = run_demo(Console(file=buffer, width=120), tmp_path / "demo")
    text = buffer.getvalue()
    assert code == 0, text
    assert "checks passed" in text
    assert "✘" not in text
    assert "→ credit memo" in text  # a refund became a credit memo
    assert (tmp_path / "demo" / "state.db").exists()
