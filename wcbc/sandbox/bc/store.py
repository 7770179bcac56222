"""In-memory Business Central company data: tables with eq-indexes, customers, items, the item ledger
(items.inventory is always the sum of an item's ledger entries), G/L accounts, currencies, tax setup and
value coercion of request bodies.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from wcbc.sandbox.bc.odata import (
    BCError,
    EntityType,
    decode_enum,
    encode_enum,
    format_dt,
    make_etag,
    to_json_number,
)
from wcbc.sandbox.bc.schema import (
    ACCOUNT,
    BLANK_DATE,
    BLANK_GUID,
    CURRENCY,
    CUSTOMER,
    CUSTOMER_PAYMENT_JOURNAL,
    ITEM,
    ITEM_LEDGER_ENTRY,
    JOURNAL,
    SALES_CREDIT_MEMO,
    SALES_INVOICE,
    SALES_ORDER,
    SALES_SHIPMENT,
)
from wcbc.sandbox.core import Clock

CENT = Decimal("0.01")
UNIT = Decimal("0.00001")


def money(value: Decimal) -> Decimal:
    """BC rounds amounts to the currency's precision, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_round(value: Decimal) -> Decimal:
    return value.quantize(UNIT, rounding=ROUND_HALF_UP).normalize() if value else Decimal(0)


def dialog(message: str) -> BCError:
    return BCError(400, "Application_DialogException", message)


def not_found(caption: str, ident: str) -> BCError:
    return BCError(
        404,
        "Internal_RecordNotFound",
        f"The {caption} does not exist. Identification fields and values: {ident}",
    )


# --------------------------------------------------------------------------- tables


class Table:
    """Rows keyed by id, with exact-match indexes on a few fields (number, email, externalDocumentNumber)."""

    def __init__(self, etype: EntityType, sort: tuple[str, ...], indexed: tuple[str, ...] = ()) -> None:
        self.etype = etype
        self.sort = sort
        self.rows: dict[str, dict[str, Any]] = {}
        self.idx: dict[str, dict[Any, set[str]]] = {name: {} for name in indexed}

    def insert(self, rec: dict[str, Any]) -> None:
        self.rows[rec["id"]] = rec
        for name, idx in self.idx.items():
            idx.setdefault(rec.get(name), set()).add(rec["id"])

    def reindex(self, rec: dict[str, Any], old: dict[str, Any]) -> None:
        for name, idx in self.idx.items():
            if old.get(name) != rec.get(name):
                idx.get(old.get(name), set()).discard(rec["id"])
                idx.setdefault(rec.get(name), set()).add(rec["id"])

    def delete(self, rec_id: str) -> dict[str, Any] | None:
        rec = self.rows.pop(rec_id, None)
        if rec is not None:
            for name, idx in self.idx.items():
                idx.get(rec.get(name), set()).discard(rec_id)
        return rec

    def find(self, name: str, value: Any) -> list[dict[str, Any]]:
        if name in self.idx:
            return [self.rows[i] for i in self.idx[name].get(value, ())]
        return [r for r in self.rows.values() if r.get(name) == value]

    def candidates(self, hints: list[tuple[str, str, Any]]) -> Iterable[dict[str, Any]]:
        for name, op, value in hints:
            if name in self.idx and op in ("eq", "in"):
                values = [value] if op == "eq" else value
                ids: set[str] = set()
                for v in values:
                    ids |= self.idx[name].get(v, set())
                return [self.rows[i] for i in ids]
        return self.rows.values()


# --------------------------------------------------------------------------- company


