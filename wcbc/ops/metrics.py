"""Run metrics for Prometheus, written as a file for node_exporter's textfile collector.

``wcbc --metrics-file /var/lib/node_exporter/textfile_collector/wcbc.prom <command>`` rewrites that file
after each run. Every command merges its series into the file instead of replacing it, so the file
always holds the latest state of every command:

=================================================  =======  ==========================================
metric                                              type     meaning
=================================================  =======  ==========================================
``wcbc_records_total{command,outcome}``             counter  records handled (booked, failed, ...)
``wcbc_runs_total{command,outcome}``                counter  runs finished (ok, failed, error)
``wcbc_api_calls_total{command,system}``            counter  HTTP requests sent to each system
``wcbc_api_retries_total{command,system}``          counter  of which retried (429, 5xx, dropped)
``wcbc_run_duration_seconds{command}``              gauge    duration of the command's last run
``wcbc_last_run_timestamp_seconds{command,outcome}`` gauge   when a run last ended with that outcome
``wcbc_bc_subscription_expiry_timestamp_seconds``   gauge    earliest BC webhook subscription expiry
``wcbc_inbox_backlog{source}``                      gauge    webhook deliveries not yet processed
=================================================  =======  ==========================================

Counters are cumulative across runs (the values read back from the file plus this run's), so
``increase(wcbc_records_total{outcome="failed"}[1h])`` works; deleting the file is an ordinary counter
reset. ``sum by (system) (wcbc_api_calls_total)`` gives the calls per system over all commands.

The file is written atomically (a temporary file in the same directory, then ``os.replace``), 0644 so
that node_exporter can read it, under an ``flock`` on a hidden ``.<name>.lock`` file beside it so that
two commands finishing together cannot lose each other's series. node_exporter reads only ``*.prom``
files, so neither the lock nor the temporary file is ever collected. No timestamps are written (the
textfile collector refuses them).
"""

from __future__ import annotations

import collections
import fcntl
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("wcbc.metrics")

LabelSet = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, LabelSet]

# name -> (type, help, label names); the order here is the order in the file
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "wcbc_records_total": (
        "counter", "Records handled by wcbc runs, by command and record outcome.", ("command", "outcome")),
    "wcbc_runs_total": (
        "counter", "wcbc runs finished, by command and run outcome (ok, failed, error).",
        ("command", "outcome")),
    "wcbc_api_calls_total": (
        "counter", "HTTP requests sent to a remote system, by command and system.", ("command", "system")),
    "wcbc_api_retries_total": (
        "counter", "HTTP requests retried (429, 5xx, broken connections), by command and system.",
        ("command", "system")),
    "wcbc_run_duration_seconds": (
        "gauge", "Duration of the last run of each command in seconds.", ("command",)),
    "wcbc_last_run_timestamp_seconds": (
        "gauge", "Unix time at which the last run of each command with each outcome finished.",
        ("command", "outcome")),
    "wcbc_bc_subscription_expiry_timestamp_seconds": (
        "gauge", "Unix time at which the earliest Business Central webhook subscription expires.", ()),
    "wcbc_inbox_backlog": (
        "gauge", "Webhook deliveries stored by wcbc serve and not yet processed, by source.", ("source",)),
}

_SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)\s*$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


# --------------------------------------------------------------------------- text format


