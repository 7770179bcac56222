"""serve: signed WooCommerce deliveries accepted and stored per second by wcbc.webhooks.app.Service.

The Service runs here with a real State and ``processor=None`` (only receiving is measured). The load
comes from a second process (``python -m bench.scenarios.serve_load``) with one ``requests.Session`` per
sender thread, on loopback. Each delivery is a recorded WooCommerce order body (real store, 2,407 bytes)
with its own order id, signed like WooCommerce signs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.scenarios.common import Options, figure, measure

TARGET_PER_S = 300.0
P99_BOUND_MS = 100.0


def run(opts: Options) -> dict[str, Any]:
    import secrets

    from wcbc.core.state import State
    from wcbc.webhooks.app import Service

    secret = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="wcbc-bench-serve-") as tmp:
        path = Path(tmp) / "state.db"
        State(path).close()  # created and migrated once, before the serving threads open it
        service = Service(
            state_factory=lambda: State(path),
            secret_provider=lambda: {"woo_webhook_secret": secret, "bc_client_state": None},
            processor=None, host="127.0.0.1", port=0, workers=opts.serve_workers, interval=3600.0,
        ).start()
        try:
            job = {"url": service.url + "/webhooks/woocommerce", "secret": secret,
                   "deliveries": opts.deliveries, "senders": opts.senders}
            with measure(opts, "serve") as m:
                proc = subprocess.run(
                    [sys.executable, "-m", "bench.scenarios.serve_load"], input=json.dumps(job),
                    capture_output=True, text=True, check=False, timeout=600,
                )
            if proc.returncode != 0:
                raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
            load = json.loads(proc.stdout)
        finally:
            service.stop()
        state = State(path)
        try:
            stored = state.inbox_backlog("woocommerce")
        finally:
            state.close()
    n = opts.deliveries
    rate = stored / max(load["wall_s"], 1e-9)
    return {"scenario": "serve", "cases": [{
        "case": "woocommerce-deliveries", "records": n, "senders": opts.senders,
        "workers": opts.serve_workers, "outcomes": {"stored": stored, **load["statuses"]},
        "measurement": m.as_dict(), "load": load,
        "calls": {"woocommerce": {"server": n, "client": load["sent"], "fewest": n,
                                  "per_record_server": 1.0, "per_record_client": round(load["sent"] / n, 4)}},
        "figures": {
            "stored": figure(stored, n, better="higher", unit="deliveries"),
            "deliveries_per_s": figure(rate, TARGET_PER_S, better="higher", unit="/s",
                                       note="target: >= 300/s on 2 cores (load generator on the same cores)"),
            "p50_ms": figure(load["p50_ms"], None, better="lower", unit="ms"),
            "p99_ms": figure(load["p99_ms"], P99_BOUND_MS, better="lower", unit="ms",
                             note="target: < 100 ms"),
            "cpu_s_per_1000": figure(m.cpu_s / n * 1000, None, better="lower", unit="s",
                                     note="the serving process only (the load is another process)"),
            "peak_rss_mb": figure(m.rss_peak_mb, None, better="lower", unit="MB"),
        },
    }]}
