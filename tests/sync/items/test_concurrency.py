"""ItemSync and the catalogue listing with several WooCommerce calls in flight (fakes of
:mod:`tests.sync.items.fakes`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.sync.items.fakes import Env, InFlight, big_store
from wcbc.adapters.woo.client import BatchResult
from wcbc.core.errors import UnreachableError
from wcbc.sync.items.catalog import Catalog


@pytest.fixture
def env(tmp_path: Path):
    environment = Env(tmp_path)
    yield environment
    environment.state.close()


def test_listing_reads_variations_concurrently_in_the_same_order(env: Env) -> None:
    big_store(env)
    sequential = list(Catalog(env.woo, env.state, concurrency=1).iter_all())
    calls = dict(env.woo.calls)
    env.woo.calls.clear()
    watch = InFlight("/variations", meet=3)
    env.woo.hook = watch
    concurrent = list(Catalog(env.woo, env.state, concurrency=4).iter_all())
    assert concurrent == sequential
    assert dict(env.woo.calls) == calls  # the same calls, no more
    assert calls["GET /products"] == 3 and calls["GET /products/{id}/variations"] == 24
    assert 3 <= watch.peak <= 4  # the barrier of 3 passed; never more than 4 at once
    assert watch.threads["wcbc-variations"] == 24 and watch.threads["wcbc-products"] == 3
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]


def test_listing_error_comes_out_after_the_products_before_it(env: Env) -> None:
    big_store(env)
    sequential = list(Catalog(env.woo, env.state, concurrency=1).iter_all())
    broken = env.woo.by_sku("V123")["id"]
    real = env.woo.iter_variations

    def variations(product_id: int, **params: Any) -> Any:
        if product_id == broken:
            raise UnreachableError("store down", system="woocommerce")
        return real(product_id, **params)

    env.woo.iter_variations = variations  # type: ignore[method-assign]
    seen: list[Any] = []
    with pytest.raises(UnreachableError):
        for product in Catalog(env.woo, env.state, concurrency=4).iter_all():
            seen.append(product)
    position = next(i for i, p in enumerate(sequential) if p.id == broken)
    assert seen == sequential[: position + 1]  # up to the parent whose variations could not be read
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]
    # Closing a listing half-way stops its threads too.
    listing = Catalog(env.woo, env.state, concurrency=4).iter_all()
    assert [next(listing) for _ in range(5)] == sequential[:5]
    listing.close()
    assert not [t for t in threading.enumerate() if t.name.startswith(("wcbc-variations", "wcbc-products"))]


def test_batch_writes_run_in_a_pool_and_state_is_written_in_the_calling_thread(env: Env) -> None:
    # One chunk of 100 items: 70 simple products + 30 variations under 10 parents = 11 batch calls.
    for n in range(70):
        env.bc.add_item(f"S-{n:02d}", "10", 3)
        env.woo.add_product(f"S-{n:02d}", "9.00", 3)
    for p in range(10):
        sizes = [(f"Q{p}-{s}", "9.00", 3) for s in ("S", "M", "L")]
        for number, _, _ in sizes:
            env.bc.add_item(number, "10", 3)
        env.woo.add_variable(f"Q{p}", sizes)
    env.from_start()
    caller = threading.current_thread()
    writers: set[str] = set()
    for name in ("journal", "record_done", "record_fail", "record_put", "link_set", "link_delete",
                 "cursor_set", "inbox_done"):
        real = getattr(env.state, name)

        def wrapped(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            writers.add(threading.current_thread().name)
            assert threading.current_thread() is caller, "state written outside the calling thread"
            return _real(*args, **kwargs)

        setattr(env.state, name, wrapped)
    watch = InFlight("/batch", meet=4)
    env.woo.hook = watch
    report = env.sync()
    assert report.counts == {"updated": 100}
    assert env.woo.calls["POST /products/batch"] == 1
    assert env.woo.calls["POST /products/{id}/variations/batch"] == 10
    assert watch.peak == 4 and watch.threads["wcbc-batch"] == 11
    assert writers == {caller.name}
    assert {r["status"] for r in env.state.records(kind="item")} == {"done"}
    # Outcomes come in the order the calls were sent: the parents one after another.
    variation_outcomes = [o.number for o in report.outcomes if o.number.startswith("Q")]
    assert variation_outcomes == sorted(variation_outcomes, key=lambda n: (int(n[1]), "SML".index(n[-1])))
    assert not [t for t in threading.enumerate() if t.name.startswith("wcbc-batch")]


def test_systemic_error_in_one_batch_records_the_calls_already_answered(env: Env) -> None:
    for p in range(8):
        sizes = [(f"R{p}-{s}", "9.00", 3) for s in ("S", "M")]
        for number, _, _ in sizes:
            env.bc.add_item(number, "10", 3)
        env.woo.add_variable(f"R{p}", sizes)
    env.from_start()
    before = env.state.cursors()
    broken = env.woo.by_sku("R2")["id"]
    real = env.woo.batch_variations

    def batch(product_id: int, update: list[dict]) -> list[BatchResult]:
        if int(product_id) == broken:
            raise UnreachableError("store down", system="woocommerce")
        return real(product_id, update)

    env.woo.batch_variations = batch  # type: ignore[method-assign]
    with pytest.raises(UnreachableError):
        env.sync()
    written = {env.woo.products[int(c["id"])]["sku"] for _, chunk in env.woo.writes for c in chunk}
    assert {"R0-S", "R0-M", "R1-S", "R1-M"} <= written and not written & {"R2-S", "R2-M"}
    for number in ("R0-S", "R0-M", "R1-S", "R1-M", "R2-S", "R2-M", "R7-M"):
        record = env.state.record_get(f"item:{number}")
        steps = [j["step"] for j in env.state.journal_for(f"item:{number}")]
        if number in written:  # answered: recorded as done, whichever order the threads finished in
            assert record["status"] == "done" and steps[-1] == "result"
        else:  # not written: nothing recorded as done, the next run tries again
            assert record is None or record["status"] != "done"
            assert "result" not in steps
    assert env.state.cursors() == before
    assert not [t for t in threading.enumerate() if t.name.startswith("wcbc-batch")]
    env.woo.batch_variations = real  # type: ignore[method-assign]
    assert set(env.sync().by_number().values()) <= {"updated", "unchanged"}
    assert {env.woo.by_sku(f"R{p}-M")["regular_price"] for p in range(8)} == {"10.00"}