@dataclass
class Company:
    id: str
    name: str
    created: str
    customers: Table = field(default_factory=lambda: Table(CUSTOMER, ("number",), ("number", "email")))
    items: Table = field(default_factory=lambda: Table(ITEM, ("number",), ("number",)))
    ledger: Table = field(default_factory=lambda: Table(ITEM_LEDGER_ENTRY, ("entryNumber",), ("itemNumber",)))
    accounts: Table = field(default_factory=lambda: Table(ACCOUNT, ("number",), ("number",)))
    currencies: Table = field(default_factory=lambda: Table(CURRENCY, ("code",), ("code",)))
    salesOrders: Table = field(  # noqa: N815 - entity set name
        default_factory=lambda: Table(SALES_ORDER, ("number",), ("number", "externalDocumentNumber"))
    )
    salesInvoices: Table = field(  # noqa: N815 - entity set name
        default_factory=lambda: Table(SALES_INVOICE, ("_sortno",), ("number", "externalDocumentNumber"))
    )
    salesCreditMemos: Table = field(  # noqa: N815 - entity set name
        default_factory=lambda: Table(SALES_CREDIT_MEMO, ("_sortno",), ("number", "externalDocumentNumber"))
    )
    salesShipments: Table = field(  # noqa: N815 - entity set name
        default_factory=lambda: Table(SALES_SHIPMENT, ("number",), ("number", "orderNumber"))
    )
    customerPaymentJournals: Table = field(  # noqa: N815 - entity set name
        default_factory=lambda: Table(CUSTOMER_PAYMENT_JOURNAL, ("code",), ("code",))
    )
    journals: Table = field(default_factory=lambda: Table(JOURNAL, ("code",), ("code",)))
    # Posted customer payments (Cust. Ledger Entries of type Payment; v2.0 has no resource for them).
    payment_entries: list[dict[str, Any]] = field(default_factory=list)
    inventory: dict[str, Decimal] = field(default_factory=dict)  # item number -> sum of ledger quantities
    series: dict[str, int] = field(default_factory=dict)
    version: int = 1

    def table(self, name: str) -> Table | None:
        if name == "itemLedgerEntries":
            return self.ledger
        return getattr(self, name, None) if name in TABLES else None

    def next_no(self, series: str) -> str:
        prefix, start = SERIES[series]
        n = self.series.get(series, start)
        self.series[series] = n + 1 if series != "customer" else n + 10
        return f"{prefix}{n:05d}" if series == "payment" else f"{prefix}{n}"


TABLES = (
    "customers",
    "items",
    "accounts",
    "currencies",
    "salesOrders",
    "salesInvoices",
    "salesCreditMemos",
    "salesShipments",
    "customerPaymentJournals",
    "journals",
)

# No. Series: name -> (prefix, first number). UNDOCUMENTED exact numbers (CRONUS-US-like choice).
SERIES: dict[str, tuple[str, int]] = {
    "customer": ("C", 10000),
    "item": ("", 70000),
    "order": ("S-ORD", 101001),
    "invoice": ("S-INV", 102001),
    "posted_invoice": ("PS-INV", 103001),
    "shipment": ("S-SHPT", 102001),
    "credit_memo": ("S-CR", 104001),
    "posted_credit_memo": ("PS-CR", 104001),
    "payment": ("G", 2001),  # the cash-receipt journal's No. Series (CRONUS: G02001)
}

ChangeHook = Callable[[str, str, str, str, str], None]  # company_id, entity set, id, changeType, lastModified


