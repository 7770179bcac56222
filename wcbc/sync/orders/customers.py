"""The BC customer of each order, at apply time: one customer per buyer, however the orders are booked.

The plan (:func:`wcbc.sync.orders.plan.plan_customer`) already says whether the buyer's customer is known
(a link, ``orders.guest_customer``, a customer BC has under the buyer's e-mail) or must be created. Orders of
one page are booked in parallel, so two orders of one new buyer may both carry the create: a lock per buyer
and the numbers settled in this run make the second one use the first one's customer. The POST is journaled
before it is sent; a lost answer is settled by looking the e-mail up in BC before anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wcbc.adapters.http import AmbiguousWriteError
from wcbc.core.errors import RecordError, UnreachableError
from wcbc.sync.common.apply import Link
from wcbc.sync.orders.plan import CustomerPlan


class Unsettled(RecordError):
    """A POST whose answer was lost and whose result BC does not show (yet): retried next run, uncounted."""


class Customers:
    """Customer numbers by buyer for one run."""

    def __init__(self, *, bc: Any, state: Any, ledger: Any, lookup: Callable[[str], list[dict]],
                 on_created: Callable[[], None]) -> None:
        self.bc, self.state, self.ledger = bc, state, ledger
        self.lookup = lookup  # e-mail -> BC customers with it
        self.on_created = on_created
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._numbers: dict[str, str] = {}

    def number(self, rid: str, plan: CustomerPlan) -> str:
        """The BC customer number to book on, creating or linking the customer first when the plan says so."""
        if plan.number is not None and plan.found is None:
            return plan.number
        with self._lock:
            if plan.key in self._numbers:
                return self._numbers[plan.key]
            lock = self._locks.setdefault(plan.key, threading.Lock())
        with lock:  # two orders of one new buyer in one run create one customer
            if plan.key in self._numbers:
                return self._numbers[plan.key]
            link = self.state.link_get("customer", plan.key)
            if link:  # settled meanwhile (another order of the buyer, another process)
                number = str(link["bc_number"])
            else:
                customer = plan.found if plan.found is not None else self._create(rid, plan)
                number = str(customer["number"])
                self.ledger.link(Link("customer", plan.key, str(customer["id"]), number))
            self._numbers[plan.key] = number
            return number

    def _create(self, rid: str, plan: CustomerPlan) -> dict:
        assert plan.create is not None, "a customer plan without a number creates one"
        body = plan.create.body
        self.ledger.journal(rid, "sent", {"create_customer": body})
        try:
            customer = self.bc.post("customers", body)
        except UnreachableError as exc:
            # The POST may have landed: settle by e-mail before anything else.
            again = self.lookup(plan.email) if plan.email else []
            if not again:
                if isinstance(exc, AmbiguousWriteError) and plan.email:
                    raise Unsettled(
                        f"the answer to its customer POST was lost ({exc.detail}); "
                        "no customer with that e-mail in BC yet"
                    ) from exc
                raise
            customer = again[0]
        self.on_created()
        self.ledger.journal(rid, "answered", {"customer": customer.get("number")})
        return customer
