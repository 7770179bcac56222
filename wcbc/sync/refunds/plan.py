"""Refunds and cancellations, step 2 of 3: decide, from what was read, what each booked order needs. Pure.

Per refund of a booked order (:func:`plan_refunds`), keyed ``refund:<order id>-<refund id>``:

* ``unchanged``: its record is done (a credit memo exists);
* ``linked``: BC already holds a credit memo under its externalDocumentNumber (a crash or a lost state DB
  left it): linked, posted when the policy posts and it is still a draft, its total checked;
* ``credit``: the credit memo to create (deep insert), then ``post`` when the policy posts;
* ``rejected``: it cannot be mapped (an account missing, no BC document for the order...);
* ``reduce``: with ``orders.target = "sales_order"``, the open sales order's lines reduced instead
  (:mod:`.reduce`); ``marked``: BC's order already carries the refund's marker (linked, nothing written);
* ``withdrawn``: a booked refund that the store no longer has: its draft credit memo is deleted
  (If-Match); a posted one is a ``conflict`` for a person.

Cancellations are planned by :mod:`.cancel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.common.plan import Write
from wcbc.sync.mapping.money import MoneyError
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.refunds import memo, reduce, split

REFUND_DECISIONS = (
    "unchanged", "held", "linked", "credit", "reduce", "marked", "rejected", "withdrawn", "conflict", "gone"
)
ON_CANCEL = ("undo", "report")


@dataclass(frozen=True)
class RefundPolicy:
    number_prefix: str = ""
    refund_account: str | None = None
    amount_account: str | None = None
    post: bool = False
    on_cancel: str = "undo"
    max_attempts: int = 3
    replay: bool = False
    target: str = ""

    @classmethod
    def from_config(cls, config: Any, *, replay: bool = False) -> RefundPolicy:
        cfg = config.orders
        post = getattr(cfg, "post_credit_memos", "auto")
        return cls(
            number_prefix=cfg.number_prefix or "",
            refund_account=getattr(cfg, "refund_account", None),
            amount_account=getattr(cfg, "refund_amount_account", None),
            post=(cfg.target == "posted_invoice") if post == "auto" else post == "always",
            on_cancel=getattr(cfg, "on_cancel", "undo"),
            max_attempts=int(cfg.max_attempts),
            replay=replay,
            target=str(cfg.target),
        )


@dataclass
class RefundPlan:
    order: dict[str, Any]
    refund_id: int
    decision: str
    key: str = ""
    amount: Decimal = Decimal(0)
    message: str | None = None
    found: dict[str, Any] | None = None  # the credit memo BC holds under the key
    restocked: dict[int, Decimal] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    sales_order: dict[str, Any] | None = None  # the open BC sales order a reduction changes (with lines)
    reduced: list[dict[str, Any]] = field(default_factory=list)  # refunds reduced so far, this one last
    changes: list[reduce.LineChange] = field(default_factory=list)  # the planned line changes
    parts: dict[int, Decimal] = field(default_factory=dict)  # a split refund's reduced part (store line: qty)
    credit_key: str = ""  # a split refund's credit memo (``<key>-S``), the rest of the refund
    credit_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.decision not in REFUND_DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}")

    @property
    def rid(self) -> str:
        return memo.record_id(self.order["id"], self.refund_id)

    @property
    def number(self) -> str:
        return f"{self.order.get('number', self.order['id'])} refund {self.refund_id}"

    def write(self, action: str) -> Write | None:
        return next((w for w in self.writes if w.action == action), None)


# ------------------------------------------------------------------------------------------- refunds


def is_cancelled(order: Mapping[str, Any]) -> bool:
    return order.get("status") == "cancelled" or (
        order.get("status") == "refunded" and not order.get("refunds")
    )


def needs_look(order: Mapping[str, Any], booked_refunds: int) -> bool:
    """Whether a booked order has anything for this step (no call is made for the others)."""
    return bool(order.get("refunds")) or booked_refunds > 0 or is_cancelled(order)


def _is_posted(doc: Mapping[str, Any] | None) -> bool:
    return bool(doc) and str(doc.get("status")) not in ("Draft", "In Review")  # type: ignore[union-attr]


def open_invoice(order_docs: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The order's posted invoice when it still has an open entry (a credit memo can be applied to it)."""
    for doc in order_docs:
        if doc.get("@entity") == "salesInvoices" and _is_posted(doc) and doc.get("status") == "Open":
            return doc
    return None


