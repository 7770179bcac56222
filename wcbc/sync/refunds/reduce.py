"""Pure: a refund of an order booked as an open BC sales order -> the line changes that reduce the order.

With ``orders.target = "sales_order"`` a refund whose quantities are not yet shipped or invoiced reduces
the open sales order instead of becoming a credit memo (README "How refunds and cancellations are
booked"). The changes are computed as TARGETS, not deltas: each BC line is set to what the store's line
holds less every refund reduced on the order so far (those with a marker in BC, and the one at hand), so
doing the same refund twice changes nothing the second time.

* An item line: quantity, unitPrice and discountAmount recomputed from the store's line less the refunded
  quantity and amounts (``split_line_amount``, the order mapping's rule); a line brought to 0 is deleted.
* A shipping or fee line (quantity 1): its unitPrice less the refunded amount; 0 -> deleted.
* What the refund's amount holds beyond its lines: one negative Account line on
  ``orders.refund_amount_account`` described ``Refund <key>`` (the contract does not refuse a negative
  order line, nor does the sandbox).
* The marker: a Comment line ``WooCommerce refund <key>`` added last; the next run (even after a lost
  state DB) finds it and books nothing again.

:func:`plan_reduction` raises :class:`NotReducible` when the refund cannot reduce the order (the order is
released, a line would go below what is shipped or invoiced, the BC lines cannot be told apart): the
refund is then a credit memo as for the invoice targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.money import MoneyError, parse_money, round_money, to_json_number
from wcbc.sync.mapping.orders import MappingOptions, clip, split_line_amount
from wcbc.sync.mapping.orders.text import DESCRIPTION_MAX
from wcbc.sync.refunds import memo

PART = " part "


class NotReducible(Exception):
    """The refund cannot reduce the open sales order: it becomes a credit memo."""


def marker_text(key: str, parts: Mapping[int, Decimal] | None = None, amount: Decimal | None = None) -> str:
    """``WooCommerce refund <key>``; a split refund's marker adds the reduced part's amount and quantities
    (store line id x quantity): ``WooCommerce refund <key> part 21.45: 101x1 102x2`` (see :mod:`.split`)."""
    if parts:
        shown = " ".join(f"{line}x{qty.normalize():f}" for line, qty in sorted(parts.items()))
        return f"WooCommerce refund {key}{PART}{amount}: {shown}"
    return clip(f"WooCommerce refund {key}", DESCRIPTION_MAX)


def residual_text(key: str) -> str:
    return clip(f"Refund {key} not tied to a line", DESCRIPTION_MAX)


def markers(doc: Mapping[str, Any]) -> set[str]:
    """The refund keys whose reduction the BC order already carries (upper-cased)."""
    return set(marker_parts(doc))


def marker_parts(doc: Mapping[str, Any]) -> dict[str, dict[int, Decimal] | None]:
    """Refund key (upper-cased) -> the reduced part its marker names (store line id -> quantity), or None
    when the whole refund was reduced."""
    out: dict[str, dict[int, Decimal] | None] = {}
    for line in doc.get("salesOrderLines") or []:
        text = str(line.get("description") or "")
        if line.get("lineType") != "Comment" or not text.startswith("WooCommerce refund "):
            continue
        key, sep, rest = text.removeprefix("WooCommerce refund ").partition(PART)
        parts: dict[int, Decimal] | None = None
        if sep:
            parts = {}
            for token in rest.partition(":")[2].split():
                line_id, _, qty = token.partition("x")
                if not line_id.isdigit():
                    break
                try:
                    parts[int(line_id)] = Decimal(qty)
                except ArithmeticError:
                    break
        out[key.strip().upper()] = parts
    return out


@dataclass
class LineChange:
    action: str  # patch | delete | add
    line: Mapping[str, Any] | None = None  # the BC line changed (patch, delete)
    body: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def preview(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "line": self.text}
        if self.line is not None:
            out["sequence"] = self.line.get("sequence")
        if self.body:
            out["body"] = self.body
        return out


@dataclass
class _Target:
    key: tuple[str, str, str]
    text: str
    quantity: Decimal
    subtotal: Decimal
    total: Decimal
    item: bool  # quantity and discount matter (an item line)
    line_id: int = 0  # the store's order line


def _dec(value: Any) -> Decimal:
    try:
        return parse_money(value if value not in (None, "") else 0)
    except MoneyError:
        raise RecordError(f"BC line value is not a number: {value!r}") from None


def _gross(line: Mapping[str, Any], options: MappingOptions, key: str) -> Decimal:
    amount = memo.money(line.get(key), key)
    if options.prices_include_tax:
        amount += memo.money(line.get(f"{key}_tax"), f"{key}_tax")
    return amount


def _targets(
    order: Mapping[str, Any],
    refunds: list[Mapping[str, Any]],
    options: MappingOptions,
    item_numbers: Mapping[str, str],
) -> list[_Target]:
    """One target per store line: its amounts less what ``refunds`` (already expanded) took."""
    taken: dict[tuple[str, int], list[Decimal]] = {}
    for refund in refunds:
        for kind in ("line_items", "shipping_lines", "fee_lines"):
            for line in refund.get(kind) or []:
                original = memo.refunded_item_id(line)
                if original is None:
                    raise NotReducible(f"a refunded {kind} line names no line of the order")
                acc = taken.setdefault((kind, original), [Decimal(0)] * 3)
                acc[0] += memo.money(line.get("quantity"), "quantity")
                acc[1] += _gross(line, options, "subtotal") if kind == "line_items" else Decimal(0)
                acc[2] += _gross(line, options, "total")
    out: list[_Target] = []
    for kind in ("line_items", "shipping_lines", "fee_lines"):
        for line in order.get(kind) or []:
            qty, sub, tot = taken.get((kind, int(line["id"])), [Decimal(0)] * 3)
            total = round_money(_gross(line, options, "total"), options.decimals)
            if kind == "line_items":
                sku = str(line.get("sku") or "").strip()
                number = item_numbers.get(sku.upper(), sku).upper()
                quantity = memo.money(line.get("quantity"), "quantity")
                subtotal = round_money(_gross(line, options, "subtotal"), options.decimals)
                if quantity == 0 and total == 0:
                    continue
                out.append(
                    _Target(("Item", number, ""), f"{line.get('name') or sku}", quantity - qty,
                            subtotal - sub, total - tot, True, int(line["id"]))
                )
                continue
            if total == 0:
                continue
            if kind == "shipping_lines":
                title = str(line.get("method_title") or line.get("method_id") or "Shipping")
                if options.shipping_account:
                    key = ("Account", options.shipping_account, clip(title, DESCRIPTION_MAX))
                else:
                    key = ("Item", str(options.shipping_item or ""), "")
            else:
                title = str(line.get("name") or "Fee")
                key = ("Account", str(options.fee_account or ""), clip(title, DESCRIPTION_MAX))
            out.append(_Target(key, title, Decimal(1), total - tot, total - tot, False, int(line["id"])))
    return out


def _line_key(line: Mapping[str, Any]) -> tuple[str, str, str]:
    kind = str(line.get("lineType"))
    desc = str(line.get("description") or "") if kind == "Account" else ""
    return (kind, str(line.get("lineObjectNumber") or "").upper(), desc)


def plan_reduction(
    order: Mapping[str, Any],
    doc: Mapping[str, Any],
    reduced: list[Mapping[str, Any]],
    key: str,
    options: MappingOptions,
    amount_account: str | None,
    item_numbers: Mapping[str, str] | None = None,
) -> list[LineChange]:
    """The line changes that bring the BC order ``doc`` (with ``salesOrderLines``) to the store's order less
    the ``reduced`` refunds ((refund, key, index) expanded: the last is the one at hand, keyed ``key``).
    Raises :class:`NotReducible` (a credit memo instead) or :class:`RecordError`."""
    if str(doc.get("status")) not in ("Draft", "None", ""):
        raise NotReducible(f"sales order {doc.get('number')} is {doc.get('status')}: its lines cannot change")
    numbers = {k.upper(): v for k, v in (item_numbers or {}).items()}
    targets = _targets(order, reduced, options, numbers)
    lines = [ln for ln in doc.get("salesOrderLines") or [] if ln.get("lineType") != "Comment"]
    by_key: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for line in lines:
        by_key.setdefault(_line_key(line), []).append(line)
    keys = [t.key for t in targets]
    if len(set(keys)) != len(keys) or any(len(by_key.get(k, [])) > 1 for k in keys):
        raise NotReducible("the order's BC lines cannot be told apart (two lines, one item or account)")
    changes: list[LineChange] = []
    for target in targets:
        found = by_key.get(target.key)
        line = found[0] if found else None
        if target.quantity < 0 or target.total < 0:
            raise NotReducible(f"{target.text}: more refunded than ordered")
        if line is None:
            if target.total == 0 and target.quantity == 0 or not target.item and target.total == 0:
                continue  # deleted by an earlier reduction
            raise NotReducible(f"{target.text}: BC order {doc.get('number')} has no line for it")
        floor = max(_dec(line.get("shippedQuantity")), _dec(line.get("invoicedQuantity")))
        quantity = target.quantity if target.item else (Decimal(1) if target.total else Decimal(0))
        if quantity < floor:
            raise NotReducible(
                f"{target.text}: {floor} already shipped or invoiced in BC, the order line cannot go to "
                f"{quantity}"
            )
        if quantity == 0:
            if target.total != 0:
                raise NotReducible(f"{target.text}: an amount left on a line with no quantity")
            changes.append(LineChange("delete", line, text=f"{target.text}: deleted"))
            continue
        if target.item:
            unit, discount = split_line_amount(quantity, target.subtotal, target.total, options.decimals)
            want = {"quantity": quantity, "unitPrice": unit, "discountAmount": discount}
        else:
            want = {"quantity": quantity, "unitPrice": target.total}
        body = {k: to_json_number(v) for k, v in want.items() if _dec(line.get(k)) != v}
        if body:
            changes.append(LineChange("patch", line, body, f"{target.text}: {body}"))
    changes += _residuals(order, reduced, doc, options, amount_account)
    return changes


def _residuals(
    order: Mapping[str, Any],
    reduced: list[Mapping[str, Any]],
    doc: Mapping[str, Any],
    options: MappingOptions,
    amount_account: str | None,
) -> list[LineChange]:
    have = {str(ln.get("description") or "") for ln in doc.get("salesOrderLines") or []}
    out = []
    for refund in reduced:
        covered = sum(
            (
                memo.money(line.get("total"), "total") + memo.money(line.get("total_tax"), "total_tax")
                for kind in ("line_items", "shipping_lines", "fee_lines")
                for line in refund.get(kind) or []
            ),
            Decimal(0),
        )
        residual = round_money(memo.money(refund.get("amount"), "amount") - covered, options.decimals)
        text = residual_text(str(refund.get("_key")))
        if residual == 0 or text in have:
            continue
        if not amount_account:
            raise RecordError(
                f"a refund amount not tied to a line needs orders.refund_amount_account (order "
                f"{order.get('number')})",
                hint="set orders.refund_amount_account (a G/L account number) in the config",
            )
        body = {
            "lineType": "Account",
            "lineObjectNumber": amount_account,
            "description": text,
            "quantity": 1,
            "unitPrice": to_json_number(-residual),
        }
        out.append(LineChange("add", None, body, text))
    return out


def expected_total(order: Mapping[str, Any], reduced: list[Mapping[str, Any]]) -> Decimal:
    """The store's order total less the refunds reduced on the BC order."""
    total = memo.money(order.get("total"), "order total")
    return total - sum((memo.money(r.get("amount"), "refund amount") for r in reduced), Decimal(0))
