"""Python admin API of the BC simulator for order-to-cash (mixed into BCApp; /__admin/ routes in admin.py):
what a BC user does inside BC that the API cannot (post a shipment, type a tracking number on page 1350,
set a customer's "Prices Including VAT", publish a web service, change the company's currency) and the
fault knob that makes a post fail."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.bc.store import Company, Store, coerce_value, dialog, modify

if TYPE_CHECKING:
    from wcbc.sandbox.bc.odata import EntityType

# Default body of the fault knob: a real Sales-Post refusal (General Ledger Setup's allowed posting dates).
DEFAULT_POST_FAILURE = "Posting Date is not within your range of allowed posting dates."


class O2CControl:
    store: Store
    company_id: str

    def comp(self, company_id: str | None = None) -> Company:  # provided by BCApp
        raise NotImplementedError

    def _render(self, set_name: str, rec: dict[str, Any], comp: Company) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ reads

    def sales_credit_memos(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._rows("salesCreditMemos", company_id)

    def sales_shipments(self, company_id: str | None = None) -> list[dict[str, Any]]:
        """Posted shipments with their lines and, under "@tracking", the header's tracking fields."""
        with self.store.lock:
            comp = self.comp(company_id)
            return [
                {
                    **self._render("salesShipments", s, comp),
                    "@tracking": {
                        "packageTrackingNo": s["_packageTrackingNo"],
                        "shippingAgentCode": s["_shippingAgentCode"],
                        "shippingAgentServiceCode": s["_shippingAgentServiceCode"],
                    },
                }
                for s in comp.salesShipments.rows.values()
            ]

    def payment_journals(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._rows("customerPaymentJournals", company_id)

    def payment_entries(self, company_id: str | None = None) -> list[dict[str, Any]]:
        """Posted customer payments (Cust. Ledger Entries; no v2.0 resource shows them)."""
        with self.store.lock:
            return [dict(e) for e in self.comp(company_id).payment_entries]

    def outbox(self) -> list[dict[str, Any]]:
        return list(self.store.outbox)

    def _rows(self, set_name: str, company_id: str | None) -> list[dict[str, Any]]:
        with self.store.lock:
            comp = self.comp(company_id)
            table = comp.table(set_name)
            assert table is not None
            return [self._render(set_name, r, comp) for r in table.rows.values()]

    # ------------------------------------------------------------------ documents

    def post_credit_memo(self, credit_memo_id: str, *, company_id: str | None = None) -> dict[str, Any]:
        from wcbc.sandbox.bc.posting import post_credit_memo

        with self.store.lock:
            comp = self.comp(company_id)
            cm = comp.salesCreditMemos.rows[credit_memo_id]
            post_credit_memo(self.store, comp, cm)
            return self._render("salesCreditMemos", cm, comp)

    def ship_order(
        self,
        order_id: str,
        quantities: dict[str, Any] | None = None,
        *,
        invoice: bool = False,
        package_tracking_no: str = "",
        shipping_agent_code: str = "",
        shipping_agent_service_code: str = "",
        company_id: str | None = None,
    ) -> dict[str, Any]:
        """A BC user posts the order (Post > Ship, or Ship and Invoice with ``invoice=True``).

        ``quantities`` maps a line's sequence (e.g. "10000") or item/account number to the quantity to ship
        now; lines left out ship nothing. None ships everything outstanding. The tracking fields go on the
        posted shipment (Sales Shipment Header). Returns {"shipment", "invoice", "orderDeleted"}."""
        from wcbc.sandbox.bc.posting import ship_and_invoice

        with self.store.lock:
            comp = self.comp(company_id)
            order = comp.salesOrders.rows[order_id]
            backup = [dict(ln) for ln in order["_lines"]]
            for ln in order["_lines"]:
                if ln["lineType"] == "Comment":
                    continue
                outstanding = ln["quantity"] - ln["shippedQuantity"]
                qty = outstanding
                if quantities is not None:
                    keys = (str(ln["sequence"]), ln["lineObjectNumber"])
                    qty = next(
                        (Decimal(str(v)) for k, v in quantities.items() if str(k).upper() in keys), Decimal(0)
                    )
                if qty > outstanding:
                    raise dialog(f"You cannot ship more than {outstanding.normalize():f} units.")
                ln["shipQuantity"] = qty
                # Ship and Invoice also invoices what was shipped before and not yet invoiced.
                ln["invoiceQuantity"] = (
                    qty + ln["shippedQuantity"] - ln["invoicedQuantity"] if invoice else Decimal(0)
                )
            try:
                inv, ship, deleted = ship_and_invoice(self.store, comp, order, admin=True)
            except BCError:
                for ln, old in zip(order["_lines"], backup, strict=True):
                    ln.clear()
                    ln.update(old)
                raise
            if ship is not None and (
                package_tracking_no or shipping_agent_code or shipping_agent_service_code
            ):
                self._set_tracking(
                    comp, ship, package_tracking_no, shipping_agent_code, shipping_agent_service_code
                )
            return {
                "shipment": self._render("salesShipments", ship, comp) if ship else None,
                "invoice": self._render("salesInvoices", inv, comp) if inv else None,
                "orderDeleted": deleted,
            }

    def set_shipment_tracking(
        self,
        shipment_number: str,
        package_tracking_no: str | None = None,
        shipping_agent_code: str | None = None,
        shipping_agent_service_code: str | None = None,
        *,
        company_id: str | None = None,
    ) -> dict[str, Any]:
        """Page 1350 "Posted Sales Shipment - Update": edit the tracking fields of a posted shipment."""
        with self.store.lock:
            comp = self.comp(company_id)
            found = comp.salesShipments.find("number", shipment_number.upper())
            if not found:
                raise KeyError(f"no shipment {shipment_number!r}")
            self._set_tracking(
                comp, found[0], package_tracking_no, shipping_agent_code, shipping_agent_service_code
            )
            return self._render("salesShipments", found[0], comp)

    def _set_tracking(
        self,
        comp: Company,
        ship: dict[str, Any],
        tracking: str | None,
        agent: str | None,
        service: str | None,
    ) -> None:
        from wcbc.sandbox.bc.schema import SALES_SHIPMENT

        etype: EntityType = SALES_SHIPMENT
        values: dict[str, Any] = {}
        if tracking is not None:  # Text[50] in this snapshot (§10.4)
            values["_packageTrackingNo"] = coerce_value(etype, "packageTrackingNo", "str", tracking, 50, ())
        if agent is not None:
            values["_shippingAgentCode"] = coerce_value(etype, "shippingAgentCode", "code", agent, 10, ())
        if service is not None:
            values["_shippingAgentServiceCode"] = coerce_value(
                etype, "shippingAgentServiceCode", "code", service, 10, ()
            )
        ship.update(values)
        modify(self.store, comp, "salesShipments", ship, {}, notify=False)  # not webhook-enabled (§10.8)

    # ------------------------------------------------------------------ payments

    def add_payment_journal(
        self,
        code: str,
        display_name: str = "",
        balancing_account: str = "",
        *,
        company_id: str | None = None,
    ) -> dict[str, Any]:
        """A Cash Receipts batch (customerPaymentJournals), balanced on G/L account ``balancing_account``."""
        from wcbc.sandbox.bc.payments import new_batch

        with self.store.lock:
            comp = self.comp(company_id)
            values: dict[str, Any] = {"code": code.upper(), "displayName": display_name}
            if balancing_account:
                acc = comp.accounts.find("number", balancing_account)
                if not acc:
                    raise KeyError(f"no G/L account {balancing_account!r}")
                values["balancingAccountId"] = acc[0]["id"]
            return self._render("customerPaymentJournals", new_batch(self.store, comp, values), comp)

    def add_general_journal(
        self, code: str, display_name: str = "", *, company_id: str | None = None
    ) -> dict:
        """A batch of the default General template (listed by `journals`)."""
        from wcbc.sandbox.bc.payments import GENERAL_TEMPLATE, new_batch

        with self.store.lock:
            comp = self.comp(company_id)
            rec = new_batch(
                self.store,
                comp,
                {"code": code.upper(), "displayName": display_name},
                template=GENERAL_TEMPLATE,
            )
            return self._render("journals", rec, comp)

    # ------------------------------------------------------------------ currency and tax

    def set_local_currency(self, code: str) -> None:
        """General Ledger Setup "LCY Code". The LCY is not a Currency record: one with that code goes."""
        code = code.strip().upper()
        with self.store.lock:
            self.store.lcy = code
            for comp in self.store.companies.values():
                for rec in comp.currencies.find("code", code):
                    comp.currencies.delete(rec["id"])

    def add_currency(
        self,
        code: str,
        name: str,
        symbol: str = "",
        *,
        exchange_rate: bool = True,
        company_id: str | None = None,
    ) -> dict[str, Any]:
        """A Currency record; ``exchange_rate=False``: no exchange rate for the posting date, so documents
        in it refuse lines (`Currency Factor must have a value …`, §10.6)."""
        with self.store.lock:
            comp = self.comp(company_id)
            code = code.strip().upper()
            if code == self.store.lcy or comp.currencies.find("code", code):
                raise ValueError(f"currency {code} exists or is the LCY")
            rec = self.store.add_currency(comp, code, name, symbol, exchange_rate=exchange_rate)
            return self._render("currencies", rec, comp)

    def set_tax_mode(self, mode: str) -> None:
        """ "sales_tax" (North-American localization) or "vat"."""
        if mode not in ("sales_tax", "vat"):
            raise ValueError(mode)
        self.store.tax_mode = mode

    def add_tax_group(self, code: str, percent: Decimal | float | str, name: str = "") -> None:
        """A Tax Group (VAT Product Posting Group under VAT) and its rate; listed by taxGroups and valid as a
        line's taxCode."""
        code = code.strip().upper()
        self.store.tax_rates[code] = Decimal(str(percent))
        self.store.tax_names[code] = name or code.title()

    def set_customer_prices_including_vat(
        self, number: str, value: bool = True, *, company_id: str | None = None
    ) -> dict[str, Any]:
        """The customer card's "Prices Including VAT" (not on the v2.0 page): new invoices and credit memos
        take pricesIncludeTax from it, and new orders default to it."""
        with self.store.lock:
            comp = self.comp(company_id)
            found = comp.customers.find("number", number.upper())
            if not found:
                raise KeyError(f"no customer {number!r}")
            modify(self.store, comp, "customers", found[0], {"_pricesIncludingVat": value})
            found[0]["_pricesIncludingVat"] = value
            return self._render("customers", found[0], comp)

    # ------------------------------------------------------------------ fault knob

    def fail_posting(
        self,
        *,
        set_name: str | None = None,
        document_id: str | None = None,
        external_document_number: str | None = None,
        action: str | None = None,
        message: str = DEFAULT_POST_FAILURE,
        code: str = "Application_DialogException",
        status: int = 400,
        times: int | None = None,
    ) -> dict[str, Any]:
        """Make matching post actions fail with BC's error body {"error":{"code","message  CorrelationId…"}}.

        Matches on any of: entity set (salesInvoices, salesCreditMemos, salesOrders, customerPaymentJournals),
        document/batch id, externalDocumentNumber, action (post, shipAndInvoice, cancel); None matches all.
        ``times`` failures then it clears itself (None: until clear_post_failures). The normal refusals are
        checked first; nothing is changed by a failed post (a cancel leaves its draft credit memo, as BC)."""
        rule = {
            "set": set_name,
            "id": document_id.lower() if document_id else None,
            "externalDocumentNumber": external_document_number,
            "action": action,
            "message": message,
            "code": code,
            "status": int(status),
            "times": times,
        }
        with self.store.lock:
            self.store.post_failures.append(rule)
        return dict(rule)

    def clear_post_failures(self) -> int:
        with self.store.lock:
            count = len(self.store.post_failures)
            self.store.post_failures.clear()
            return count

    # ------------------------------------------------------------------ job queue

    def set_post_with_job_queue(self, value: bool = True) -> None:
        """General Ledger Setup "Post with Job Queue": journals({id})/Microsoft.NAV.post answers 204 and only
        schedules the posting; run_job_queue() posts (or fails) later: a client must read the result back."""
        self.store.post_with_job_queue = value

    def run_job_queue(self) -> list[dict[str, Any]]:
        """Run the scheduled journal postings; returns (and logs) each one's outcome."""
        from wcbc.sandbox.bc.payments import find_batch, post_batch

        with self.store.lock:
            results = []
            while self.store.job_queue:
                company_id, batch_id = self.store.job_queue.pop(0)
                comp = self.comp(company_id)
                batch = find_batch(comp, batch_id)
                result: dict[str, Any] = {"batch": batch["code"] if batch else batch_id, "status": "posted"}
                try:
                    if batch is None:
                        raise dialog(f"The General Journal Batch with ID {batch_id} cannot be found.")
                    result["entries"] = len(post_batch(self.store, comp, batch))
                except BCError as err:
                    result.update({"status": "error", "code": err.code, "message": err.message})
                results.append(result)
            self.store.job_log.extend(results)
            return results

    # ------------------------------------------------------------------ custom tracking endpoints

    def publish_tracking_web_service(self, service_name: str = "PostedSalesShipments") -> str:
        """Page Web Services: publish page 142 "Posted Sales Shipments" as an OData V4 service. Returns the
        path after /v2.0/{tenant}/{environment}/ (company by name, as BC's ODataV4 URLs do)."""
        with self.store.lock:
            self.store.custom_endpoints[f"odata:{service_name}"] = {"page": 142}
        return f"ODataV4/Company('{{company name}}')/{service_name}"

    def publish_tracking_api(
        self,
        publisher: str = "contoso",
        group: str = "shipping",
        version: str = "v1.0",
        entity_set: str = "shipmentTrackings",
    ) -> str:
        """Install a custom API page (an AL extension) exposing the tracking fields. Returns the path after
        /v2.0/{tenant}/{environment}/ up to the company."""
        path = f"{publisher}/{group}/{version}/{entity_set}"
        with self.store.lock:
            self.store.custom_endpoints[f"api:{path}"] = {"kind": "api"}
        return f"api/{publisher}/{group}/{version}/companies({{id}})/{entity_set}"

    def unpublish_tracking(self) -> None:
        with self.store.lock:
            self.store.custom_endpoints.clear()