def escape_label(value: str) -> str:
    """A label value as the exposition format wants it: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape_label(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
    return "".join(out)


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _parse_value(text: str) -> float:
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(text) or float(text)


def parse_series(text: str) -> dict[SeriesKey, float]:
    """The samples of a file this module wrote (comments skipped; lines that do not parse are dropped)."""
    series: dict[SeriesKey, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SERIES_RE.match(line)
        if not match:
            log.warning("metrics file: ignoring a line that does not parse: %.120s", line)
            continue
        name, raw_labels, raw_value = match.groups()
        labels: list[tuple[str, str]] = []
        rest = raw_labels or ""
        while rest.strip():
            label = _LABEL_RE.match(rest)
            if not label:
                break
            labels.append((label.group(1), _unescape_label(label.group(2))))
            rest = rest[label.end():]
        try:
            value = _parse_value(raw_value)
        except ValueError:
            log.warning("metrics file: ignoring a sample with a bad value: %.120s", line)
            continue
        if rest.strip():
            log.warning("metrics file: ignoring a line with bad labels: %.120s", line)
            continue
        series[(name, tuple(sorted(labels)))] = value
    return series


def render(series: Mapping[SeriesKey, float]) -> str:
    """Exposition text (HELP and TYPE once per known metric, then its samples in a stable order)."""
    by_name: dict[str, list[tuple[LabelSet, float]]] = collections.defaultdict(list)
    for (name, labels), value in series.items():
        by_name[name].append((labels, value))
    lines: list[str] = []
    for name, (kind, help_text, _label_names) in METRICS.items():
        samples = by_name.get(name)
        if not samples:
            continue
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in sorted(samples, key=lambda s: s[0]):
            rendered = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels)
            lines.append(f"{name}{{{rendered}}} {format_value(value)}" if rendered
                         else f"{name} {format_value(value)}")
    return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------- merging


def _key(name: str, **labels: str) -> SeriesKey:
    expected = METRICS[name][2]
    if tuple(sorted(labels)) != tuple(sorted(expected)):
        raise ValueError(f"{name} takes labels {expected}, got {tuple(labels)}")
    return name, tuple(sorted(labels.items()))


def _count_items(counts: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """Only integer counts (a run summary may also hold booleans, strings or nested data)."""
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            continue
        yield str(key), value


def _total(counter: Mapping[str, int]) -> int:
    return sum(v for v in counter.values() if isinstance(v, int) and not isinstance(v, bool))


def merge(
    existing: Mapping[SeriesKey, float],
    *,
    command: str,
    outcome: str,
    counts: Mapping[str, Any],
    duration_s: float,
    calls: Mapping[str, Mapping[str, int]],
    retries: Mapping[str, Mapping[str, int]],
    subscription_expiry: float | None = None,
    extra: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> dict[SeriesKey, float]:
    """``existing`` (known metrics only) with this run added: counters summed, gauges replaced."""
    series = {key: value for key, value in existing.items() if key[0] in METRICS}

    def add(key: SeriesKey, value: float) -> None:
        series[key] = series.get(key, 0.0) + value

    for record_outcome, value in _count_items(counts):
        add(_key("wcbc_records_total", command=command, outcome=record_outcome), value)
    add(_key("wcbc_runs_total", command=command, outcome=outcome), 1)
    for system in sorted(set(calls) | set(retries)):
        add(_key("wcbc_api_calls_total", command=command, system=system), _total(calls.get(system, {})))
        add(_key("wcbc_api_retries_total", command=command, system=system), _total(retries.get(system, {})))
    series[_key("wcbc_run_duration_seconds", command=command)] = round(max(0.0, float(duration_s)), 3)
    series[_key("wcbc_last_run_timestamp_seconds", command=command, outcome=outcome)] = round(
        time.time() if now is None else now, 3)
    if subscription_expiry is not None:
        series[_key("wcbc_bc_subscription_expiry_timestamp_seconds")] = round(float(subscription_expiry), 3)
    for name, value in (extra or {}).items():
        if name == "inbox_backlog":
            for source, backlog in dict(value).items():
                series[_key("wcbc_inbox_backlog", source=str(source))] = float(backlog)
        else:
            raise ValueError(f"unknown extra metric {name!r} (known: inbox_backlog)")
    return series


# --------------------------------------------------------------------------- the file


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def write_metrics(
    path: Path,
    *,
    command: str,
    outcome: str,
    counts: dict[str, int],
    duration_s: float,
    calls: dict[str, collections.Counter[str]],
    retries: dict[str, collections.Counter[str]],
    subscription_expiry: float | None = None,
    extra: dict | None = None,
) -> None:
    """Merge one run into the textfile-collector file at ``path`` (atomically; raises OSError).

    ``counts`` maps a record outcome to a count (non-integer values are ignored, so a run summary can be
    passed as is); ``calls``/``retries`` map a system ("woocommerce", "business_central", "entra") to the
    client's Counter; ``subscription_expiry`` is a Unix time; ``extra`` may hold
    ``{"inbox_backlog": {"woocommerce": n, "business_central": m}}``.
    """
    path = Path(path)
    with _file_lock(path):
        try:
            existing = parse_series(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            existing = {}
        series = merge(existing, command=command, outcome=outcome, counts=counts, duration_s=duration_s,
                       calls=calls, retries=retries, subscription_expiry=subscription_expiry, extra=extra)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(render(series))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------- from a command run


def _expiry_timestamp(subscriptions: list[dict]) -> float | None:
    from wcbc.core.time import parse

    moments = (parse(sub.get("expiration")) for sub in subscriptions)
    stamps = [moment.timestamp() for moment in moments if moment]
    return min(stamps) if stamps else None


Counters = dict[str, collections.Counter[str]]


def api_counters(ctx: Any) -> tuple[Counters, Counters]:
    """Copies of (calls, retries) per system of the clients ``ctx`` has built so far (none is built here)."""
    built = getattr(ctx, "__dict__", {})
    calls: Counters = {}
    retries: Counters = {}
    for attr, system in (("woo", "woocommerce"), ("bc", "business_central")):
        client = built.get(attr)
        if client is not None:
            calls[system] = collections.Counter(getattr(client, "calls", {}))
            retries[system] = collections.Counter(getattr(client, "retries", {}))
    tokens = built.get("tokens")
    if tokens is not None:
        calls["entra"] = collections.Counter(getattr(tokens, "calls", {}))
        retries["entra"] = collections.Counter(getattr(tokens, "retries", {}))
    return calls, retries


def _since(now: Counters, before: Counters) -> Counters:
    return {system: counter - before.get(system, collections.Counter()) for system, counter in now.items()}


def record_run(
    ctx: Any,
    metrics_file: Path | None,
    *,
    command: str,
    outcome: str,
    summary: Mapping[str, Any],
    duration_s: float,
    state: Any = None,
    baseline: tuple[Counters, Counters] | None = None,
) -> bool:
    """Write a finished run's metrics, taking calls, retries, backlog and expiry from ``ctx``.

    ``state`` is the run's State when it is not ``ctx.state`` (the serve worker's own connection).
    ``baseline`` is :func:`api_counters` at the run's start: a long-lived process (serve) keeps its
    clients, so only the calls made since then are this run's.

    Only clients the run actually built are read (``ctx.woo``/``ctx.bc``/``ctx.tokens`` are lazy and are
    never built here). Returns True when written; a failure is logged at ERROR and never raised: metrics
    must not turn a good run into a failed one.
    """
    if metrics_file is None:
        return False
    try:
        built = vars(ctx)
        calls, retries = api_counters(ctx)
        if baseline is not None:
            calls, retries = _since(calls, baseline[0]), _since(retries, baseline[1])
        expiry: float | None = None
        extra: dict[str, Any] | None = None
        state = built.get("state") if state is None else state
        if state is not None:
            expiry = _expiry_timestamp(state.subscriptions())
            extra = {"inbox_backlog": {source: state.inbox_backlog(source)
                                       for source in ("woocommerce", "business_central")}}
        write_metrics(Path(metrics_file), command=command, outcome=outcome, counts=dict(summary),
                      duration_s=duration_s, calls=calls, retries=retries, subscription_expiry=expiry,
                      extra=extra)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.error("metrics not written to %s: %s: %s", metrics_file, type(exc).__name__, exc)
        return False
    return True