def plan_refunds(
    order: dict[str, Any],
    refunds: list[dict[str, Any]],
    records: Mapping[int, dict[str, Any]],
    memos: Mapping[str, dict[str, Any]],
    order_docs: list[dict[str, Any]],
    policy: RefundPolicy,
    options: MappingOptions,
    item_numbers: Mapping[str, str] | None = None,
    sales_order: dict[str, Any] | None = None,
) -> list[RefundPlan]:
    """One plan per refund of ``order`` and per booked refund the store no longer has.

    ``records``: refund id -> its state record; ``memos``: credit memos by externalDocumentNumber (upper);
    ``order_docs``: the order's BC documents (found by its externalDocumentNumber, ``@entity`` set);
    ``sales_order``: the order's open BC sales order read with its lines (target ``sales_order`` only).
    """
    plans: list[RefundPlan] = []
    in_store = {int(r["id"]) for r in refunds}
    new = [r for r in refunds if (records.get(int(r["id"])) or {}).get("status") != "done"]
    booked: dict[int, Decimal] = {}
    for rec in records.values():
        if rec.get("status") == "done":
            for line, qty in ((rec.get("data") or {}).get("restocked") or {}).items():
                booked[int(line)] = booked.get(int(line), Decimal(0)) + Decimal(str(qty))
    restock = memo.allocate_restock(order, new, booked)
    ordered = sorted(refunds, key=lambda r: int(r["id"]))
    reducer = _Reducer(order, sales_order, records, memos, policy, options, item_numbers or {}, order_docs)
    for index, refund in enumerate(ordered):
        rid = int(refund["id"])
        if (records.get(rid) or {}).get("status") == "done":
            reducer.booked(refund, index)
            plans.append(
                RefundPlan(
                    order, rid, "unchanged", key=str((records[rid].get("data") or {}).get("key") or "")
                )
            )
            continue
        if (records.get(rid) or {}).get("status") == "on_hold" and not policy.replay:
            plans.append(RefundPlan(order, rid, "held", message="on hold: run `wcbc replay` once fixed"))
            continue
        reduction = reducer.plan(refund, index, restock.get(rid, {}))
        if reduction is not None:
            plans.append(reduction)
            continue
        plans.append(
            _plan_one(
                order, refund, index, memos, order_docs, policy, options, item_numbers, restock.get(rid, {})
            )
        )
    for rid, rec in sorted(records.items()):
        if rid not in in_store and rec.get("status") == "done":
            plans.append(_withdrawn(order, rid, rec, memos))
    return plans


