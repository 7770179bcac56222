"""Baseline: one clean `wcbc sync-orders` run books every order of a multi-page poll, exactly once."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, run, seed_orders, tally

pytestmark = pytest.mark.reliability


def test_one_run_books_every_page_of_old_orders(env: E2E) -> None:
    # 250 orders = 3 pages of the poll (per_page 100), all last modified an hour ago (older than
    # overlap_seconds). Writing page 1's BC numbers back changes date_modified; that must not shift the
    # store's offset pagination under the poll and hide orders that the bookmark then moves past.
    no_notes(env)
    env.sandbox.clock.advance(-3600)
    orders = seed_orders(env, 250, seed=3)
    env.sandbox.clock.advance(3600)
    first = run(env, "sync-orders")
    after_first = tally(env, orders)
    second = run(env, "sync-orders")
    after_second = tally(env, orders)
    print(f"one run: exit {first.returncode}, {after_first.line()}")
    print(f"rerun:   exit {second.returncode}, {after_second.line()}")
    assert first.returncode == 0, first.stderr[-2000:]
    assert (after_first.duplicates, after_first.missing, after_first.not_done) == (0, 0, 0)
    assert after_first.documents == 250
    assert after_first.customer_duplicates == 0
    assert second.returncode == 0 and after_second == after_first
    # every booked order carries its BC number (written back after the last page was read)
    numbers = {d["externalDocumentNumber"].upper(): d["number"] for d in env.bc.sales_orders()}
    for order in orders:
        meta = {m["key"]: m["value"] for m in env.woo.get_order(order["id"])["meta_data"]}
        assert meta.get("_wcbc_bc_document") == numbers[env.external_number(order["number"])]
