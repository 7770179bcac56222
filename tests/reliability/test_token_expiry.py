"""The BC bearer token expires mid-run (while 5 threads are booking, and between two pages of the poll):
exactly one refresh per expiry, no failure, nothing doubled."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, seed_orders, tally

pytestmark = pytest.mark.reliability


def test_token_expires_mid_page_and_between_pages(env: E2E) -> None:
    no_notes(env)
    orders = seed_orders(env, 150, seed=9)
    entra = env.sandbox.entra
    lock = threading.Lock()
    seen = {"posts": 0, "pages": 0, "expired": 0, "401": 0}
    bc_answer, woo_answer = env.bc.handle, env.woo.handle

    def bc_handle(request: Any) -> Any:
        with lock:
            if request.method == "POST" and request.path.endswith("/salesOrders"):
                seen["posts"] += 1
                if seen["posts"] == 30:  # mid-page: the other booking threads hold the same token
                    entra.expire_all_tokens()
                    seen["expired"] += 1
        response = bc_answer(request)
        if response.status == 401:
            with lock:
                seen["401"] += 1
        return response

    def woo_handle(request: Any) -> Any:
        if request.method == "GET" and request.path.endswith("/orders"):
            with lock:
                seen["pages"] += 1
                if seen["pages"] == 2:  # between page 1 (booked) and page 2 of the poll
                    entra.expire_all_tokens()
                    seen["expired"] += 1
        return woo_answer(request)

    env.bc.handle, env.woo.handle = bc_handle, woo_handle
    try:
        issued_before = entra.issued_tokens
        code, out, err = env.cli("sync-orders")
    finally:
        env.bc.handle, env.woo.handle = bc_answer, woo_answer
    issued = entra.issued_tokens - issued_before
    figures = tally(env, orders)
    print(f"token expiry: {seen['expired']} expiries, {seen['401']} calls answered 401, {issued} tokens "
          f"issued (1 + one refresh per expiry); exit {code}; {figures.line()}")
    assert code == 0, out + err
    assert seen["expired"] == 2 and seen["401"] >= 2
    assert issued == 3
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