class Store:
    """All companies of one environment; every public method takes ``self.lock``."""

    def __init__(self, clock: Clock, on_change: ChangeHook | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.companies: dict[str, Company] = {}
        self.on_change: ChangeHook = on_change or (lambda *a: None)
        self.lcy = "USD"
        self.tax_mode = "sales_tax"  # "sales_tax" (US) or "vat"
        self.tax_rates: dict[str, Decimal] = {"TAXABLE": Decimal("7.25"), "NONTAXABLE": Decimal(0)}
        self.default_tax_group = "TAXABLE"
        self.tax_names: dict[str, str] = {"TAXABLE": "Taxable", "NONTAXABLE": "Nontaxable"}
        # Tax Areas (Sales Tax) / VAT Business Posting Groups (VAT): listed by taxAreas; the sandbox's rates
        # depend on the line's tax group only.
        self.tax_areas: dict[str, str] = {"CA": "California"}
        self.vat_business_groups: dict[str, str] = {
            "DOMESTIC": "Domestic customers",
            "EU": "Customers in EU",
            "EXPORT": "Other customers",
        }
        # General Ledger Setup "Post with Job Queue": journals post only schedules (control.run_job_queue).
        self.post_with_job_queue = False
        self.job_queue: list[tuple[str, str]] = []  # (company id, batch id) scheduled for posting
        self.job_log: list[dict[str, Any]] = []
        # Admin knob `fail_posting`: rules that make a matching post action fail with a BC error.
        self.post_failures: list[dict[str, Any]] = []
        # Admin knob `publish_tracking_*`: the custom tracking endpoints published (custom.py).
        self.custom_endpoints: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []  # e-mails "sent" by send/cancelAndSend actions
        self.app_user_id = str(uuid.uuid4())

    def now(self) -> str:
        return format_dt(self.clock.now())

    def today(self) -> str:
        return self.clock.now().date().isoformat()

    # ------------------------------------------------------------------ companies

    def add_company(self, name: str, company_id: str | None = None) -> Company:
        with self.lock:
            comp = Company(company_id or str(uuid.uuid4()), name, self.now())
            self.companies[comp.id] = comp
            for code, name_, sym in (("EUR", "Euro", "€"), ("GBP", "Pound Sterling", "£")):
                self.add_currency(comp, code, name_, sym)
            return comp

    def company(self, company_id: str) -> Company:
        comp = self.companies.get(company_id.lower())
        if comp is None:
            # UNDOCUMENTED: status/code for an unknown company id (sandbox choice: 404
            # Internal_CompanyNotFound).
            raise BCError(
                404, "Internal_CompanyNotFound", f"Cannot find the company with the id '{company_id}'."
            )
        return comp

    def add_currency(
        self, comp: Company, code: str, name: str, symbol: str, *, exchange_rate: bool = True
    ) -> dict[str, Any]:
        rec = {
            "id": str(uuid.uuid4()),
            "code": code,
            "displayName": name,
            "symbol": symbol,
            "amountDecimalPlaces": "2:2",
            "amountRoundingPrecision": CENT,
            "lastModifiedDateTime": self.now(),
            "_v": 1,
            "_rate": exchange_rate,  # has a Currency Exchange Rate for the posting date
        }
        comp.currencies.insert(rec)
        return rec

    def add_account(
        self, comp: Company, number: str, name: str, tax_group: str = "TAXABLE", category: str = "Income"
    ) -> dict[str, Any]:
        with self.lock:
            rec = {
                "id": str(uuid.uuid4()),
                "number": number,
                "displayName": name,
                "category": category,
                "subCategory": "",
                "blocked": False,
                "accountType": "Posting",
                "directPosting": True,
                "netChange": Decimal(0),
                "consolidationTranslationMethod": "",
                "consolidationDebitAccount": "",
                "consolidationCreditAccount": "",
                "excludeFromConsolidation": False,
                "lastModifiedDateTime": self.now(),
                "_v": 1,
                "_taxGroup": tax_group,
            }
            comp.accounts.insert(rec)
            return rec

    def currency_code(self, comp: Company, value: str) -> str:
        """Validate a currencyCode page variable (business-central.md §10.6); returns the stored code
        ('' = LCY). INFERRED: the text is cut to the Code[10] parameter's length, then upper-cased."""
        code = value[:10].strip().upper()
        if code in ("", self.lcy):
            return ""
        if not comp.currencies.find("code", code):
            raise dialog('The "currencyCode" does not match to a Currency.')
        return code

    def currency_pair(self, comp: Company, values: dict[str, Any]) -> tuple[str, str] | None:
        """(code, id) from a body's currencyCode and/or currencyId, with BC's three errors; None if neither
        was sent."""
        if "currencyCode" not in values and "currencyId" not in values:
            return None
        by_id = ""
        if values.get("currencyId") and values["currencyId"] != BLANK_GUID:  # a blank GUID is the LCY
            rec = comp.currencies.rows.get(values["currencyId"])
            if rec is None:
                raise dialog('The "currencyId" does not match to a Currency.')
            by_id = rec["code"]
        if "currencyCode" in values:
            code = self.currency_code(comp, values["currencyCode"])
            if "currencyId" in values and code != by_id:
                raise dialog("The currency values do not match to a specific Currency.")
        else:
            code = by_id
        found = comp.currencies.find("code", code) if code else []
        return code, (found[0]["id"] if found else "")

    # ------------------------------------------------------------------ rendering

    def render(
        self, etype: EntityType, rec: dict[str, Any], select: list[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "@odata.etag": make_etag(str(rec.get("id") or rec.get("subscriptionId")), rec.get("_v", 1))
        }
        for fld in etype.fields:
            if select is not None and fld.name not in select:
                continue
            value = rec.get(fld.name)
            if fld.kind == "dec":
                value = to_json_number(value if value is not None else Decimal(0))
            elif fld.kind == "enum":
                value = encode_enum(value if value is not None else " ")
            elif fld.kind == "guid" and not value:
                value = BLANK_GUID
            elif fld.kind == "date" and not value:
                value = BLANK_DATE
            if fld.name == "currencyCode":
                value = value or self.lcy
            out[fld.name] = value
        return out

    # ------------------------------------------------------------------ body coercion

    def coerce(
        self, etype: EntityType, body: Any, *, navs: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], dict]:
        """Validate a JSON body against ``etype``: (writable values, nav payloads).

        UNDOCUMENTED choice: read-only properties in a body are ignored (the docs' own POST salesInvoice
        example sends number/customerName), unknown properties are refused like ODataLib does.
        """
        if not isinstance(body, dict):
            raise BCError(400, "BadRequest", "The request body is not a JSON object.")
        values: dict[str, Any] = {}
        nav_values: dict[str, Any] = {}
        for key, raw in body.items():
            if key.startswith("@"):
                continue
            if key in navs:
                if not isinstance(raw, list):
                    raise BCError(400, "BadRequest", f"The property '{key}' must be a collection.")
                nav_values[key] = raw
                continue
            fld = etype.by_name.get(key)
            if fld is None:
                raise BCError(
                    400,
                    "BadRequest",
                    f"The property '{key}' does not exist on type '{etype.type_name}'. Make sure to only "
                    "use property names that are defined by the type.",
                )
            if fld.ro:
                values.setdefault("_ro", []).append(key)
                continue
            values[key] = coerce_value(etype, fld.name, fld.kind, raw, fld.size, fld.options)
        return values, nav_values


def _type_error(kind: str, raw: Any) -> BCError:
    edm = {
        "guid": "Edm.Guid",
        "str": "Edm.String",
        "code": "Edm.String",
        "dec": "Edm.Decimal",
        "int": "Edm.Int32",
        "bool": "Edm.Boolean",
        "date": "Edm.Date",
        "enum": "Edm.String",
    }.get(kind, kind)
    return BCError(400, "BadRequest", f"Cannot convert the literal '{raw}' to the expected type '{edm}'.")


def coerce_value(
    etype: EntityType, name: str, kind: str, raw: Any, size: int | None, options: tuple[str, ...]
) -> Any:
    if raw is None:
        raise BCError(
            400,
            "BadRequest",
            f"A null value was found for the property named '{name}', which has the expected type "
            f"'{etype.type_name}'. The expected type does not allow null values.",
        )
    if kind in ("str", "code"):
        if not isinstance(raw, str):
            raise _type_error(kind, raw)
        value = raw.strip().upper() if kind == "code" else raw
        if size is not None and len(value) > size:
            raise BCError(
                400,
                "Application_StringExceededLength",
                f"The length of the string is {len(value)}, but it must be less than or equal to {size} "
                f"characters. Value: {value}",
            )
        return value
    if kind == "dec":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _type_error(kind, raw)
        return Decimal(str(raw))
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _type_error(kind, raw)
        return raw
    if kind == "bool":
        if not isinstance(raw, bool):
            raise _type_error(kind, raw)
        return raw
    if kind == "guid":
        try:
            return str(uuid.UUID(str(raw))) if isinstance(raw, str) and len(raw) == 36 else _bad_guid(raw)
        except ValueError:
            return _bad_guid(raw)
    if kind == "date":
        import datetime as dt

        try:
            if not isinstance(raw, str) or len(raw) != 10:
                raise ValueError(raw)
            dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise _type_error(kind, raw) from exc
        return raw
    if kind == "enum":
        if not isinstance(raw, str):
            raise _type_error(kind, raw)
        value = decode_enum(raw)
        if value not in options:
            # Shape from the docs' $batch example (code "Unknown", status 400).
            raise BCError(
                400, "Unknown", f"'{value}' is not an option. The existing options are: {','.join(options)}"
            )
        return value
    raise _type_error(kind, raw)


def _bad_guid(raw: Any) -> str:
    raise BCError(400, "BadRequest", f"Cannot convert the literal '{raw}' to the expected type 'Edm.Guid'.")


# --------------------------------------------------------------------------- customers & items


def new_customer(store: Store, comp: Company, values: dict[str, Any]) -> dict[str, Any]:
    if "displayName" not in values:
        raise dialog('A "displayName" must be provided.')
    if not values["displayName"].strip():
        raise dialog('The blank "displayName" is not allowed.')
    number = values.get("number") or comp.next_no("customer")
    if comp.customers.find("number", number):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            f"The record in table Customer already exists. Identification fields and values: No.='{number}'",
        )
    currency = (store.currency_pair(comp, values) or ("", ""))[0]
    now = store.now()
    rec: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "number": number,
        "displayName": "",
        "type": "Company",
        "addressLine1": "",
        "addressLine2": "",
        "city": "",
        "state": "",
        "country": "",
        "postalCode": "",
        "phoneNumber": "",
        "email": "",
        "website": "",
        "salespersonCode": "",
        "balanceDue": Decimal(0),
        "creditLimit": Decimal(0),
        "taxLiable": True,
        "taxAreaId": "",
        "taxAreaDisplayName": "",
        "taxRegistrationNumber": "",
        "currencyId": "",
        "currencyCode": "",
        "paymentTermsId": "",
        "shipmentMethodId": "",
        "paymentMethodId": "",
        "blocked": " ",
        "lastModifiedDateTime": now,
        "_v": 1,
        # "Prices Including VAT" of the customer card: not on the v2.0 customers page (§10.6); invoices
        # and credit memos take pricesIncludeTax from it. Set through the admin API only.
        "_pricesIncludingVat": False,
    }
    rec.update({k: v for k, v in values.items() if not k.startswith("_")})
    rec["number"], rec["currencyCode"] = number, currency
    rec["currencyId"] = _currency_id(comp, currency)
    comp.customers.insert(rec)
    store.on_change(comp.id, "customers", rec["id"], "created", now)
    return rec


