"""Business Central API v2.0 simulator (business-central.md): bearer tokens from the Entra simulator,
companies, customers, items, itemLedgerEntries, accounts, currencies, taxGroups, taxAreas,
salesOrders(+lines), salesInvoices(+lines), salesCreditMemos(+lines), salesShipments(+lines),
customerPaymentJournals(+customerPayments), journals, bound actions (post, shipAndInvoice, cancel,
cancelAndSend, makeCorrectiveCreditMemo, journals post), the custom tracking endpoints (custom.py, not
standard API), subscriptions with notifications, OData queries, paging, ETags, limits.

The Python admin API (add_item, move_stock, ..., and control.O2CControl) and the HTTP one under /__admin/
(admin.py) drive it.
"""

from __future__ import annotations

import collections
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from wcbc.sandbox.bc.control import O2CControl
from wcbc.sandbox.bc.docs import KINDS
from wcbc.sandbox.bc.limits import Limiter
from wcbc.sandbox.bc.odata import BCError, make_etag
from wcbc.sandbox.bc.schema import COMPANY, ENTITY_SETS, SUBSCRIPTION
from wcbc.sandbox.bc.store import Company, Store, item_view
from wcbc.sandbox.bc.webhooks import Webhooks
from wcbc.sandbox.core import Clock, Faults, Request, Response, json_response
from wcbc.sandbox.entra import DEFAULT_API_URL, TokenRegistry

ODATA_JSON = (
    "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
)


