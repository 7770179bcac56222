"""``reconcile --orders``, the refund side: refunds with no credit memo, credit memos with no refund, and
amounts that differ. It only reports.

Read (adapters only): the store's refunds created in the period (``GET /refunds``) with their orders, and
BC's credit memos dated in it whose externalDocumentNumber has the connector's ``-R<refund id>`` form.
Compare (pure, :func:`compare_refunds`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.reconcile.report import OrderIssue, OrdersCheck
from wcbc.sync.refunds.memo import credit_memo_number

KEY = re.compile(r"-R\d+$")


def check_refunds(woo: Any, bc: Any, state: Any, config: Any, since: datetime, check: OrdersCheck) -> None:
    refunds = list(woo.iter_refunds(after=since))
    orders = {int(o["id"]): o for o in woo.orders_by_ids({int(r["parent_id"]) for r in refunds})}
    expected: dict[str, dict[str, Any]] = {}
    for refund in refunds:
        order = orders.get(int(refund["parent_id"]))
        booked = order is not None and (
            state.link_get("order", str(order["id"])) is not None
            or order.get("status") in config.orders.statuses
        )
        if not booked:
            continue  # a refund of an order never booked needs no credit memo
        record = state.record_get(f"refund:{order['id']}-{refund['id']}")  # type: ignore[index]
        if record is not None and (record.get("data") or {}).get("reduced"):
            continue  # it reduced the open sales order (target sales_order): no credit memo
        try:
            key = credit_memo_number(order, refund["id"], config.orders.number_prefix or "")  # type: ignore[arg-type]
        except RecordError:
            continue
        expected[key] = {
            "order_id": order["id"],
            "amount": refund.get("amount"),  # type: ignore[index]
            "refund": refund["id"],
        }
    params = {
        "$filter": f"creditMemoDate ge {since.date().isoformat()} and externalDocumentNumber ne ''",
        "$select": "id,number,externalDocumentNumber,totalAmountIncludingTax,status",
    }
    memos = {
        str(m.get("externalDocumentNumber") or "").upper(): m
        for m in bc.iter("salesCreditMemos", params)
        if KEY.search(str(m.get("externalDocumentNumber") or ""))
    }
    compare_refunds(check, expected, memos, lambda bc_id: state.link_by_bc("refund", bc_id) is not None)


def compare_refunds(
    check: OrdersCheck,
    expected: dict[str, dict[str, Any]],
    memos: dict[str, dict[str, Any]],
    linked: Callable[[str], bool],
) -> None:
    for key, info in sorted(expected.items()):
        memo = memos.get(key)
        if memo is None:
            check.issues.append(
                OrderIssue(
                    "refund_without_credit_memo",
                    key,
                    info["order_id"],
                    detail=f"refund {info['refund']} ({info['amount']}) has no credit memo",
                )
            )
            continue
        try:
            differs = parse_money(info["amount"]) != parse_money(memo.get("totalAmountIncludingTax"))
        except MoneyError:
            differs = True
        if differs:
            check.issues.append(
                OrderIssue(
                    "refund_amount_differs",
                    key,
                    info["order_id"],
                    [str(memo.get("number"))],
                    detail=f"refund {info['amount']} vs credit memo {memo.get('totalAmountIncludingTax')}",
                )
            )
    for key, memo in sorted(memos.items()):
        if key not in expected:
            check.issues.append(
                OrderIssue(
                    "credit_memo_without_refund",
                    key,
                    None,
                    [str(memo.get("number"))],
                    detail="no refund in the period carries this number"
                    + (" (it is linked: the refund was deleted?)" if linked(str(memo.get("id"))) else ""),
                )
            )


__all__ = ["check_refunds", "compare_refunds"]
