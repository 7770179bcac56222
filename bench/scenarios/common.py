"""What every scenario shares: the sandbox environment (config, vault, state like the e2e tests build
it), request counters independent of the clients, and the measurement of one case (wall time, CPU, RSS).
"""

from __future__ import annotations

import collections
import logging
import os
import resource
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcbc.sandbox.stack import Sandbox

MASTER_KEY_ENV = "WCBC_MASTER_KEY"
# Secrets from the environment win over the vault: keep the caller's out of the benchmark.
SECRET_ENV = ("WCBC_CONFIG", "WCBC_WOO_CONSUMER_KEY", "WCBC_WOO_CONSUMER_SECRET", "WCBC_WOO_WEBHOOK_SECRET",
              "WCBC_BC_CLIENT_SECRET", "WCBC_BC_CLIENT_STATE")


@dataclass
class Options:
    """The knobs of one benchmark run (bench.run's command line)."""

    bc_latency: float = 0.150
    woo_latency: float = 0.250
    orders: int = 2000
    items: int = 20000
    notifications: int = 500
    deliveries: int = 3000
    senders: int = 16
    serve_workers: int = 4
    bc_rate: int = 6000
    bc_window: float = 300.0
    bc_concurrency: int = 5
    tracemalloc: bool = False
    profile: Path | None = None
    cases: tuple[str, ...] = ()  # empty: every case of the scenario
    sandbox_nodelay: bool = True  # runtime fix of the sandbox's 40 ms Nagle stall (see sandbox_tcp_nodelay)
    seed: int = 11


# ---------------------------------------------------------------------------- environment


class CountingApp:
    """Counts every HTTP request a sandbox app answers, by ``METHOD /path`` (ids folded), server side."""

    def __init__(self, app: Any, fold: Callable[[str], str]) -> None:
        self.app = app
        self.fold = fold
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._inner = app.handle

    def __call__(self, request: Any) -> Any:
        key = f"{request.method} {self.fold(request.path)}"
        with self._lock:
            self.counts[key] += 1
        return self._inner(request)

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(v for k, v in self.counts.items() if not prefix or prefix in k)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def _fold_woo(path: str) -> str:
    import re

    path = path.split("/wp-json/wc/v3", 1)[-1] or "/"
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


@dataclass
class Env:
    """One sandbox with a config file, a vault and a state DB pointing at it, and a wcbc Context."""

    sandbox: Sandbox
    directory: Path
    config_path: Path
    state_path: Path
    vault_path: Path
    woo_requests: CountingApp
    extra_config: str = ""
    _contexts: list[Any] = field(default_factory=list)

    @property
    def woo(self) -> Any:
        return self.sandbox.woo

    @property
    def bc(self) -> Any:
        return self.sandbox.bc

    def context(self) -> Any:
        from wcbc.ops.context import open_context

        ctx = open_context(self.config_path)
        self._contexts.append(ctx)
        return ctx

    def set_latency(self, bc: float, woo: float) -> None:
        self.sandbox.bc.faults.latency = bc
        self.sandbox.woo.faults.latency = woo

    def server_counts(self) -> dict[str, dict[str, int]]:
        """The sandbox's own request counters (BC's ``requests``; WooCommerce's counted at its door)."""
        return {"business_central": dict(self.sandbox.bc.requests),
                "woocommerce": self.woo_requests.snapshot()}

    def close(self) -> None:
        for ctx in self._contexts:
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - closing best effort
                logging.getLogger("bench").debug("closing a context failed", exc_info=True)
        self.sandbox.stop()


@contextmanager
def sandbox_tcp_nodelay(enabled: bool) -> Iterator[None]:
    """Set TCP_NODELAY on the sandbox servers' sockets while the servers are created.

    ``wcbc.sandbox.core.SandboxServer`` answers with http.server, which writes the headers and the body in
    two sends with Nagle's algorithm on; the client's delayed ACK then holds every response ~40 ms (47.7 ms
    per GET measured against 4.7 ms with TCP_NODELAY). A real BC or WooCommerce front end does not add that,
    so the benchmark patches the handler class at run time (the sandbox files are not edited). The fix in
    the sandbox: ``disable_nagle_algorithm = True`` on ``_Handler`` in ``core._make_handler``.
    """
    from wcbc.sandbox import core

    original = core._make_handler
    if enabled and not getattr(original, "_bench_nodelay", False):
        def patched(app: Any, scheme: str) -> Any:
            handler = original(app, scheme)
            handler.disable_nagle_algorithm = True
            return handler

        patched._bench_nodelay = True  # type: ignore[attr-defined]
        core._make_handler = patched  # type: ignore[assignment]
    try:
        yield
    finally:
        core._make_handler = original  # type: ignore[assignment]


