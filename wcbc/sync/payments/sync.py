"""sync-fulfilment (payments): the orchestrator of read -> plan -> apply, with the one dry-run branch."""

from __future__ import annotations

import contextlib
from typing import Any

from wcbc.core.errors import WcbcError
from wcbc.sync.common.outcome import Outcome
from wcbc.sync.common.plan import Plan
from wcbc.sync.payments import plan as planner
from wcbc.sync.payments.apply import Applier
from wcbc.sync.payments.read import Reader
from wcbc.sync.shipments.report import Report


class PaymentSync:
    def __init__(self, *, woo: Any, bc: Any, state: Any, config: Any, dry_run: bool = False,
                 run_id: int | None = None, replay: bool = False) -> None:
        self.state, self.dry_run = state, dry_run
        self.policy = planner.Policy.from_config(config)
        self.reader = Reader(woo=woo, bc=bc, state=state, config=config)
        self.applier = Applier(bc=bc, state=state, reader=self.reader, policy=self.policy, run_id=run_id,
                               replay=replay)
        self.report = Report()

    def run(self, *, order_ids: list[int] | None = None) -> Report:
        if not self.policy.journals:
            return self.report  # off unless configured
        invoices = self.reader.open_invoices()
        invoices += self.reader.unsettled_invoices({str(i["id"]) for i in invoices})
        pairs = self.reader.web_orders(invoices)
        if order_ids:
            pairs = [(o, i) for o, i in pairs if int(o["id"]) in set(order_ids)]
        pairs.sort(key=lambda p: int(p[0]["id"]))
        plans = [planner.plan_payment(o, i, self.policy) for o, i in pairs]
        if self.dry_run:
            for p in plans:
                result = "would_pay" if p.decision == "pay" else p.decision
                self.report.outcomes.append(Outcome(p.rid, result, p.key, message=p.reason or None))
            self.report.preview = Plan.gather(plans).as_list()
            return self.report
        try:
            for p in plans:
                outcome = self.applier.apply(p)
                if outcome is not None:
                    self.report.outcomes.append(outcome)
        except BaseException:
            # The payments posted before the error are read back if BC answers (else the next run does).
            with contextlib.suppress(WcbcError):
                self.report.outcomes.extend(self.applier.settle())
            raise
        self.report.outcomes.extend(self.applier.settle())
        return self.report
