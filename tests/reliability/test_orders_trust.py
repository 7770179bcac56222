"""No order is lost, blocked or taken over (issue 14, the orders' cases), through the sandbox over HTTPS:
hostile orders mixed with good ones, a BC document that merely carries an order's key, this host's clock
ahead of the store's or jumping mid-run, and a lost answer to the posting of an invoice. Each test prints
its figures (README, "Reliability")."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import no_notes, seed_orders, tally
from tests.sync.orders.test_isolation import HOSTILE
from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.time import utcnow
from wcbc.sync.common.cursors import ORDERS_MODIFIED_AFTER
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders.sync import OrderSync

pytestmark = pytest.mark.reliability


class HostileStore:
    """The real WooCommerce client, except that the orders named in ``corrupt`` come back corrupted (as a
    plugin, an import or a hostile store could send them)."""

    def __init__(self, woo: Any, corrupt: dict[int, Callable[[dict], None]]) -> None:
        self.woo = woo
        self.corrupt = corrupt

    def _fix(self, order: dict) -> dict:
        if order.get("id") in self.corrupt:
            self.corrupt[order["id"]](order)
        return order

    def get_order(self, order_id: int) -> dict:
        return self._fix(self.woo.get_order(order_id))

    def iter_orders(self, **kwargs: Any) -> Iterator[dict]:
        return (self._fix(o) for o in self.woo.iter_orders(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.woo, name)


def failures(env: E2E) -> dict[str, str]:
    code, out, _ = env.cli("--json", "failures")
    assert code == 0
    return {row["id"]: row["last_error"] for row in json.loads(out)}


def test_hostile_orders_mixed_with_good_ones_fail_alone(env: E2E) -> None:
    no_notes(env, "batch_size = 10\n")
    orders = seed_orders(env, 60, seed=21)
    kinds = sorted(HOSTILE)
    hostile = {o["id"]: kinds[i % len(kinds)] for i, o in enumerate(orders[1::3])}  # 20 of 60
    corrupt: dict[int, Callable[[dict], None]] = {oid: HOSTILE[kind][0] for oid, kind in hostile.items()}
    # and one whose number equals another's for BC (blanks are trimmed): refused, never linked to it
    twin, of = orders[-1], orders[-3]
    corrupt[twin["id"]] = lambda o: o.update(number=f" {of['number']} ")
    ctx = env.context()
    try:
        woo = HostileStore(ctx.woo, corrupt)
        reports = [OrderSync(woo=woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run() for _ in range(2)]
        bookmark = ctx.state.cursor_get(ORDERS_MODIFIED_AFTER)
    finally:
        ctx.close()
    good = [o for o in orders if o["id"] not in corrupt]
    figures = tally(env, good)
    listed = failures(env)
    for oid, kind in hostile.items():
        assert HOSTILE[kind][1] in listed[f"order:{oid}"], (kind, listed.get(f"order:{oid}"))
    # refused in the run that met both (the key is taken), then by the proof (the document is order 74's)
    twin_error = listed[f"order:{twin['id']}"]
    proof = f"externalDocumentNumber {env.external_number(of['number'])} but is not this order's"
    assert f"as that of order {of['number']}" in twin_error or proof in twin_error
    assert len(env.documents(of["number"])) == 1
    newest = max(env.woo.get_order(o["id"])["date_modified_gmt"] for o in orders if o["id"] in corrupt)
    assert bookmark is not None and bookmark >= newest + "Z"  # the bookmark passed every failed order
    print(f"hostile orders: {len(good)} good + {len(corrupt)} hostile ({len(set(hostile.values()))} kinds "
          f"and a key twin) in pages of 10, {len(reports)} runs: {figures.line()}; "
          f"{len(listed)} failures listed with their cause; runs aborted: 0")
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
    assert figures.documents == len(good) and len(listed) == len(corrupt)


def test_a_foreign_document_carrying_an_orders_key_is_not_taken_over(env: E2E) -> None:
    no_notes(env)
    orders = seed_orders(env, 6, seed=22, new_buyers=1, guests=1)
    victim = orders[2]
    ctx = env.context()
    try:
        key = mapping.document_number(victim, ctx.config.orders.number_prefix)
        other = env.bc.customers()[-1]["number"]
        foreign = ctx.bc.post("salesOrders", {  # a buyer's PO number that happens to equal the order's key
            "externalDocumentNumber": key, "customerNumber": other,
            "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 3}]})
        first = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
        message = failures(env)[f"order:{victim['id']}"]
        named = f"BC document {foreign['number']} (customer {other}) carries its externalDocumentNumber"
        assert named in message
        assert "External Document No." in message
        assert ctx.state.link_get("order", str(victim["id"])) is None  # not taken over
        # The fix the message names: the foreign document gets its own number, then a replay books the order.
        ctx.bc.patch(f"salesOrders({foreign['id']})", {"externalDocumentNumber": "PO-4711"},
                     foreign["@odata.etag"])
        replayed = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, replay=True).run(
            order_ids=[victim["id"]], poll=False, drain_inbox=False)
    finally:
        ctx.close()
    figures = tally(env, orders)
    print(f"foreign document: {first.counts} then replay {replayed.counts}; {figures.line()}; "
          f"the foreign document kept its customer {other}")
    assert first.counts == {"booked": 5, "failed": 1} and replayed.counts == {"booked": 1}
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)


def test_host_clock_ahead_of_the_store_and_jumping_mid_run_loses_nothing(env: E2E) -> None:
    no_notes(env, "batch_size = 4\n")
    skew = {"seconds": 400.0}

    def host() -> dt.datetime:  # this host's clock; the store's is the sandbox's (real time)
        return utcnow() + dt.timedelta(seconds=skew["seconds"])

    def jump(_: int) -> None:
        skew["seconds"] = 3600.0  # an hour ahead, from the first order settled on

    orders: list[dict] = []
    warned: list[tuple[int, bool]] = []  # per run: orders booked, whether it warned about the skew
    ctx = env.context()
    try:
        def sync(**kwargs: Any) -> Any:
            report = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config, clock=host,
                               **kwargs).run()
            warned.append((report.count("booked"), any("ahead of the store's" in w for w in report.warnings)))
            return report

        orders += seed_orders(env, 5, seed=23, tag="a")
        sync()  # +400 s: the bookmark must not be the host's clock (it was: the next 9 were never read)
        orders += seed_orders(env, 9, seed=24, tag="b")
        sync()
        orders += seed_orders(env, 6, seed=25, tag="c")
        sync(on_progress=jump)  # the clock jumps an hour mid-run
        orders += seed_orders(env, 6, seed=26, tag="d")
        sync()
        sync()
    finally:
        ctx.close()
    figures = tally(env, orders)
    print(f"clock skews tried: host +400 s, then a +1 h jump mid-run, 5 runs: {figures.line()}; "
          f"booked and warned per run: {warned}")
    assert (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
    assert figures.documents == 26
    # Without the store's Date header (the WooCommerce client does not expose it yet) the skew is read from
    # the orders WooCommerce answers a write-back with: every run that booked something warned.
    assert all(did_warn for booked, did_warn in warned if booked) and sum(b for b, _ in warned) == 26


@pytest.mark.parametrize("posted", [True, False], ids=["post-landed", "post-lost"])
def test_a_lost_answer_to_the_post_settles_that_order_alone(env: E2E, posted: bool) -> None:
    no_notes(env, 'target = "posted_invoice"\n')
    orders = seed_orders(env, 8, seed=27, new_buyers=2, guests=2)
    ctx = env.context()
    action = ctx.bc.action
    lost: list[str] = []

    def flaky(path: str, **kwargs: Any) -> None:  # the third post's answer never arrives
        if not lost and path.endswith("Microsoft.NAV.post"):
            flaky.count = getattr(flaky, "count", 0) + 1  # type: ignore[attr-defined]
            if flaky.count == 3:  # type: ignore[attr-defined]
                if posted:
                    action(path, **kwargs)
                lost.append(path)
                raise AmbiguousWriteError("read timeout", system="business_central", call=f"POST {path}")
        action(path, **kwargs)

    ctx.bc.action = flaky  # type: ignore[method-assign]
    try:
        first = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
        second = OrderSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
        links = {link["woo_id"]: link["bc_number"] for link in ctx.state.links("order")}
    finally:
        ctx.close()
    figures = tally(env, orders)
    invoices = {d["number"] for d in env.bc.sales_invoices()}
    print(f"posted invoices, one post answer lost ({'posted' if posted else 'not posted'}): run 1 "
          f"{first.counts}, run 2 {second.counts}; {figures.line()}; links on posted numbers: "
          f"{sum(n.startswith('PS-INV') for n in links.values())}/{len(links)}")
    assert lost and (figures.duplicates, figures.missing, figures.not_done) == (0, 0, 0)
    assert first.counts == ({"booked": 8} if posted else {"booked": 7, "failed": 1})
    assert all(number.startswith("PS-INV") and number in invoices for number in links.values())
    assert len(links) == 8
    for order in orders:
        meta = mapping.meta_value(env.woo.get_order(order["id"]), mapping.DOCUMENT_META_KEY)
        assert meta == links[str(order["id"])]  # the store shows the posted number, not the draft's