@contextmanager
def environment(opts: Options, *, orders_config: str = "", directory: Path | None = None) -> Iterator[Env]:
    """A fresh sandbox (no sample data) with BC's real limits, and a config/vault/state for wcbc."""
    from wcbc.core.vault import Vault, generate_master_key

    saved = {name: os.environ.get(name) for name in (MASTER_KEY_ENV, *SECRET_ENV)}
    for name in SECRET_ENV:
        os.environ.pop(name, None)
    os.environ[MASTER_KEY_ENV] = generate_master_key()
    tmp = None
    if directory is None:
        tmp = tempfile.TemporaryDirectory(prefix="wcbc-bench-")
        directory = Path(tmp.name)
    with sandbox_tcp_nodelay(opts.sandbox_nodelay):
        sandbox = Sandbox(
            directory / "sandbox",
            seed=False,
            bc_options={"rate": opts.bc_rate, "window": opts.bc_window,
                        "max_concurrent": opts.bc_concurrency, "webhook_delay": 0.0},
            woo_options={"webhook_delay": 0.0},
        ).start()
    counter = CountingApp(sandbox.woo, _fold_woo)
    sandbox.woo.handle = counter  # type: ignore[method-assign]
    env = Env(sandbox, directory, directory / "config.toml", directory / "state.db", directory / "vault.bin",
              counter)
    try:
        text = sandbox.config_text(state_path=env.state_path, vault_path=env.vault_path)
        env.config_path.write_text(merge_orders_config(text, orders_config))
        vault = Vault.open(env.vault_path)
        for name, value in sandbox.credentials.secrets().items():
            vault.set(name, value)
        yield env
    finally:
        env.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if tmp is not None:
            tmp.cleanup()


def merge_orders_config(text: str, extra: str) -> str:
    """Insert ``key = value`` lines at the end of the [orders] section (TOML forbids a second one)."""
    if not extra.strip():
        return text
    lines = text.splitlines()
    at = lines.index("[orders]") + 1
    while at < len(lines) and lines[at].strip() and not lines[at].startswith("["):
        at += 1
    return "\n".join(lines[:at] + extra.strip().splitlines() + lines[at:]) + "\n"


# ---------------------------------------------------------------------------- measurement


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler:
    """Samples the process RSS every ``interval`` seconds on a thread: the peak during one case."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.start_rss = _rss_bytes()
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


@dataclass
class Measurement:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    ru_maxrss_mb: float = 0.0
    tracemalloc_peak_mb: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@contextmanager
def measure(opts: Options, profile_name: str | None = None) -> Iterator[Measurement]:
    """Wall time, process CPU time, RSS (sampled peak and ru_maxrss) and, optionally, tracemalloc's peak.

    CPU and RSS are the whole process: the sandbox runs in it too (see bench/README.md).
    """
    result = Measurement()
    profiler = None
    if opts.profile is not None and profile_name:
        import cProfile

        profiler = cProfile.Profile()
    if opts.tracemalloc:
        tracemalloc.start()
        tracemalloc.reset_peak()
    with RssSampler() as rss:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            yield result
        finally:
            if profiler is not None:
                profiler.disable()
            result.wall_s = time.perf_counter() - wall0
            result.cpu_s = time.process_time() - cpu0
    result.rss_start_mb = rss.start_rss / 2**20
    result.rss_peak_mb = rss.peak / 2**20
    result.ru_maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if opts.tracemalloc:
        result.tracemalloc_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if profiler is not None and opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(opts.profile / f"{profile_name}.prof"))


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    out = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    return dict(sorted(out.items()))


def ratio(value: float | None, bound: float | None) -> float | None:
    if value is None or not bound:
        return None
    return round(value / bound, 3)


def figure(value: float | None, bound: float | None, *, better: str, unit: str = "",
           note: str = "", target: bool = True) -> dict[str, Any]:
    """One figure beside its bound. ``better``: "lower" (a ceiling: calls, time, memory) or "higher"
    (a floor: throughput). ``met`` says whether a target holds; None for a bound that is only a reference
    (``target=False``: the fewest calls possible, a time derived from them), where the ratio tells."""
    met = None
    if target and value is not None and bound is not None:
        met = value <= bound if better == "lower" else value >= bound
    return {"value": None if value is None else round(float(value), 4),
            "bound": None if bound is None else round(float(bound), 4),
            "ratio": ratio(value, bound), "better": better, "unit": unit, "met": met, "note": note}


def client_calls(client: Any) -> dict[str, int]:
    return dict(getattr(client, "calls", {}) or {})
