"""``reconcile --orders``: the order side of a period, checked; it only reports.

Read (adapters only): web orders in a booked status modified in the period, and BC sales orders and
invoices dated in it that carry an external document number. Check (pure, :func:`compare`): web orders
with no BC document, BC documents with no web order (and no order link), two BC documents for one web
order, and totals, tax or currency that differ (beyond ``[orders] total_tolerance`` for amounts); the
order-to-cash issues of :mod:`wcbc.sync.reconcile.o2c`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.core.time import odata_literal, parse
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.reconcile.o2c import compare_o2c, read_order_lines, read_shipped, shipped_open_orders
from wcbc.sync.reconcile.refunds import check_refunds
from wcbc.sync.reconcile.report import OrderIssue, OrdersCheck

_DOCUMENTS = (
    ("salesOrders", "orderDate",
     "id,number,externalDocumentNumber,totalAmountIncludingTax,totalTaxAmount,currencyCode,orderDate"),
    ("salesInvoices", "invoiceDate",
     "id,number,externalDocumentNumber,totalAmountIncludingTax,totalTaxAmount,currencyCode,invoiceDate,"
     "orderNumber,status,remainingAmount"),
)


def check_orders(woo: Any, bc: Any, state: Any, config: Any, since: datetime | None,
                 started: datetime) -> OrdersCheck:
    """Read the period's web orders and BC documents and compare them."""
    cfg = config.orders
    if since is None:
        start_date = parse(str(cfg.start_date)) if cfg.start_date else None
        since = start_date or started - timedelta(days=30)
    check = OrdersCheck(since=odata_literal(since))
    web = read_web_orders(woo, cfg, since, check)
    _less_reduced_refunds(web, state)
    documents = read_bc_documents(bc, since, check)

    def linked(document_id: str) -> bool:
        return bool(state.link_by_bc("order", document_id))

    compare(check, web, documents, Decimal(str(cfg.total_tolerance)), linked)
    check_refunds(woo, bc, state, config, since, check)  # refunds vs credit memos
    payments_on = bool(getattr(getattr(config, "payments", None), "journals", None))
    shipped = read_shipped(bc, since)
    open_shipped = shipped_open_orders(documents, shipped)
    compare_o2c(check, web, documents, shipped, payments_on=payments_on,
                order_lines=read_order_lines(bc, open_shipped) if open_shipped else {})
    return check


def _less_reduced_refunds(web: dict[str, dict[str, Any]], state: Any) -> None:
    """A refund that reduced the open sales order (target sales_order, README "How refunds and
    cancellations are booked") took its amount and its tax off the BC order: the web total and tax less
    them are compared."""
    reduced: dict[str, tuple[Decimal, Decimal]] = {}
    for record in state.records(kind="refund", status="done"):
        data = record.get("data") or {}
        order_id = str(record["id"]).partition(":")[2].partition("-")[0]
        if data.get("reduced") and order_id.isdigit():
            with contextlib.suppress(ArithmeticError):
                amount, tax = reduced.get(order_id, (Decimal(0), Decimal(0)))
                reduced[order_id] = (amount + Decimal(str(data.get("amount") or 0)),
                                     tax + Decimal(str(data.get("tax") or 0)))
    for info in web.values():
        less = reduced.get(str(info["id"]))
        if not less:
            continue
        for key, value in zip(("total", "tax"), less, strict=True):
            if info.get(key) is not None:
                with contextlib.suppress(ArithmeticError):  # an unreadable value is reported by compare
                    info[key] = str(Decimal(str(info[key])) - value)


def read_web_orders(woo: Any, cfg: Any, since: datetime, check: OrdersCheck) -> dict[str, dict[str, Any]]:
    """External document number -> the web order's id, total and number; an order whose number cannot
    be made is an issue at once."""
    prefix = cfg.number_prefix or ""
    web: dict[str, dict[str, Any]] = {}
    for order in woo.iter_orders(modified_after=since, status=",".join(cfg.statuses)):
        check.woo_orders += 1
        try:
            number = mapping.document_number(order, prefix)
        except RecordError as exc:
            check.issues.append(
                OrderIssue("missing_in_bc", str(order.get("number")), order.get("id"), detail=str(exc)))
            continue
        web[number.upper()] = {"id": order.get("id"), "total": order.get("total"),
                               "number": order.get("number"), "tax": order.get("total_tax"),
                               "currency": order.get("currency"), "status": order.get("status"),
                               "date_paid": order.get("date_paid")}
    return web