def _currency_id(comp: Company, code: str) -> str:
    if not code:
        return ""
    return comp.currencies.find("code", code)[0]["id"]


def modify(
    store: Store,
    comp: Company,
    set_name: str,
    rec: dict[str, Any],
    values: dict[str, Any],
    *,
    notify: bool = True,
) -> dict[str, Any]:
    table = comp.table(set_name)
    assert table is not None
    old = dict(rec)
    rec.update({k: v for k, v in values.items() if not k.startswith("_")})
    rec["_v"] = rec.get("_v", 1) + 1
    rec["lastModifiedDateTime"] = store.now()
    table.reindex(rec, old)
    if notify:
        store.on_change(comp.id, set_name, rec["id"], "updated", rec["lastModifiedDateTime"])
    return rec


def update_customer(
    store: Store, comp: Company, rec: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    if "displayName" in values and not values["displayName"].strip():
        raise dialog('The blank "displayName" is not allowed.')
    if (
        "number" in values
        and values["number"] != rec["number"]
        and comp.customers.find("number", values["number"])
    ):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            "The record in table Customer already exists. Identification fields and values: "
            f"No.='{values['number']}'",
        )
    pair = store.currency_pair(comp, values)
    if pair is not None:
        values["currencyCode"], values["currencyId"] = pair
    return modify(store, comp, "customers", rec, values)