class _Reducer:
    """Which refunds reduce the open sales order (target ``sales_order``), in refund id order: those whose
    marker BC holds or whose record says so, then each new one that fits above what is shipped/invoiced."""

    def __init__(
        self,
        order: dict[str, Any],
        sales_order: dict[str, Any] | None,
        records: Mapping[int, dict[str, Any]],
        memos: Mapping[str, dict[str, Any]],
        policy: RefundPolicy,
        options: MappingOptions,
        item_numbers: Mapping[str, str],
        order_docs: list[dict[str, Any]] | None = None,
    ) -> None:
        self.order, self.doc, self.records, self.memos = order, sales_order, records, memos
        self.policy, self.options, self.item_numbers = policy, options, item_numbers
        self.order_docs = order_docs or []
        self.active = policy.target == "sales_order" and sales_order is not None
        self.marks = reduce.marker_parts(sales_order) if sales_order else {}
        self.reduced: list[dict[str, Any]] = []

    def _expanded(self, refund: dict[str, Any], index: int) -> dict[str, Any] | None:
        try:
            key = memo.credit_memo_number(self.order, int(refund["id"]), self.policy.number_prefix)
        except RecordError:
            return None
        return {**memo.lines_of(refund, self.order, index), "_key": key}

    def booked(self, refund: dict[str, Any], index: int) -> None:
        data = (self.records[int(refund["id"])].get("data") or {})
        if self.active and data.get("reduced"):
            expanded = self._expanded(refund, index)
            if expanded is not None:
                parts = {int(k): Decimal(str(v)) for k, v in (data.get("parts") or {}).items()}
                part = {**split.take(expanded, parts), "_key": expanded["_key"]} if parts else expanded
                self.reduced.append(part)

    def plan(self, refund: dict[str, Any], index: int, restocked: dict[int, Decimal]) -> RefundPlan | None:
        """The reduction plan, or None: a credit memo as for the invoice targets."""
        if not self.active:
            return None
        expanded = self._expanded(refund, index)
        if expanded is None or expanded["_key"].upper() in self.memos:
            return None
        rid, key = int(refund["id"]), expanded["_key"]
        try:
            amount = memo.money(refund.get("amount"), "refund amount")
            if key.upper() in self.marks:
                parts = self.marks[key.upper()] or {}
                self.reduced.append({**split.take(expanded, parts), "_key": key} if parts else expanded)
                plan = RefundPlan(self.order, rid, "marked", key=key, amount=amount, restocked=restocked,
                                  sales_order=self.doc, reduced=list(self.reduced),
                                  message="found in BC (the order's marker), linked")
                return self._credit_part(plan, expanded, parts, index) if parts else plan
            assert self.doc is not None
            parts = {}
            try:
                part = expanded
                changes = reduce.plan_reduction(self.order, self.doc, [*self.reduced, part], key,
                                                self.options, self.policy.amount_account, self.item_numbers)
            except reduce.NotReducible:
                found = split.plan_split(self.order, self.doc, self.reduced, expanded, key, self.options,
                                         self.item_numbers)
                if found is None:
                    raise
                parts = found
                part = {**split.take(expanded, parts), "_key": key}
                changes = reduce.plan_reduction(self.order, self.doc, [*self.reduced, part], key,
                                                self.options, self.policy.amount_account, self.item_numbers)
        except reduce.NotReducible:
            return None
        except (RecordError, MoneyError, ArithmeticError, ValueError) as exc:
            return RefundPlan(self.order, rid, "rejected", key=key, message=f"refund {rid}: {exc}")
        self.reduced.append(part)
        plan = RefundPlan(self.order, rid, "reduce", key=key, amount=amount, restocked=restocked,
                          sales_order=self.doc, reduced=list(self.reduced), changes=changes)
        plan.writes.append(Write(plan.rid, "reduce_order", "bc", key, note=str(self.doc.get("number"))))
        if not parts:
            return plan
        plan = self._credit_part(plan, expanded, parts, index)
        if plan.decision == "rejected":
            self.reduced.pop()  # nothing is reduced
        return plan

    def _credit_part(
        self, plan: RefundPlan, expanded: dict[str, Any], parts: dict[int, Decimal], index: int
    ) -> RefundPlan:
        """A split refund: the rest (on shipped quantity) is one credit memo ``<key>-S``, created after the
        reduction unless BC holds it already (looked up again before the create)."""
        assert self.doc is not None
        ckey = split.credit_key(plan.key)
        if ckey is None:  # the marker was written by hand or the prefix changed: not ours to guess
            return RefundPlan(self.order, plan.refund_id, "rejected", key=plan.key,
                              message=f"refund {plan.refund_id}: {plan.key}-S is over 35 characters")
        invoice = open_invoice(self.order_docs)
        try:
            body, amount = split.credit_body(
                self.order, expanded, parts, ckey, self.options, plan.restocked,
                customer_number=str(self.doc.get("customerNumber")),
                refund_account=self.policy.refund_account, amount_account=self.policy.amount_account,
                item_numbers=self.item_numbers, prior_refunds=index,
                invoice_number=str(invoice["number"]) if invoice else None,
            )
        except (RecordError, MoneyError) as exc:
            return RefundPlan(self.order, plan.refund_id, "rejected", key=plan.key,
                              message=f"refund {plan.refund_id}: {exc}")
        plan.parts, plan.credit_key, plan.credit_amount = parts, ckey, amount
        plan.writes.append(Write(plan.rid, "create_credit_memo", "bc", ckey, body, note="salesCreditMemos"))
        if self.policy.post:
            plan.writes.append(Write(plan.rid, "post", "bc", ckey, note="Microsoft.NAV.post"))
        return plan


