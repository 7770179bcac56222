"""Refunds of the WooCommerce simulator (mixed into WooStore; every method expects the store lock held).

What WooCommerce 10.0.2 does (contracts/woocommerce.md §8.1, §8.2; WC10 ``wc_create_refund()``,
``wc_restock_refunded_items()``, ``wc_order_fully_refunded()``, ``RestApiParameterUtil``):

- a refund is its own object (a post id from the order sequence) holding negative copies of the refunded
  order items: new item id, quantity x -1, ``subtotal`` = ``total`` = -refund_total, taxes -refund_tax per
  rate id, meta ``_refunded_item_id`` = the original item id as a string; ``amount`` is positive;
- ``amount`` absent: the sum of every numeric ``refund_total`` and every ``refund_tax``; given: it wins;
- ``amount`` < 0 -> 400; ``amount`` > what remains refundable -> 500 "Invalid refund amount.";
- ``api_refund`` (default true) asks the order's gateway: an offline gateway (bacs, cheque, cod) -> 500
  "...does not support automatic refunds.", an unknown one -> 500 "...does not exist.", and the refund is
  deleted again; ``api_restock`` (default true) puts the refunded quantities of managed-stock line items
  back (``_reduced_stock`` lowered, ``_restock_refunded_items`` raised); ``restock_items`` is ignored;
- nothing left to refund -> the order becomes ``refunded``; the order's ``date_modified`` moves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wcbc.sandbox.woo.model import FeeLine, LineItem, Order, Refund, RestError, ShippingLine, TaxLine
from wcbc.sandbox.woo.money import ZERO, dec, round_money

# Core gateways: the offline ones declare no refund support (WC10 includes/gateways/*).
DEFAULT_GATEWAYS = {
    "bacs": False,
    "cheque": False,
    "cod": False,
    "stripe": True,
    "woocommerce_payments": True,
    "ppcp-gateway": True,
}
FULLY_REFUNDED_NOTE = (
    "Order status set to refunded. To return funds to the customer you will need to issue a refund "
    "through your payment gateway."
)
FALSE_WORDS = ("false", "0", "no", "off", "")


def rest_bool(value: Any, default: bool = True) -> bool:
    """``api_refund``/``api_restock`` as the REST layer reads them (absent -> default)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() not in FALSE_WORDS


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        Decimal(str(value).strip())
    except ArithmeticError:
        return False
    return str(value).strip() != ""


def _negative(value: Any) -> Decimal:
    """``wc_format_refund_total``: a refund item's amounts are stored negative."""
    return -abs(dec(value))


def _adjust_line_items(raw: list[Any]) -> dict[int, dict[str, Any]]:
    """REST ``line_items`` -> ``{item id: {qty, refund_total, refund_tax: {rate id: amount}}}``."""
    out: dict[int, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict):
            continue
        try:
            item_id = int(item.get("id") or 0)
        except (TypeError, ValueError):
            continue
        taxes: dict[int, Any] = {}
        for tax in item.get("refund_tax") or []:
            if isinstance(tax, dict) and str(tax.get("id", "")).isdigit():
                taxes[int(tax["id"])] = tax.get("refund_total")
        try:
            qty = int(item.get("quantity") or 0)
        except (TypeError, ValueError):
            qty = 0
        out[item_id] = {"qty": qty, "refund_total": item.get("refund_total"), "refund_tax": taxes}
    return out