def new_item(store: Store, comp: Company, values: dict[str, Any], *, notify: bool = True) -> dict[str, Any]:
    if "inventory" in values:
        raise dialog("Inventory cannot be changed during on insert.")
    number = values.get("number") or comp.next_no("item")
    if comp.items.find("number", number):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            f"The record in table Item already exists. Identification fields and values: No.='{number}'",
        )
    now = store.now()
    rec: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "number": number,
        "displayName": "",
        "displayName2": "",
        "type": "Inventory",
        "itemCategoryId": "",
        "itemCategoryCode": "",
        "blocked": False,
        "gtin": "",
        "unitPrice": Decimal(0),
        "priceIncludesTax": False,
        "unitCost": Decimal(0),
        "taxGroupId": "",
        "taxGroupCode": store.default_tax_group,
        "baseUnitOfMeasureId": "",
        "baseUnitOfMeasureCode": "PCS",
        "generalProductPostingGroupId": "",
        "generalProductPostingGroupCode": "RETAIL",
        "inventoryPostingGroupId": "",
        "inventoryPostingGroupCode": "RESALE",
        "lastModifiedDateTime": now,
        "_v": 1,
    }
    rec.update({k: v for k, v in values.items() if not k.startswith("_")})
    rec["number"] = number
    rec["inventory"] = Decimal(0)
    comp.items.insert(rec)
    comp.inventory.setdefault(number, Decimal(0))
    if notify:
        store.on_change(comp.id, "items", rec["id"], "created", now)
    return rec