class BCApp(O2CControl):
    """One BC environment of one tenant. ``tokens`` is the registry the EntraApp issues into."""

    def __init__(
        self,
        *,
        tokens: TokenRegistry,
        tenant_id: str,
        environment: str = "production",
        clock: Clock | None = None,
        api_url: str = DEFAULT_API_URL,
        faults: Faults | None = None,
        company_name: str = "CRONUS USA, Inc.",
        webhook_delay: float = 0.3,
        collection_threshold: int = 1000,
        retry_scale: float = 0.001,
        webhook_verify: bool | str = True,
        rate: int = 6000,
        window: float = 300.0,
        max_concurrent: int = 5,
    ) -> None:
        self.tokens = tokens
        self.clock = clock or tokens.clock
        self.tenant_id = tenant_id.lower()
        self.tenant_names = {self.tenant_id}
        self.environment = environment
        self.api_url = api_url.rstrip("/")
        self.faults = faults or Faults()
        self.store = Store(self.clock, on_change=self._changed)
        self.webhooks = Webhooks(
            self.store,
            self.clock,
            delay=webhook_delay,
            collection_threshold=collection_threshold,
            retry_scale=retry_scale,
            verify=webhook_verify,
        )
        self.limiter = Limiter(self.clock, rate=rate, window=window, max_concurrent=max_concurrent)
        self.apps: dict[str, bool] = {}  # BC page "Microsoft Entra Applications": client_id -> State enabled
        self.requests: collections.Counter[str] = collections.Counter()
        self.company_id = self.store.add_company(company_name).id
        from wcbc.sandbox.bc import admin as bc_admin
        from wcbc.sandbox.bc import api as bc_api

        self._api = bc_api.Api(self)
        self._admin = bc_admin.Admin(self)

    # ------------------------------------------------------------------ app protocol

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/__admin/"):
            return self._admin.handle(request)
        try:
            return self._handle(request)
        except BCError as err:
            return self.error_response(err)

    def fault_response(self, status: int, retry_after: int | None) -> Response:
        codes = {
            429: "Application_TooManyRequests",
            500: "Internal_ServerError",
            503: "Internal_ServiceUnavailable",
        }
        err = BCError(status, codes.get(status, "Unknown"), "The service is temporarily unavailable.")
        if retry_after is not None:
            err.headers.append(("Retry-After", str(retry_after)))
        return self.error_response(err)

    def error_response(self, err: BCError) -> Response:
        return json_response(
            err.status, err.body(), [("OData-Version", "4.0"), *err.headers], content_type=ODATA_JSON
        )

    def _handle(self, request: Request) -> Response:
        segs = [unquote(s) for s in request.path.split("/")[1:]]
        custom = _custom_kind(segs)
        if custom is not None:
            # NOT standard API v2.0: an admin-published web service or a custom API page (custom.py).
            kind, off = custom
            client = self._authenticate(request, segs[1].lower() if off == 3 else None)
            if segs[off - 1] != self.environment:
                raise BCError(
                    404, "BadRequest_ResourceNotFound", f"The environment '{segs[off - 1]}' was not found."
                )
            host = request.headers.get("Host") or "127.0.0.1"
            base = f"{request.scheme}://{host}/{'/'.join(request.path.split('/')[1:off])}"
            from wcbc.sandbox.bc import custom as bc_custom

            with self.limiter.slot(client), self.store.lock:
                return bc_custom.dispatch(self._api, request, kind, [s for s in segs[off + 1 :] if s], base)
        if len(segs) >= 5 and segs[0] == "v2.0" and segs[3:5] == ["api", "v2.0"]:
            tenant, env, rest = segs[1].lower(), segs[2], segs[5:]
            prefix = f"/v2.0/{segs[1]}/{segs[2]}/api/v2.0"
        elif len(segs) >= 4 and segs[0] == "v2.0" and segs[2:4] == ["api", "v2.0"]:
            tenant, env, rest = None, segs[1], segs[4:]
            prefix = f"/v2.0/{segs[1]}/api/v2.0"
        else:
            raise BCError(
                404,
                "BadRequest_ResourceNotFound",
                f"Resource not found for the segment '{segs[0] if segs else ''}'.",
            )
        client = self._authenticate(request, tenant)
        if env != self.environment:
            # UNDOCUMENTED: the answer for an unknown environment (sandbox choice).
            raise BCError(404, "BadRequest_ResourceNotFound", f"The environment '{env}' was not found.")
        host = request.headers.get("Host") or "127.0.0.1"
        base = f"{request.scheme}://{host}{prefix}"
        rest = [s for s in rest if s != ""]
        with self.limiter.slot(client):
            return self._api.dispatch(request, rest, base, client)

    # ------------------------------------------------------------------ auth

    def _authenticate(self, request: Request, tenant: str | None) -> str:
        auth = request.headers.get("Authorization") or ""
        invalid = BCError(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
            [
                (
                    "WWW-Authenticate",
                    'Bearer authorization_uri="https://login.microsoftonline.com/'
                    f'{self.tenant_id}/oauth2/authorize", resource_id="{self.api_url}"',
                )
            ],
        )
        if not auth.lower().startswith("bearer "):
            raise invalid
        status, info = self.tokens.check(auth[7:].strip())
        if status == "expired":
            # UNDOCUMENTED: the exact 401 body for an expired token. Sandbox choice: the same
            # Authentication_InvalidCredentials code, with a message naming the expiry.
            raise BCError(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials. The access token has expired.",
                [
                    (
                        "WWW-Authenticate",
                        'Bearer error="invalid_token", error_description="The access token has expired"',
                    )
                ],
            )
        if info is None or info.audience != self.api_url:
            raise invalid
        if info.tenant_id != self.tenant_id or (tenant is not None and tenant not in self.tenant_names):
            raise invalid
        if not self.apps.get(info.client_id, False):
            raise invalid  # valid token, app not registered/enabled in "Microsoft Entra Applications"
        return info.client_id

    # ------------------------------------------------------------------ changes -> webhooks

    def _changed(self, company_id: str, set_name: str, entity_id: str, change: str, when: str) -> None:
        self.webhooks.record_change(company_id, set_name, entity_id, change, when)

    # ================================================================== admin Python API

    def register_app(self, client_id: str, enabled: bool = True) -> None:
        self.apps[client_id.lower()] = enabled

    def enable_app(self, client_id: str) -> None:
        self.register_app(client_id, True)

    def disable_app(self, client_id: str) -> None:
        self.register_app(client_id, False)

    def add_tenant_name(self, name: str) -> None:
        self.tenant_names.add(name.lower())

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def comp(self, company_id: str | None = None) -> Company:
        return self.store.company(company_id or self.company_id)

    def add_company(self, name: str) -> str:
        return self.store.add_company(name).id

    def add_customer(
        self,
        display_name: str,
        email: str = "",
        *,
        number: str | None = None,
        company_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        from wcbc.sandbox.bc.store import new_customer

        body: dict[str, Any] = {"displayName": display_name, "email": email, **fields}
        if number:
            body["number"] = number
        with self.store.lock:
            comp = self.comp(company_id)
            values, _ = self.store.coerce(ENTITY_SETS["customers"][0], body)
            rec = new_customer(self.store, comp, values)
            return self._render("customers", rec, comp)

    def add_item(
        self,
        number: str,
        display_name: str,
        unit_price: Decimal | float | str,
        inventory: Decimal | float | int = 0,
        blocked: bool = False,
        price_includes_tax: bool = False,
        *,
        company_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        from wcbc.sandbox.bc.store import add_ledger_entry, new_item

        with self.store.lock:
            comp = self.comp(company_id)
            values: dict[str, Any] = {
                "number": number.upper(),
                "displayName": display_name,
                "unitPrice": Decimal(str(unit_price)),
                "blocked": blocked,
                "priceIncludesTax": price_includes_tax,
            }
            values.update({k: (Decimal(str(v)) if k in ("unitCost",) else v) for k, v in fields.items()})
            rec = new_item(self.store, comp, values)
            if Decimal(str(inventory)):
                add_ledger_entry(
                    self.store,
                    comp,
                    rec["number"],
                    Decimal(str(inventory)),
                    "Positive Adjmt.",
                    document_number="OPENING",
                    description="Opening balance",
                )
            return self._render("items", rec, comp)

    def bulk_add_items(self, rows: list[tuple[str, str, Any, Any]], *, company_id: str | None = None) -> int:
        """Fast seeding: (number, displayName, unitPrice, inventory) tuples; no notifications."""
        from wcbc.sandbox.bc.store import add_ledger_entry, new_item

        with self.store.lock:
            comp = self.comp(company_id)
            for number, name, price, inventory in rows:
                rec = new_item(
                    self.store,
                    comp,
                    {"number": number.upper(), "displayName": name, "unitPrice": Decimal(str(price))},
                    notify=False,
                )
                if Decimal(str(inventory)):
                    add_ledger_entry(
                        self.store,
                        comp,
                        rec["number"],
                        Decimal(str(inventory)),
                        "Positive Adjmt.",
                        document_number="OPENING",
                    )
        return len(rows)

    def bulk_add_customers(self, rows: list[tuple[str, str]], *, company_id: str | None = None) -> int:
        """Fast seeding: (displayName, email) tuples; no notifications."""
        from wcbc.sandbox.bc.store import new_customer

        with self.store.lock:
            comp = self.comp(company_id)
            hook = self.store.on_change
            self.store.on_change = lambda *a: None
            try:
                for name, email in rows:
                    new_customer(self.store, comp, {"displayName": name, "email": email})
            finally:
                self.store.on_change = hook
        return len(rows)

    def _item(self, comp: Company, number: str) -> dict[str, Any]:
        found = comp.items.find("number", number.upper())
        if not found:
            raise KeyError(f"no item {number!r}")
        return found[0]

    def move_stock(
        self,
        item_number: str,
        quantity: Decimal | float | int,
        entry_type: str = "Positive Adjmt.",
        *,
        company_id: str | None = None,
        document_number: str = "ADJ",
    ) -> dict[str, Any]:
        """A new item ledger entry. The item record is untouched and nothing is notified (like BC)."""
        from wcbc.sandbox.bc.store import add_ledger_entry

        with self.store.lock:
            comp = self.comp(company_id)
            item = self._item(comp, item_number)
            rec = add_ledger_entry(
                self.store,
                comp,
                item["number"],
                Decimal(str(quantity)),
                entry_type,
                document_number=document_number,
            )
            return self._render("itemLedgerEntries", rec, comp)

    def update_item(self, number: str, *, company_id: str | None = None, **changes: Any) -> dict[str, Any]:
        """Change item card fields (API names, e.g. unitPrice=12.5, blocked=True); fires an `updated`."""
        from wcbc.sandbox.bc.store import modify

        with self.store.lock:
            comp = self.comp(company_id)
            item = self._item(comp, number)
            values = {
                k: (Decimal(str(v)) if k in ("unitPrice", "unitCost") else v) for k, v in changes.items()
            }
            modify(self.store, comp, "items", item, values)
            return self._render("items", item, comp)

    def set_price(self, number: str, price: Decimal | float | str, *, company_id: str | None = None) -> dict:
        return self.update_item(number, unitPrice=price, company_id=company_id)

    def block_item(self, number: str, blocked: bool = True, *, company_id: str | None = None) -> dict:
        return self.update_item(number, blocked=blocked, company_id=company_id)

    def add_account(
        self, number: str, name: str, tax_group: str = "TAXABLE", *, company_id: str | None = None
    ) -> dict[str, Any]:
        rec = self.store.add_account(self.comp(company_id), number, name, tax_group)
        return self._render("accounts", rec, self.comp(company_id))

    def set_tax_rate(self, group: str, percent: Decimal | float | str) -> None:
        self.store.tax_rates[group.upper()] = Decimal(str(percent))

    def _render(self, set_name: str, rec: dict[str, Any], comp: Company) -> dict[str, Any]:
        etype = ENTITY_SETS[set_name][0]
        if set_name == "items":
            item_view(comp, rec)
        out = self.store.render(etype, rec)
        if set_name == "salesCreditMemos":
            from wcbc.sandbox.bc.docs import refresh_invoice_id

            out = self.store.render(etype, refresh_invoice_id(comp, rec))
        kinds = {"salesOrders": "order", "salesInvoices": "invoice", "salesCreditMemos": "creditMemo"}
        if set_name in kinds:
            nav = KINDS[kinds[set_name]]
            out[nav[3]] = [self.store.render(nav[2], ln) for ln in rec["_lines"]]
        navs = {"salesShipments": "salesShipmentLines", "customerPaymentJournals": "customerPayments"}
        if set_name in navs:
            ltype = ENTITY_SETS[navs[set_name]][0]
            out[navs[set_name]] = [self.store.render(ltype, ln) for ln in rec["_lines"]]
        return out

    def _list(self, set_name: str, company_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            comp = self.comp(company_id)
            table = comp.table(set_name)
            assert table is not None
            return [self._render(set_name, r, comp) for r in table.rows.values()]

    def customers(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._list("customers", company_id)

    def items(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._list("items", company_id)

    def ledger_entries(self, item_number: str | None = None, company_id: str | None = None) -> list[dict]:
        rows = self._list("itemLedgerEntries", company_id)
        return [r for r in rows if item_number is None or r["itemNumber"] == item_number.upper()]

    def sales_orders(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._list("salesOrders", company_id)

    def sales_invoices(self, company_id: str | None = None) -> list[dict[str, Any]]:
        return self._list("salesInvoices", company_id)

    def documents_by_external_number(self, ext: str, company_id: str | None = None) -> list[dict[str, Any]]:
        """Orders, invoices and credit memos (draft and posted) whose externalDocumentNumber matches,
        case-insensitively; each carries "@kind": "salesOrder" | "salesInvoice" | "salesCreditMemo"."""
        out = []
        with self.store.lock:
            comp = self.comp(company_id)
            for set_name, kind in (
                ("salesOrders", "salesOrder"),
                ("salesInvoices", "salesInvoice"),
                ("salesCreditMemos", "salesCreditMemo"),
            ):
                table = comp.table(set_name)
                assert table is not None
                for rec in table.find("externalDocumentNumber", ext.strip().upper()):
                    out.append({"@kind": kind, **self._render(set_name, rec, comp)})
        return out

    def ship_and_invoice(self, order_id: str, *, company_id: str | None = None) -> dict[str, Any]:
        """Ship and invoice everything outstanding; returns the posted invoice."""
        result = self.ship_order(order_id, None, invoice=True, company_id=company_id)
        return dict(result["invoice"])

    def post_invoice(self, invoice_id: str, *, company_id: str | None = None) -> dict[str, Any]:
        from wcbc.sandbox.bc.posting import post_invoice

        with self.store.lock:
            comp = self.comp(company_id)
            inv = comp.salesInvoices.rows[invoice_id]
            post_invoice(self.store, comp, inv)
            return self._render("salesInvoices", inv, comp)

    def subscriptions(self) -> list[dict[str, Any]]:
        return [self.store.render(SUBSCRIPTION, s) for s in self.webhooks.list()]

    def deliveries(self) -> list[dict[str, Any]]:
        return self.webhooks.deliveries()

    def flush_notifications(self, timeout: float = 5.0) -> bool:
        return self.webhooks.flush(timeout)

    def request_count(self, key: str | None = None) -> int:
        return self.requests[key] if key else sum(self.requests.values())

    def close(self) -> None:
        self.webhooks.close()

    def company_record(self, company_id: str | None = None) -> dict[str, Any]:
        comp = self.comp(company_id)
        return company_view(comp, self.store.app_user_id)


def _custom_kind(segs: list[str]) -> tuple[str, int] | None:
    """("odata" | "api", index of that segment) for /v2.0/[tenant/]env/ODataV4/… and
    /v2.0/[tenant/]env/api/{publisher}/{group}/{version}/…; None for anything else (api/v2.0 included)."""
    if not segs or segs[0] != "v2.0":
        return None
    for off in (3, 2):
        if len(segs) <= off + 1:
            continue
        if segs[off] == "ODataV4":
            return "odata", off
        if segs[off] == "api" and segs[off + 1] != "v2.0" and len(segs) > off + 4:
            return "api", off
    return None


def company_view(comp: Company, user_id: str) -> dict[str, Any]:
    out = {
        "@odata.etag": make_etag(comp.id, comp.version),
        "id": comp.id,
        "systemVersion": "26.0.30000.0",
        "timestamp": 1000 + comp.version,
        "name": comp.name,
        "displayName": comp.name,
        "businessProfileId": "",
        "systemCreatedAt": comp.created,
        "systemCreatedBy": user_id,
        "systemModifiedAt": comp.created,
        "systemModifiedBy": user_id,
    }
    assert set(out) - {"@odata.etag"} == {f.name for f in COMPANY.fields}
    return out


def seed_sample(bc: BCApp) -> dict[str, Any]:
    """A small company matching the sample WooCommerce store: its SKUs with prices and stock, G/L accounts
    6610 shipping / 6620 fees / 6630 rounding / 10100 bank, the customer jane.doe@example.test, currencies
    EUR/GBP (LCY USD), a customer payment journal GENERAL balanced on 10100 and a general journal DEFAULT."""
    items = [
        ("TSHIRT-001", "T-Shirt", "20.00", 100),
        ("MUG-001", "Coffee Mug", "12.50", 25),
        ("HOODIE-S", "Hoodie - S", "45.00", 10),
        ("HOODIE-M", "Hoodie - M", "47.00", 5),
        ("CAP-001", "Cap", "9.99", 50),
    ]
    for number, name, price, stock in items:
        bc.add_item(number, name, price, stock, unitCost=Decimal(price) / 2)
    bc.add_account("6610", "Shipping Charges", "TAXABLE")
    bc.add_account("6620", "Fees and Charges", "TAXABLE")
    bc.add_account("6630", "Invoice Rounding", "NONTAXABLE")
    bc.store.add_account(bc.comp(), "10100", "Checking Account", "NONTAXABLE", category="Assets")
    bc.add_payment_journal("GENERAL", "Cash receipts", "10100")
    bc.add_general_journal("DEFAULT", "Default journal")
    jane = bc.add_customer(
        "Jane Doe",
        "jane.doe@example.test",
        type="Person",
        addressLine1="1 Main Street",
        city="San Francisco",
        state="CA",
        country="US",
        postalCode="94103",
        phoneNumber="+1 415 555 0100",
    )
    return {"company_id": bc.company_id, "customer": jane, "items": [i[0] for i in items]}