def _plan_one(
    order: dict[str, Any],
    refund: dict[str, Any],
    index: int,
    memos: Mapping[str, dict[str, Any]],
    order_docs: list[dict[str, Any]],
    policy: RefundPolicy,
    options: MappingOptions,
    item_numbers: Mapping[str, str] | None,
    restocked: dict[int, Decimal],
) -> RefundPlan:
    rid = int(refund["id"])
    try:
        key = memo.credit_memo_number(order, rid, policy.number_prefix)
        amount = memo.money(refund.get("amount"), "refund amount")
    except RecordError as exc:
        return RefundPlan(order, rid, "rejected", message=str(exc))
    record = memo.record_id(order["id"], rid)
    found = memos.get(key.upper())
    if found is not None:
        plan = RefundPlan(
            order,
            rid,
            "linked",
            key=key,
            amount=amount,
            found=found,
            restocked=restocked,
            message="found in BC, linked",
        )
        if policy.post and not _is_posted(found):
            plan.writes.append(Write(record, "post", "bc", key, note="Microsoft.NAV.post"))
        return plan
    document = next((d for d in order_docs if d.get("customerNumber")), None)
    if document is None:
        return RefundPlan(
            order,
            rid,
            "rejected",
            key=key,
            amount=amount,
            message=f"refund {rid}: BC shows no document for order {order.get('number')}",
        )
    invoice = open_invoice(order_docs)
    try:
        body = memo.map_credit_memo(
            order,
            refund,
            options,
            customer_number=str(document["customerNumber"]),
            refund_account=policy.refund_account,
            amount_account=policy.amount_account,
            restocked=restocked,
            invoice_number=str(invoice["number"]) if invoice else None,
            item_numbers=item_numbers,
            prior_refunds=index,
        )
    except RecordError as exc:
        return RefundPlan(order, rid, "rejected", key=key, amount=amount, message=f"refund {rid}: {exc}")
    plan = RefundPlan(order, rid, "credit", key=key, amount=amount, restocked=restocked)
    plan.writes.append(Write(record, "create_credit_memo", "bc", key, body, note="salesCreditMemos"))
    if policy.post:
        plan.writes.append(Write(record, "post", "bc", key, note="Microsoft.NAV.post"))
    return plan


def _withdrawn(
    order: dict[str, Any], rid: int, record: dict[str, Any], memos: Mapping[str, dict[str, Any]]
) -> RefundPlan:
    key = str((record.get("data") or {}).get("key") or "")
    found = memos.get(key.upper()) if key else None
    if found is None:
        return RefundPlan(
            order,
            rid,
            "gone",
            key=key or "-",
            message="refund deleted in the store; BC holds no credit memo for it",
        )
    if _is_posted(found):
        return RefundPlan(
            order,
            rid,
            "conflict",
            key=key,
            found=found,
            message=(
                f"refund deleted in the store but credit memo {found.get('number')} is posted: "
                "reverse it in BC by hand (a corrective invoice) or make the refund again in the store"
            ),
        )
    plan = RefundPlan(
        order,
        rid,
        "withdrawn",
        key=key,
        found=found,
        message=f"refund deleted in the store: draft credit memo {found.get('number')} deleted",
    )
    plan.writes.append(Write(plan.rid, "delete_credit_memo", "bc", key, note=str(found.get("number"))))
    return plan