def update_item(store: Store, comp: Company, rec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """PATCH items: setting ``inventory`` posts an adjustment (ledger entry) like the AL page does."""
    target = values.pop("inventory", None)
    if "number" in values and values["number"] != rec["number"]:
        raise dialog("Renaming items is not supported by the sandbox.")
    if values:
        modify(store, comp, "items", rec, values)
    if target is not None:
        delta = target - comp.inventory.get(rec["number"], Decimal(0))
        if delta:
            add_ledger_entry(
                store,
                comp,
                rec["number"],
                delta,
                "Positive Adjmt." if delta > 0 else "Negative Adjmt.",
                document_number="API-ADJ",
            )
    return rec


def add_ledger_entry(
    store: Store,
    comp: Company,
    item_number: str,
    quantity: Decimal,
    entry_type: str,
    *,
    document_number: str = "",
    document_type: str = " ",
    source_type: str = " ",
    source_number: str = "",
    sales_amount: Decimal = Decimal(0),
    cost_amount: Decimal = Decimal(0),
    posting_date: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Append an item ledger entry. The item record is NOT modified and nothing is notified."""
    if item_number not in comp.inventory:
        raise not_found("Item", f"No.='{item_number}'")
    entry_no = len(comp.ledger.rows) + 1
    rec = {
        "id": str(uuid.uuid4()),
        "entryNumber": entry_no,
        "itemNumber": item_number,
        "postingDate": posting_date or store.today(),
        "entryType": entry_type,
        "sourceNumber": source_number,
        "sourceType": source_type,
        "documentNumber": document_number,
        "documentType": document_type,
        "description": description,
        "quantity": Decimal(quantity),
        "salesAmountActual": sales_amount,
        "costAmountActual": cost_amount,
        "lastModifiedDateTime": store.now(),
        "_v": 1,
    }
    comp.ledger.insert(rec)
    comp.inventory[item_number] = comp.inventory.get(item_number, Decimal(0)) + Decimal(quantity)
    return rec


def item_view(comp: Company, rec: dict[str, Any]) -> dict[str, Any]:
    """The item row as the API page shows it: inventory is a FlowField over the ledger."""
    inv = comp.inventory.get(rec["number"], Decimal(0))
    if rec.get("inventory") != inv:
        rec["inventory"] = inv
    return rec
