"""The load generator of the serve scenario (a separate process): reads its job as JSON on stdin (the
secret never goes on a command line), sends the deliveries from N threads, prints the figures as JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

RECORDING = (Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "contracts" / "woocommerce" /
             "real-store" / "webhooks" / "0003.body")


def template() -> dict[str, Any]:
    try:
        return json.loads(RECORDING.read_bytes())
    except (OSError, ValueError):
        return {"id": 0, "number": "0", "status": "processing", "total": "40.22", "line_items": []}


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    job = json.loads(sys.stdin.read())
    url, secret, total, senders = job["url"], job["secret"], int(job["deliveries"]), int(job["senders"])
    base = template()
    bodies = []
    for n in range(total):
        order = dict(base, id=100_000 + n, number=str(100_000 + n))
        body = json.dumps(order, separators=(",", ":")).encode()
        bodies.append((body, sign(body, secret)))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    cursor = iter(range(total))

    def sender() -> None:
        session = requests.Session()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            body, signature = bodies[index]
            headers = {"Content-Type": "application/json",
                       "User-Agent": "WooCommerce/10.0.2 Hookshot (bench)",
                       "X-WC-Webhook-Source": "https://shop.example/", "X-WC-Webhook-Topic": "order.updated",
                       "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
                       "X-WC-Webhook-Signature": signature, "X-WC-Webhook-ID": "1",
                       "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex}
            start = time.perf_counter()
            try:
                status = str(session.post(url, data=body, headers=headers, timeout=30).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        session.close()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    wall0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall0
    print(json.dumps({
        "sent": len(latencies), "statuses": statuses, "wall_s": round(wall, 3),
        "p50_ms": round(percentile(latencies, 0.50), 2), "p90_ms": round(percentile(latencies, 0.90), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2), "max_ms": round(max(latencies or [0]), 2),
        "body_bytes": len(bodies[0][0]) if bodies else 0,
    }))


if __name__ == "__main__":
    main()
