"""Fault-injection fixtures: the sandbox (threads in this process) over real HTTPS, a config and vault
pointing at it, helpers to seed orders, run `python -m wcbc` as a child process and check exactly-once."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E, make_env

SHIP = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}]
SKUS = ["MUG-001", "CAP-001", "TSHIRT-001", "HOODIE-M"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    yield from make_env(tmp_path, monkeypatch)


def jane_id(env: E2E) -> int:
    return next(c["id"] for c in env.woo.customers_list() if c["email"] == "jane.doe@example.test")


def seed_orders(
    env: E2E, count: int, *, seed: int = 1, new_buyers: int = 8, guests: int = 4, tag: str = ""
) -> list[dict]:
    """`count` processing orders: most by Jane (known to BC by e-mail), some by new registered buyers
    and some by guests (both must be created in BC exactly once)."""
    rng = random.Random(seed)
    jane = jane_id(env)
    buyers = [
        env.woo.add_customer(f"buyer{tag}{i}@example.test", "Buyer", f"No{i}")["id"]
        for i in range(new_buyers)
    ]
    guest_billing = [
        {"first_name": "Guest", "last_name": f"G{i}", "email": f"guest{tag}{i}@example.test", "country": "US",
         "address_1": f"{i} Main St", "city": "Portland", "state": "OR", "postcode": "97201"}
        for i in range(guests)
    ]
    orders = []
    for i in range(count):
        lines = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 2))]
        kind = i % 10
        if kind < 6 or not (buyers or guest_billing):
            order = env.woo.create_order(customer_id=jane, line_items=lines, shipping_lines=SHIP)
        elif kind < 8 and buyers:
            order = env.woo.create_order(customer_id=rng.choice(buyers), line_items=lines)
        else:
            order = env.woo.create_order(billing=rng.choice(guest_billing), line_items=lines)
        orders.append(order)
    return orders


@dataclass
class Tally:
    orders: int
    documents: int
    duplicates: int
    missing: int
    not_done: int
    customer_duplicates: int

    def line(self) -> str:
        return (f"{self.orders} orders, {self.documents} documents, {self.duplicates} duplicates, "
                f"{self.missing} missing, {self.not_done} records not done, "
                f"{self.customer_duplicates} duplicate customers")


def tally(env: E2E, orders: list[dict]) -> Tally:
    """Count BC documents per order (by externalDocumentNumber) and order records that are not done."""
    documents = duplicates = missing = not_done = 0
    records = state_rows(env.state_path, "SELECT id, status FROM records")
    status = {r[0]: r[1] for r in records}
    for order in orders:
        found = env.documents(order["number"])
        documents += len(found)
        duplicates += max(0, len(found) - 1)
        missing += 0 if found else 1
        if status.get(f"order:{order['id']}") != "done":
            not_done += 1
    emails: dict[str, int] = {}
    for customer in env.bc.customers():
        key = str(customer.get("email") or "").lower()
        emails[key] = emails.get(key, 0) + 1
    customer_duplicates = sum(n - 1 for key, n in emails.items() if key and n > 1)
    return Tally(len(orders), documents, duplicates, missing, not_done, customer_duplicates)


def state_rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the state DB from outside (read-only), as another process would."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, params))
    except sqlite3.OperationalError:
        return []  # no tables yet
    finally:
        conn.close()


def child_env() -> dict[str, str]:
    """The environment of a `python -m wcbc` child: ours (WCBC_MASTER_KEY set by make_env)."""
    env = dict(os.environ)
    assert env.get("WCBC_MASTER_KEY")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wcbc_cmd(env: E2E, *args: str) -> list[str]:
    return [sys.executable, "-m", "wcbc", "--config", str(env.config_path), *args]


def spawn(env: E2E, *args: str, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed by the child's exit
    try:
        return subprocess.Popen(wcbc_cmd(env, *args), env=child_env(), stdout=out, stderr=subprocess.STDOUT,
                                cwd=env.tmp)
    finally:
        if log:
            out.close()


def run(env: E2E, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(wcbc_cmd(env, *args), env=child_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=env.tmp)


def wait_for(predicate, timeout: float, interval: float = 0.02) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def no_notes(env: E2E, extra: str = "") -> None:
    """Turn off the order note (one sequential WooCommerce call per order) to keep runs short."""
    text = env.config_path.read_text().replace("[orders]\n", f"[orders]\nadd_note = false\n{extra}")
    env.config_path.write_text(text)