def read_bc_documents(bc: Any, since: datetime, check: OrdersCheck) -> dict[str, list[dict[str, Any]]]:
    """External document number -> the BC sales orders and invoices that carry it."""
    documents: dict[str, list[dict[str, Any]]] = {}
    day = since.date().isoformat()
    for entity, date_field, fields in _DOCUMENTS:
        params = {"$filter": f"{date_field} ge {day} and externalDocumentNumber ne ''", "$select": fields}
        for doc in bc.iter(entity, params):
            ext = str(doc.get("externalDocumentNumber") or "").strip().upper()
            if not ext:
                continue
            check.bc_documents += 1
            documents.setdefault(ext, []).append({
                "entity": entity,
                "id": doc.get("id"),
                "number": str(doc.get("number") or ""),
                "total": doc.get("totalAmountIncludingTax"),
                "tax": doc.get("totalTaxAmount"),
                "currency": doc.get("currencyCode"),
                "orderNumber": doc.get("orderNumber") or "",
                "status": doc.get("status"),
                "remaining": doc.get("remainingAmount"),
            })
    return documents


def compare(check: OrdersCheck, web: dict[str, dict[str, Any]], documents: dict[str, list[dict[str, Any]]],
            tolerance: Decimal, linked: Callable[[str], bool]) -> None:
    """The issues between what was read on each side, added to ``check``."""
    for ext, info in sorted(web.items()):
        docs = documents.get(ext)
        if not docs:
            check.issues.append(OrderIssue("missing_in_bc", ext, info["id"],
                                           detail=f"web order {info['number']} has no BC document"))
            continue
        check.matched += 1
        distinct = distinct_documents(docs)
        if len(distinct) > 1:
            check.issues.append(_duplicate(ext, info["id"], distinct))
        doc = next((d for d in distinct if d["entity"] == "salesInvoices"), distinct[0])
        try:
            result = mapping.compare_totals({"total": info["total"], "number": info["number"]},
                                            {"totalAmountIncludingTax": doc["total"]}, tolerance)
        except RecordError as exc:
            check.issues.append(OrderIssue("total_differs", ext, info["id"], [doc["number"]],
                                           detail=str(exc)))
            continue
        if not result.within_tolerance:
            check.issues.append(OrderIssue(
                "total_differs", ext, info["id"], [f"{doc['entity']} {doc['number']}"],
                detail=f"WooCommerce {result.woo_total} vs BC {result.bc_total} "
                f"(difference {result.difference}, tolerance {tolerance})"))
        check.issues.extend(agreement_issues(ext, info, doc, tolerance))
    for ext, docs in sorted(documents.items()):
        if ext in web:
            continue
        distinct = distinct_documents(docs)
        if len(distinct) > 1:
            check.issues.append(_duplicate(ext, None, distinct))
        if not any(linked(str(d["id"])) for d in distinct):
            check.issues.append(OrderIssue(
                "missing_in_woo", ext, None, [f"{d['entity']} {d['number']}" for d in distinct],
                detail="no WooCommerce order in the period carries this number"))


def agreement_issues(ext: str, info: dict[str, Any], doc: dict[str, Any], tolerance: Decimal
                     ) -> list[OrderIssue]:
    """The tax and the currency of a booked document against the web order's (when both sides say)."""
    found: list[OrderIssue] = []
    where = [f"{doc['entity']} {doc['number']}"]
    if info.get("tax") is not None and doc.get("tax") is not None:
        try:
            woo, bc = parse_money(info["tax"]), parse_money(doc["tax"])
        except MoneyError:
            woo = bc = Decimal(0)
        if abs(woo - bc) > tolerance:
            found.append(OrderIssue("tax_differs", ext, info["id"], where,
                                    detail=f"tax: WooCommerce {woo} vs BC {bc} (difference {woo - bc})"))
    woo_cur, bc_cur = str(info.get("currency") or "").upper(), str(doc.get("currency") or "").upper()
    if woo_cur and bc_cur and woo_cur != bc_cur:
        found.append(OrderIssue("currency_differs", ext, info["id"], where,
                                detail=f"currency: WooCommerce {woo_cur} vs BC {bc_cur}"))
    return found


def _duplicate(ext: str, order_id: Any, distinct: list[dict[str, Any]]) -> OrderIssue:
    return OrderIssue("duplicate", ext, order_id, [f"{d['entity']} {d['number']}" for d in distinct],
                      detail=f"{len(distinct)} BC documents carry external document number {ext}")


def distinct_documents(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of one external number, without the invoice made by shipping one of the orders.

    Shipping and invoicing an order leaves the order (until fully invoiced) and a posted invoice whose
    ``orderNumber`` names it: one sale, not a duplicate.
    """
    orders = {d["number"] for d in docs if d["entity"] == "salesOrders"}
    result = []
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if doc["entity"] == "salesInvoices" and doc.get("orderNumber") and doc["orderNumber"] in orders:
            continue
        key = (doc["entity"], str(doc["id"]))
        if key not in seen:
            seen.add(key)
            result.append(doc)
    return result
