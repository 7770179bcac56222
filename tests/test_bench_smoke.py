"""The benchmark at toy size with zero latency: keeps bench/ from rotting. Structure and call counts only,
never timings (speed is what bench/ itself reports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run
from bench.scenarios import items, orders, refunds, serve
from bench.scenarios.common import Options

FIGURE_KEYS = {"value", "bound", "ratio", "better", "unit", "met", "note"}


def toy(**kwargs: Any) -> Options:
    base: dict[str, Any] = {"bc_latency": 0.0, "woo_latency": 0.0, "orders": 20, "items": 200,
                            "notifications": 20, "deliveries": 40, "senders": 4, "serve_workers": 2}
    return Options(**{**base, **kwargs})


def check_figures(case: dict[str, Any]) -> None:
    assert case["figures"], case["case"]
    for name, fig in case["figures"].items():
        assert set(fig) == FIGURE_KEYS, name
        assert fig["value"] is not None, name
    measurement = case["measurement"]
    assert measurement["wall_s"] > 0 and measurement["cpu_s"] >= 0
    assert measurement["rss_peak_mb"] >= measurement["rss_start_mb"] > 0


def check_calls(case: dict[str, Any], system: str) -> dict[str, Any]:
    block = case["calls"][system]
    # The sandbox's own counter and the client's agree: every call the client made reached the server.
    assert block["server"] == block["client"], (case["case"], system)
    assert sum(block["by_route_server"].values()) == block["server"]
    assert block["server"] >= block["fewest"] > 0, (case["case"], system, block)
    return block


def test_orders_every_target_books_every_order_with_sane_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    result = orders.run(toy(cases=("sales_order", "posted_invoice", "sales_order+notes")))
    assert result["scenario"] == "orders"
    cases = {c["case"]: c for c in result["cases"]}
    assert set(cases) == {"sales_order", "posted_invoice", "sales_order+notes"}
    for case in cases.values():
        check_figures(case)
        seeded = case["seeded"]
        assert seeded["orders"] == 20
        assert seeded["returning"] + seeded["new"] + seeded["guests"] == 20
        assert case["outcomes"] == {"booked": 20}, case.get("failures_sample")
        bc = check_calls(case, "business_central")
        woo = check_calls(case, "woocommerce")
        routes = bc["by_route_server"]
        entity = "salesInvoices" if case["target"] != "sales_order" else "salesOrders"
        assert routes[f"POST {entity}"] == 20  # one deep insert per order
        created = routes.get("POST customers", 0)
        assert created == case["customers_created"] == seeded["bc_customers_to_create"]
        # Within a page's worth of reads of the fewest possible (no per-order lookups).
        assert bc["server"] <= bc["fewest"] + 10, routes
        assert woo["by_route_server"]["POST /orders/batch"] == 1
        notes = woo["by_route_server"].get("POST /orders/{id}/notes", 0)
        assert notes == (20 if case["add_note"] else 0)
    assert cases["posted_invoice"]["calls"]["business_central"]["by_route_server"][
        "POST salesInvoices(id)/Microsoft.NAV.post"] == 20


def test_refunds_one_credit_memo_per_refund_beside_the_fewest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    result = refunds.run(toy())
    assert result["scenario"] == "refunds"
    for case in result["cases"]:
        check_figures(case)
        assert case["outcomes"].get("credited") == case["records"] == 20, case.get("failures_sample")
        bc = case["calls"]["business_central"]
        assert bc["server"] == bc["client"] and bc["server"] >= bc["fewest"] > 0
        assert bc["by_route_server"]["POST salesCreditMemos"] == 20  # one deep insert per refund
        assert bc["server"] <= bc["fewest"] + 10 + (20 if case["target"] == "posted_invoice" else 0), bc


def test_items_reconcile_writes_exactly_the_changes_then_notifications() -> None:
    result = items.run(toy())
    cases = {c["case"]: c for c in result["cases"]}
    reconcile, notified = cases["reconcile"], cases["notifications"]
    for case in (reconcile, notified):
        check_figures(case)
        check_calls(case, "woocommerce")
    seeded = reconcile["seeded"]
    assert seeded["bc_items"] == 200 and seeded["variations"] + seeded["simple"] == 200
    assert reconcile["outcomes"]["updated"] == seeded["changed"] == 10
    assert reconcile["calls"]["business_central"]["server"] == 3  # items, open orders, ledger top
    fewest = reconcile["figures"]["woo_calls_fewest"]
    assert fewest["value"] == fewest["bound"]  # WooCommerce: exactly the fewest calls possible
    assert notified["outcomes"].get("updated") == 20
    assert notified["calls"]["business_central"]["server"] <= 10


def test_serve_stores_every_signed_delivery() -> None:
    result = serve.run(toy())
    case = result["cases"][0]
    check_figures(case)
    assert case["outcomes"]["stored"] == 40
    assert case["load"]["statuses"] == {"200": 40}
    assert case["load"]["p99_ms"] >= case["load"]["p50_ms"] > 0


def test_command_line_writes_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "latest.json"
    code = bench_run.main(["--scenario", "serve", "--in-process", "--deliveries", "20", "--senders", "2",
                           "--bc-latency", "0", "--woo-latency", "0", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["environment"]["options"]["deliveries"] == 20
    assert [s["scenario"] for s in data["scenarios"]] == ["serve"]
    assert "deliveries_per_s" in capsys.readouterr().out
    table = bench_run.markdown(data)
    assert table.startswith("| case | figure |") and "serve/woocommerce-deliveries" in table


def test_fulfilment_ships_and_pays_every_order_with_sane_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.scenarios import fulfilment

    monkeypatch.delenv("WCBC_MASTER_KEY", raising=False)
    result = fulfilment.run(toy())
    cases = {c["case"]: c for c in result["cases"]}
    shipments, payments = cases["shipments"], cases["payments"]
    assert shipments["records"] == 25 and payments["records"] == 20  # 5 orders shipped in two parts
    assert shipments["outcomes"] == {"shipped": 25}
    assert payments["outcomes"] == {"paid": 20}
    for case in (shipments, payments):
        check_figures(case)
        check_calls(case, "woocommerce")
        check_calls(case, "business_central")
    bc = shipments["calls"]["business_central"]
    assert bc["server"] <= bc["fewest"] + 2, bc["by_route_server"]  # no per-shipment BC call
    routes = payments["calls"]["business_central"]["by_route_server"]
    posts = sum(v for k, v in routes.items() if k.startswith("POST") and "Microsoft.NAV.post" in k)
    assert posts == 20
    assert payments["calls"]["business_central"]["server"] <= 3 * 20 + 4, routes
