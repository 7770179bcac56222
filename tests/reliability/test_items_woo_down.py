"""WooCommerce unreachable during sync-items: nothing lost, the prices and stock go out on the next run."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import state_rows

pytestmark = pytest.mark.reliability


def store_values(env: E2E, sku: str) -> tuple[str, int | None]:
    product = env.woo.get_product_by_sku(sku)
    return product["regular_price"], product.get("stock_quantity")


def test_woocommerce_down_then_back(env: E2E) -> None:
    code, out, err = env.cli("sync-items")  # first run: bookmarks set, store aligned with BC
    assert code == 0, out + err
    cursors_before = dict(state_rows(env.state_path, "SELECT name, value FROM cursors"))
    env.bc.set_price("MUG-001", "13.90")
    env.bc.set_price("TSHIRT-001", "21.50")
    env.bc.move_stock("CAP-001", 5, "Negative Adjmt.")
    expected_cap = env.bc.items()
    before = {sku: store_values(env, sku) for sku in ("MUG-001", "TSHIRT-001", "CAP-001")}

    env.woo.faults.share_drop = 1.0  # every WooCommerce connection is cut
    started = time.monotonic()
    code, out, err = env.cli("sync-items")
    down_seconds = time.monotonic() - started
    env.woo.faults.reset()
    cursors_down = dict(state_rows(env.state_path, "SELECT name, value FROM cursors"))
    unchanged = {sku: store_values(env, sku) for sku in before} == before

    code_after, out_after, err_after = env.cli("sync-items")
    after = {sku: store_values(env, sku) for sku in before}
    cap_inventory = next(i for i in expected_cap if i["number"] == "CAP-001")["inventory"]
    cut = env.woo.faults.injected.get("drop", 0)
    print(f"woo down: sync-items exit {code} after {down_seconds:.1f} s ({cut} connections cut, retried with "
          f"backoff), store unchanged {unchanged}, bookmarks kept "
          f"{cursors_down == cursors_before}; next run exit {code_after}: {after}")
    assert code == 3, out + err  # unreachable: exit 3, a plain message
    assert "error:" in err and "Traceback" not in err
    assert unchanged
    # Nothing was marked as pushed: the bookmarks did not move past the unwritten changes.
    assert cursors_down == cursors_before
    assert code_after == 0, out_after + err_after
    assert after["MUG-001"][0] == "13.90" and after["TSHIRT-001"][0] == "21.50"
    assert after["CAP-001"][1] is not None and after["CAP-001"][1] <= cap_inventory
    assert after["CAP-001"][1] != before["CAP-001"][1]
