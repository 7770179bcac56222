"""Every order is isolated: a hostile or broken order fails alone, with its cause, visible in the records
(so in `wcbc failures`) and replayable; the others are booked, exactly once; the bookmark moves past it.
Against the in-memory fakes and a real State (no HTTP); the sandbox version is in tests/reliability."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sync.orders.fakes import T0, FakeBC, FakeWoo, config, order
from wcbc.core.state import State
from wcbc.sync.common.cursors import ORDERS_MODIFIED_AFTER
from wcbc.sync.orders.sync import OrderSync

SINCE = T0 - dt.timedelta(days=1)


def _line(**fields: Any) -> Callable[[dict], None]:
    def corrupt(o: dict) -> None:
        o["line_items"][0].update(fields)
    return corrupt


def _set(key: str, value: Any) -> Callable[[dict], None]:
    def corrupt(o: dict) -> None:
        o[key] = value
    return corrupt


# What a hostile store, plugin or import can put into an order, and the words its failure must carry.
HOSTILE: dict[str, tuple[Callable[[dict], None], str]] = {
    "number empty": (_set("number", "  "), "has no order number"),
    "number too long": (_set("number", "7" * 40), "longer than BC's 35 characters"),
    "line total 1e309": (_line(total="1e309"), "total '1e309' is beyond BC's range"),
    "line total NaN": (_line(total="NaN"), "total is not an amount: 'NaN'"),
    "line total -inf": (_line(total="-Infinity"), "total is not an amount: '-Infinity'"),
    "quantity 1e309": (_line(quantity="1e309"), "quantity '1e309' is beyond BC's range"),
    "quantity NaN": (_line(quantity=float("nan")), "quantity is not an amount: nan"),
    "quantity a list": (_line(quantity=[2]), "quantity is not an amount: [2]"),
    "quantity negative": (_line(quantity=-1, total="0", subtotal="0"), "has quantity -1"),
    "order total 1e309": (_set("total", "1e309"), "total '1e309' is beyond BC's range"),
    "lines a string": (_set("line_items", "MUG-001"), "line_items is not a list of lines"),
    "lines of numbers": (_set("line_items", [1, 2]), "line_items is not a list of lines"),
    "billing a string": (_set("billing", "jane@example.test"), "cannot be read (AttributeError"),
    "shipping 1e309": (_set("shipping_lines", [{"id": 1, "method_title": "Ship", "total": "1e309"}]),
                       "beyond BC's range"),
    "fees a dict": (_set("fee_lines", {"total": "5"}), "fee_lines is not a list of lines"),
    "created date garbage": (_set("date_created_gmt", "yesterday-ish"), "unreadable creation date"),
}


def hostile(order_id: int, kind: str, minute: int) -> dict:
    o = order(order_id, modified=T0 + dt.timedelta(minutes=minute))
    HOSTILE[kind][0](o)
    return o


def run_mixed(state: State, kinds: list[str | None]) -> tuple[FakeWoo, FakeBC, Any]:
    """One poll over orders 1..n, order i hostile when kinds[i-1] names a corruption."""
    orders = [hostile(i, kind, i) if kind else order(i, modified=T0 + dt.timedelta(minutes=i))
              for i, kind in enumerate(kinds, start=1)]
    woo, bc = FakeWoo(*orders), FakeBC()
    report = OrderSync(woo=woo, bc=bc, state=state, config=config(batch_size=7)).run(since=SINCE)
    return woo, bc, report


def test_each_hostile_order_fails_alone_with_its_cause_and_the_bookmark_passes_it(tmp_path: Path) -> None:
    kinds: list[str | None] = []
    for kind in HOSTILE:
        kinds += [None, kind]
    kinds.append(None)
    with State(tmp_path / "state.db") as state:
        woo, bc, report = run_mixed(state, kinds)
        good = [i for i, kind in enumerate(kinds, start=1) if kind is None]
        booked = sorted(o.order_id for o in report.outcomes if o.result == "booked")
        assert booked == good
        documents = [d["externalDocumentNumber"] for d in bc.documents["salesOrders"]]
        assert sorted(documents) == sorted(str(i) for i in good)  # one each, none for a hostile order
        for i, kind in enumerate(kinds, start=1):
            if kind is None:
                continue
            record = state.record_get(f"order:{i}")
            assert record["status"] == "failed", kind  # what `wcbc failures` lists
            assert HOSTILE[kind][1] in record["last_error"], (kind, record["last_error"])
        # the bookmark passed every order: a failure is a committed outcome
        assert state.cursor_get(ORDERS_MODIFIED_AFTER) == (T0 + dt.timedelta(minutes=len(kinds))).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        # replayable: fixed in the store, `wcbc replay` books it
        woo.orders[4] = order(4, modified=T0)
        replayed = OrderSync(woo=woo, bc=bc, state=state, config=config(), replay=True).run(
            order_ids=[4], poll=False, drain_inbox=False)
        assert replayed.counts == {"booked": 1}


def test_an_order_without_an_integer_id_is_skipped_and_the_page_goes_on(tmp_path: Path) -> None:
    with State(tmp_path / "state.db") as state:
        woo, bc = FakeWoo(order(1), order(2)), FakeBC()
        sync = OrderSync(woo=woo, bc=bc, state=state, config=config())
        sync._page([{"id": "x"}, woo.get_order(1), woo.get_order(2)], defer=False)
        assert sync.report.counts == {"booked": 2}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.sampled_from(sorted(HOSTILE))), min_size=1, max_size=24),
       st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=4))
def test_property_every_good_order_is_booked_exactly_once(kinds: list[str | None], batch: int,
                                                          concurrency: int) -> None:
    orders = [hostile(i, kind, i % 5) if kind else order(i, modified=T0 + dt.timedelta(minutes=i % 5))
              for i, kind in enumerate(kinds, start=1)]
    with tempfile.TemporaryDirectory() as tmp, State(Path(tmp) / "state.db") as state:
        woo, bc = FakeWoo(*orders), FakeBC()
        for _ in range(2):  # a second run retries the failed ones and books nothing twice
            OrderSync(woo=woo, bc=bc, state=state, config=config(batch_size=batch),
                      concurrency=concurrency).run(since=SINCE)
        numbers = [d["externalDocumentNumber"] for d in bc.documents["salesOrders"]]
        good = [str(i) for i, kind in enumerate(kinds, start=1) if kind is None]
        assert sorted(numbers) == sorted(good)  # every good one once, no hostile one
        for i, kind in enumerate(kinds, start=1):
            status = state.record_get(f"order:{i}")["status"]
            assert status == ("done" if kind is None else "failed"), (i, kind)
