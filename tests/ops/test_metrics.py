"""wcbc.ops.metrics: the textfile-collector file, checked with an independent, strict exposition parser."""

from __future__ import annotations

import collections
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wcbc.core.state import State
from wcbc.ops.metrics import escape_label, record_run, write_metrics

# --------------------------------------------------------------------------- a strict little parser

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(\{{(.*)\}})? (\S+)$")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PAIR.match(text, pos)
        assert match, f"bad label syntax at {text[pos:]!r}"
        assert match.group(1) not in labels, "duplicate label"
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()
        if pos < len(text):
            assert text[pos] == ",", f"expected a comma in {text!r}"
            pos += 1
    return labels


@dataclass
class Family:
    type: str
    help: str
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


def parse(text: str) -> dict[str, Family]:
    """Prometheus text format 0.0.4 as node_exporter's textfile collector reads it (strictly)."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in helps
            helps[name] = help_text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge"), kind
            assert name not in families, f"TYPE {name} twice"
            assert name in helps, f"TYPE {name} without HELP"
            families[name] = Family(kind, helps[name])
            current = name
        else:
            assert not line.startswith("#") and line.strip(), f"unexpected line {line!r}"
            match = _SAMPLE.match(line)
            assert match, f"bad sample {line!r}"
            name, _, raw_labels, raw_value = match.groups()
            assert name == current, f"sample {name} outside its family"
            key = tuple(sorted(_labels(raw_labels or "").items()))
            assert key not in families[name].samples, f"duplicate series {line!r}"
            value = float(raw_value)
            families[name].samples[key] = value
            if families[name].type == "counter":
                assert name.endswith("_total") and value >= 0
    return families


def value(families: dict[str, Family], name: str, **labels: str) -> float:
    return families[name].samples[tuple(sorted(labels.items()))]


# --------------------------------------------------------------------------- helpers


def _write(path: Path, command: str = "sync-orders", outcome: str = "ok", **kw: Any) -> None:
    args: dict[str, Any] = {
        "counts": {"booked": 2, "failed": 1},
        "duration_s": 1.5,
        "calls": {"woocommerce": collections.Counter({"GET /orders": 3, "PUT /orders/{id}": 2}),
                  "business_central": collections.Counter({"POST /salesOrders": 2})},
        "retries": {"woocommerce": collections.Counter(), "business_central": collections.Counter({"x": 1})},
    }
    args.update(kw)
    write_metrics(path, command=command, outcome=outcome, **args)


# --------------------------------------------------------------------------- tests


def test_first_write_has_every_family_with_help_type_and_values(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path, subscription_expiry=1_900_000_000.0,
           extra={"inbox_backlog": {"woocommerce": 4, "business_central": 0}})
    fam = parse(path.read_text())
    assert set(fam) == {
        "wcbc_records_total", "wcbc_runs_total", "wcbc_api_calls_total", "wcbc_api_retries_total",
        "wcbc_run_duration_seconds", "wcbc_last_run_timestamp_seconds",
        "wcbc_bc_subscription_expiry_timestamp_seconds", "wcbc_inbox_backlog",
    }
    assert fam["wcbc_records_total"].type == "counter"
    assert fam["wcbc_run_duration_seconds"].type == "gauge"
    assert value(fam, "wcbc_records_total", command="sync-orders", outcome="booked") == 2
    assert value(fam, "wcbc_records_total", command="sync-orders", outcome="failed") == 1
    assert value(fam, "wcbc_runs_total", command="sync-orders", outcome="ok") == 1
    assert value(fam, "wcbc_api_calls_total", command="sync-orders", system="woocommerce") == 5
    assert value(fam, "wcbc_api_calls_total", command="sync-orders", system="business_central") == 2
    assert value(fam, "wcbc_api_retries_total", command="sync-orders", system="business_central") == 1
    assert value(fam, "wcbc_api_retries_total", command="sync-orders", system="woocommerce") == 0
    assert value(fam, "wcbc_run_duration_seconds", command="sync-orders") == 1.5
    assert value(fam, "wcbc_last_run_timestamp_seconds", command="sync-orders", outcome="ok") > 1.6e9
    assert value(fam, "wcbc_bc_subscription_expiry_timestamp_seconds") == 1_900_000_000
    assert value(fam, "wcbc_inbox_backlog", source="woocommerce") == 4


def test_file_is_world_readable_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path)
    _write(path, command="sync-items")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [".wcbc.prom.lock", "wcbc.prom"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".prom") and p.name != "wcbc.prom"]


def test_commands_keep_their_own_series_and_counters_accumulate(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path, command="sync-orders", duration_s=2.0)
    _write(path, command="sync-items", outcome="failed", counts={"updated": 7}, duration_s=9.25,
           calls={"woocommerce": collections.Counter({"POST /products/batch": 1})}, retries={})
    _write(path, command="sync-orders", outcome="ok", counts={"booked": 3, "unchanged": 5}, duration_s=0.5)
    fam = parse(path.read_text())
    assert value(fam, "wcbc_records_total", command="sync-orders", outcome="booked") == 5
    assert value(fam, "wcbc_records_total", command="sync-orders", outcome="failed") == 1
    assert value(fam, "wcbc_records_total", command="sync-orders", outcome="unchanged") == 5
    assert value(fam, "wcbc_records_total", command="sync-items", outcome="updated") == 7
    assert value(fam, "wcbc_runs_total", command="sync-orders", outcome="ok") == 2
    assert value(fam, "wcbc_runs_total", command="sync-items", outcome="failed") == 1
    assert value(fam, "wcbc_api_calls_total", command="sync-orders", system="woocommerce") == 10
    assert value(fam, "wcbc_api_calls_total", command="sync-items", system="woocommerce") == 1
    # gauges are replaced, per command
    assert value(fam, "wcbc_run_duration_seconds", command="sync-orders") == 0.5
    assert value(fam, "wcbc_run_duration_seconds", command="sync-items") == 9.25
    assert {dict(k)["outcome"] for k in fam["wcbc_last_run_timestamp_seconds"].samples
            if dict(k)["command"] == "sync-items"} == {"failed"}


def test_gauges_not_given_are_kept_from_earlier_runs(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path, command="renew-subscriptions", subscription_expiry=1_800_000_000.0,
           extra={"inbox_backlog": {"woocommerce": 2}})
    _write(path, command="sync-orders")
    fam = parse(path.read_text())
    assert value(fam, "wcbc_bc_subscription_expiry_timestamp_seconds") == 1_800_000_000
    assert value(fam, "wcbc_inbox_backlog", source="woocommerce") == 2
    _write(path, command="sync-orders", extra={"inbox_backlog": {"woocommerce": 0}})
    assert value(parse(path.read_text()), "wcbc_inbox_backlog", source="woocommerce") == 0


def test_non_integer_summary_values_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path, counts={"booked": 1, "webhooks_ok": True, "note": "x", "nested": {"a": 1}, "neg": -1})
    fam = parse(path.read_text())
    assert {dict(k)["outcome"] for k in fam["wcbc_records_total"].samples} == {"booked"}


@pytest.mark.parametrize("label", ['a"b', "back\\slash", "two\nlines", 'all \\ " \n', "é ünïcode"])
def test_label_values_are_escaped_and_round_trip(tmp_path: Path, label: str) -> None:
    path = tmp_path / "wcbc.prom"
    _write(path, command=label)
    _write(path, command=label)  # read back by wcbc itself, then merged
    fam = parse(path.read_text())
    assert value(fam, "wcbc_runs_total", command=label, outcome="ok") == 2
    assert "\n" not in escape_label(label)


def test_foreign_and_broken_lines_in_the_file_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    path.write_text('garbage line here\nother_metric{a="1"} 3\nwcbc_runs_total{command="x",outcome="ok"} 4\n'
                    'wcbc_runs_total{command="y" 1\n')
    _write(path, command="x")
    fam = parse(path.read_text())
    assert "other_metric" not in fam
    assert value(fam, "wcbc_runs_total", command="x", outcome="ok") == 5
    assert len(fam["wcbc_runs_total"].samples) == 1


def test_unknown_extra_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown extra"):
        _write(tmp_path / "wcbc.prom", extra={"queue": 1})
    assert not (tmp_path / "wcbc.prom").exists()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "wcbc.prom"
    errors: list[BaseException] = []

    def worker(command: str) -> None:
        try:
            for _ in range(15):
                _write(path, command=command, counts={"done": 1})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"cmd{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    fam = parse(path.read_text())
    for i in range(4):
        assert value(fam, "wcbc_records_total", command=f"cmd{i}", outcome="done") == 15


def test_missing_directory_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        _write(tmp_path / "nope" / "wcbc.prom")


# --------------------------------------------------------------------------- record_run (from a context)


@dataclass
class _Client:
    calls: collections.Counter[str]
    retries: collections.Counter[str]


class _Ctx:
    """Like wcbc.ops.context.Context: lazily built attributes live in the instance __dict__."""

    def __init__(self, state: State | None, **clients: Any) -> None:
        if state is not None:
            self.state = state
        for name, client in clients.items():
            setattr(self, name, client)

    @property
    def vault(self) -> Any:  # pragma: no cover - must never be touched
        raise AssertionError("record_run must not build anything")


def test_record_run_reads_built_clients_state_backlog_and_expiry(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    try:
        state.inbox_add("woocommerce", "order.created", "17", b"{}")
        state.subscription_put("sub1", "items", "https://x/webhooks/business-central",
                               "2030-01-02T03:04:05Z", None)
        ctx = _Ctx(state, woo=_Client(collections.Counter({"GET /orders": 4}), collections.Counter({"g": 2})))
        path = tmp_path / "wcbc.prom"
        assert record_run(ctx, path, command="sync-orders", outcome="ok",
                          summary={"booked": 1, "customers_created": 0}, duration_s=3.0)
    finally:
        state.close()
    fam = parse(path.read_text())
    assert value(fam, "wcbc_api_calls_total", command="sync-orders", system="woocommerce") == 4
    assert value(fam, "wcbc_api_retries_total", command="sync-orders", system="woocommerce") == 2
    assert not any(dict(k)["system"] == "business_central" for k in fam["wcbc_api_calls_total"].samples)
    assert value(fam, "wcbc_inbox_backlog", source="woocommerce") == 1
    assert value(fam, "wcbc_inbox_backlog", source="business_central") == 0
    assert value(fam, "wcbc_bc_subscription_expiry_timestamp_seconds") == 1893553445


def test_record_run_without_a_file_does_nothing_and_failures_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = _Ctx(None)
    assert record_run(ctx, None, command="x", outcome="ok", summary={}, duration_s=0) is False
    caplog.set_level("ERROR", logger="wcbc.metrics")
    bad = tmp_path / "missing-dir" / "wcbc.prom"
    assert record_run(ctx, bad, command="x", outcome="ok", summary={}, duration_s=0) is False
    assert "metrics not written" in caplog.text
    assert not os.path.exists(bad)
