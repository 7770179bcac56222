"""sync-fulfilment (shipments): the orchestrator of read -> plan -> apply, with the one dry-run branch.

The bookmark (``shipments.modified_after``) moves once the run's shipments are settled, never past the
run's start; shipments that failed are read again by number until they succeed or go on hold.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from wcbc.core.time import iso_z, parse, utcnow_s
from wcbc.sync.common.bookmark import capped
from wcbc.sync.common.cursors import SHIPMENTS_MODIFIED_AFTER
from wcbc.sync.common.outcome import Outcome
from wcbc.sync.common.plan import Plan
from wcbc.sync.shipments import plan as planner
from wcbc.sync.shipments.apply import Applier
from wcbc.sync.shipments.read import Reader, window_start
from wcbc.sync.shipments.report import Report

log = logging.getLogger("wcbc.shipments")


class ShipmentSync:
    def __init__(self, *, woo: Any, bc: Any, state: Any, config: Any, dry_run: bool = False,
                 run_id: int | None = None, replay: bool = False) -> None:
        self.state, self.config, self.dry_run = state, config, dry_run
        self.policy = planner.Policy.from_config(config)
        self.reader = Reader(woo=woo, bc=bc, state=state, config=config)
        self.applier = Applier(woo=woo, state=state, policy=self.policy, run_id=run_id, replay=replay,
                               concurrency=config.woocommerce.concurrency)
        self.report = Report()

    def run(self, *, since: dt.datetime | None = None, numbers: list[str] | None = None) -> Report:
        started = utcnow_s()
        if numbers:
            shipments = self.reader.by_numbers(numbers)
        else:
            f = self.config.fulfilment
            start = window_start(since, self.reader.bookmark(), overlap_seconds=f.overlap_seconds,
                                 start_date=f.start_date, started=started)
            shipments = self.reader.modified(start)
            seen = {str(s["number"]) for s in shipments}
            retry = [n for n in self.reader.failed_numbers() if n not in seen]
            shipments += self.reader.by_numbers(retry) if retry else []
        plans = self.plans(shipments)
        if self.dry_run:
            self.report.preview = Plan.gather(plans).as_list()
            for p in plans:
                result = "would_ship" if p.decision == "ship" else p.decision
                self.report.outcomes.append(Outcome(p.rid, result, p.number, message=p.reason or None))
            return self.report
        try:
            for p in plans:
                outcome = self.applier.apply(p)
                if outcome is not None:
                    self.report.outcomes.append(outcome)
            for outcome in self.applier.flush():
                self.report.outcomes.append(outcome)
        finally:
            self.applier.close()
        if not numbers:
            newest = [parse(s.get("lastModifiedDateTime")) for s in shipments]
            self.state.cursor_set(SHIPMENTS_MODIFIED_AFTER, iso_z(capped(newest, started)))
        return self.report

    def plans(self, shipments: list[dict]) -> list[planner.ShipmentPlan]:
        """Read what the shipments need (BC orders, tracking, web orders), then plan each (pure)."""
        unique = {str(s["number"]): s for s in shipments}
        ordered = sorted(unique.values(), key=lambda s: (str(s.get("orderNumber")), str(s["number"])))
        if not ordered:
            return []
        order_numbers = sorted({str(s.get("orderNumber")) for s in ordered if s.get("orderNumber")})
        open_lines = self.reader.open_order_lines(order_numbers) if order_numbers else {}
        tracking = self.reader.tracking([str(s["number"]) for s in ordered])
        web = self.reader.web_orders(ordered)
        newest: dict[str, str] = {}
        for s in ordered:
            newest[str(s.get("orderNumber"))] = str(s["number"])
        plans = []
        for s in ordered:
            number, order_number = str(s["number"]), str(s.get("orderNumber") or "")
            full = (newest.get(order_number) == number
                    and planner.fully_shipped(open_lines.get(order_number.upper())))
            oid, order = web[number]
            plans.append(planner.plan_shipment(s, order, order_id=oid, full=full,
                                               tracking=tracking.get(number.upper()), policy=self.policy))
        return plans