class RefundsMixin:
    """Refund records, restocking and the fully-refunded status (lock held)."""

    def refunded_total(self, order: Order) -> Decimal:
        return sum((r.amount for r in order.refunds), ZERO)

    def remaining_refund_amount(self, order: Order) -> Decimal:
        return round_money(order.total - self.refunded_total(order), self.decimals)

    def create_refund(self, order: Order, data: dict[str, Any], *, user_id: int = 1) -> Refund:
        """A refund as ``POST /orders/{id}/refunds`` makes it (validation of types done by the caller)."""
        lines = _adjust_line_items(data.get("line_items") or [])
        if data.get("amount") is None:
            amount = ZERO
            for item in lines.values():
                if _numeric(item["refund_total"]):
                    amount += dec(item["refund_total"])
                amount += sum((dec(v) for v in item["refund_tax"].values() if _numeric(v)), ZERO)
        else:
            amount = dec(data["amount"])
        if amount < 0:
            raise RestError(
                400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero."
            )
        return self._wc_create_refund(
            order,
            amount=amount,
            reason=str(data.get("reason") or ""),
            lines=lines,
            refund_payment=rest_bool(data.get("api_refund")),
            restock=rest_bool(data.get("api_restock")),
            meta=data.get("meta_data") if isinstance(data.get("meta_data"), list) else [],
            user_id=user_id,
        )

    def _wc_create_refund(
        self,
        order: Order,
        *,
        amount: Decimal,
        reason: str,
        lines: dict[int, dict[str, Any]],
        refund_payment: bool,
        restock: bool,
        meta: list[Any] | None = None,
        user_id: int = 1,
    ) -> Refund:
        remaining = self.remaining_refund_amount(order)
        if amount < 0 or amount > remaining:
            raise RestError(500, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        refund = Refund(self._new_post_id(), order.id, self.now(), amount, reason, user_id)
        self._copy_refunded_items(order, refund, lines)
        if refund_payment:
            error = self._gateway_refund_error(order)
            if error is not None:  # the refund is deleted again (its id stays used)
                raise RestError(500, "woocommerce_rest_cannot_create_order_refund", error)
            refund.refunded_payment = True
        if meta:
            self._merge_meta(refund.meta_data, meta)
        order.refunds.insert(0, refund)
        self.refund_index[refund.id] = refund
        if restock:
            self.restock_refunded_items(order, lines)
        if remaining - amount <= 0 and order.status != "refunded":
            self.set_status(order, "refunded")
        order.date_modified = self.now()
        return refund

    def _gateway_refund_error(self, order: Order) -> str | None:
        """``wc_refund_payment``: None when the gateway paid the money back, else the error message."""
        supports = self.payment_gateways.get(order.payment_method)
        if supports is None:
            return "The payment gateway for this order does not exist."
        if not supports:
            return "The payment gateway for this order does not support automatic refunds."
        if self.refund_gateway_error:
            return self.refund_gateway_error
        return None

    def _copy_refunded_items(self, order: Order, refund: Refund, lines: dict[int, dict[str, Any]]) -> None:
        rate_totals: dict[int, list[Decimal]] = {}
        items: list[LineItem | FeeLine | ShippingLine] = [
            *order.line_items,
            *order.fee_lines,
            *order.shipping_lines,
        ]
        for item in items:
            args = lines.get(item.id)
            if args is None:
                continue
            taxes = {rid: _negative(v) for rid, v in args["refund_tax"].items() if dec(v) != 0}
            if not args["qty"] and not dec(args["refund_total"]) and not taxes:
                continue
            total = _negative(args["refund_total"])
            meta = [
                {**m, "id": self._new_meta_id()} for m in item.meta_data if not str(m["key"]).startswith("_")
            ]
            meta.append(
                {
                    "id": self._new_meta_id(),
                    "key": "_refunded_item_id",
                    "value": str(item.id),
                    "display_key": "_refunded_item_id",
                    "display_value": str(item.id),
                }
            )
            shipping = isinstance(item, ShippingLine)
            for rid, value in taxes.items():
                rate_totals.setdefault(rid, [ZERO, ZERO])[1 if shipping else 0] += value
            if isinstance(item, LineItem):
                refund.line_items.append(
                    LineItem(
                        id=self._new_item_id(),
                        name=item.name,
                        product_id=item.product_id,
                        variation_id=item.variation_id,
                        quantity=-args["qty"],
                        unit_price=item.unit_price,
                        tax_class=item.tax_class,
                        sku=item.sku,
                        parent_name=item.parent_name,
                        image_id=item.image_id,
                        meta_data=meta,
                        subtotal=total,
                        total=total,
                        taxes={rid: (v, v) for rid, v in taxes.items()},
                        taxable=item.taxable,
                    )
                )
            elif isinstance(item, FeeLine):
                refund.fee_lines.append(
                    FeeLine(
                        self._new_item_id(),
                        item.name,
                        total,
                        tax_class=item.tax_class,
                        tax_status=item.tax_status,
                        taxes=taxes,
                        meta_data=meta,
                    )
                )
            else:
                refund.shipping_lines.append(
                    ShippingLine(
                        self._new_item_id(),
                        item.method_title,
                        item.method_id,
                        total,
                        instance_id=item.instance_id,
                        tax_status=item.tax_status,
                        taxes=taxes,
                        meta_data=meta,
                    )
                )
        for rate in self.tax_rates:
            if rate.rate_id in rate_totals:
                tl = TaxLine(self._new_item_id(), rate)
                tl.tax_total, tl.shipping_tax_total = rate_totals[rate.rate_id]
                refund.tax_lines.append(tl)

    def restock_refunded_items(self, order: Order, lines: dict[int, dict[str, Any]]) -> None:
        """``wc_restock_refunded_items``: managed-stock line items whose stock was reduced get the refunded
        quantity back; fires product.updated for each."""
        now = self.now()
        for li in order.line_items:
            args = lines.get(li.id)
            qty = int(args["qty"]) if args else 0
            product = self.products_by_id.get(li.variation_id or li.product_id)
            reduced = next((m for m in li.meta_data if m["key"] == "_reduced_stock"), None)
            if not qty or product is None or reduced is None or not int(reduced["value"] or 0):
                continue
            if not product.manage_stock:
                continue
            product.stock_quantity = (product.stock_quantity or 0) + qty
            self._derive_stock_status(product)
            product.date_modified = now
            left = str(int(reduced["value"]) - qty)
            reduced["value"] = reduced["display_value"] = left
            restocked = next((m for m in li.meta_data if m["key"] == "_restock_refunded_items"), None)
            if restocked is None:
                li.meta_data.append(
                    {
                        "id": self._new_meta_id(),
                        "key": "_restock_refunded_items",
                        "value": str(qty),
                        "display_key": "_restock_refunded_items",
                        "display_value": str(qty),
                    }
                )
            else:
                restocked["value"] = restocked["display_value"] = str(int(restocked["value"]) + qty)
            self.emit("product", "updated", product.id)

    def fully_refund(self, order: Order) -> None:
        """``wc_order_fully_refunded`` (status set to refunded by hand or through REST): one refund of the
        whole remaining amount, no line items, no payment, no restock, and a private note."""
        left = self.remaining_refund_amount(order)
        if not left:
            return
        self._wc_create_refund(
            order, amount=left, reason="Order fully refunded.", lines={}, refund_payment=False, restock=False
        )
        self.add_note(order, FULLY_REFUNDED_NOTE, author="system")

    def delete_refund(self, refund: Refund) -> None:
        """A refund deleted for good: the order keeps its status, stock and date_modified (10.0.2 fires
        no hook for it)."""
        order = self.order_index.get(refund.parent_id)
        if order is not None and refund in order.refunds:
            order.refunds.remove(refund)
        self.refund_index.pop(refund.id, None)

    def delete_order(self, order: Order) -> None:
        """An order deleted for good takes its refunds with it."""
        self.order_index.pop(order.id, None)
        for refund in order.refunds:
            self.refund_index.pop(refund.id, None)
