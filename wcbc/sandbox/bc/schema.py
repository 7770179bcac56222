"""Entity types of the BC API v2.0 pages the sandbox serves (fields per business-central.md §3 and the
AL pages it cites; order follows the docs examples)."""

from __future__ import annotations

from wcbc.sandbox.bc.odata import EntityType, Field

G, S, C, D, N, B, DT, DTM, E = "guid", "str", "code", "dec", "int", "bool", "date", "datetime", "enum"


def f(
    name: str, kind: str, ro: bool = False, size: int | None = None, options: tuple[str, ...] = ()
) -> Field:
    return Field(name, kind, ro, size, options)


CUSTOMER_BLOCKED = (" ", "Ship", "Invoice", "All")
ITEM_TYPES = ("Inventory", "Service", "Non-Inventory")
LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Fixed Asset", "Charge", "Allocation Account")
ORDER_STATUS = ("Draft", "In Review", "Open")
INVOICE_STATUS = (" ", "Draft", "In Review", "Open", "Paid", "Canceled", "Corrective")
LEDGER_ENTRY_TYPES = (
    "Purchase",
    "Sale",
    "Positive Adjmt.",
    "Negative Adjmt.",
    "Transfer",
    "Consumption",
    "Output",
    " ",
    "Assembly Consumption",
    "Assembly Output",
)
LEDGER_DOC_TYPES = (
    " ",
    "Sales Shipment",
    "Sales Invoice",
    "Sales Return Receipt",
    "Sales Credit Memo",
    "Purchase Receipt",
    "Purchase Invoice",
    "Purchase Return Shipment",
    "Purchase Credit Memo",
    "Transfer Shipment",
    "Transfer Receipt",
    "Service Shipment",
    "Service Invoice",
    "Service Credit Memo",
    "Posted Assembly",
    "Inventory Receipt",
    "Inventory Shipment",
    "Direct Transfer",
)
SOURCE_TYPES = (" ", "Customer", "Vendor", "Item")

COMPANY = EntityType(
    "company",
    [
        f("id", G, True),
        f("systemVersion", S, True),
        f("timestamp", N, True),
        f("name", S, True),
        f("displayName", S, True),
        f("businessProfileId", S, True),
        f("systemCreatedAt", DTM, True),
        f("systemCreatedBy", G, True),
        f("systemModifiedAt", DTM, True),
        f("systemModifiedBy", G, True),
    ],
)

CUSTOMER = EntityType(
    "customer",
    [
        f("id", G, True),
        f("number", C, size=20),
        f("displayName", S, size=100),
        f("type", E, options=("Company", "Person")),
        f("addressLine1", S, size=100),
        f("addressLine2", S, size=50),
        f("city", S, size=30),
        f("state", S, size=30),
        f("country", C, size=10),
        f("postalCode", C, size=20),
        f("phoneNumber", S, size=30),
        f("email", S, size=80),
        f("website", S, size=80),
        f("salespersonCode", C, size=20),
        f("balanceDue", D, True),
        f("creditLimit", D),
        f("taxLiable", B),
        f("taxAreaId", G),
        f("taxAreaDisplayName", S, True),
        f("taxRegistrationNumber", S, size=20),
        f("currencyId", G),
        f("currencyCode", S),
        f("paymentTermsId", G),
        f("shipmentMethodId", G),
        f("paymentMethodId", G),
        f("blocked", E, options=CUSTOMER_BLOCKED),
        f("lastModifiedDateTime", DTM, True),
    ],
)

ITEM = EntityType(
    "item",
    [
        f("id", G, True),
        f("number", C, size=20),
        f("displayName", S, size=100),
        f("displayName2", S, size=50),
        f("type", E, options=ITEM_TYPES),
        f("itemCategoryId", G),
        f("itemCategoryCode", C, size=20),
        f("blocked", B),
        f("gtin", C, size=14),
        f("inventory", D),
        f("unitPrice", D),
        f("priceIncludesTax", B),
        f("unitCost", D),
        f("taxGroupId", G),
        f("taxGroupCode", C, size=20),
        f("baseUnitOfMeasureId", G),
        f("baseUnitOfMeasureCode", C, size=10),
        f("generalProductPostingGroupId", G),
        f("generalProductPostingGroupCode", C, size=20),
        f("inventoryPostingGroupId", G),
        f("inventoryPostingGroupCode", C, size=20),
        f("lastModifiedDateTime", DTM, True),
    ],
)

ITEM_LEDGER_ENTRY = EntityType(
    "itemLedgerEntry",
    [
        f("id", G, True),
        f("entryNumber", N, True),
        f("itemNumber", C, True),
        f("postingDate", DT, True),
        f("entryType", E, True, options=LEDGER_ENTRY_TYPES),
        f("sourceNumber", C, True),
        f("sourceType", E, True, options=SOURCE_TYPES),
        f("documentNumber", C, True),
        f("documentType", E, True, options=LEDGER_DOC_TYPES),
        f("description", S, True),
        f("quantity", D, True),
        f("salesAmountActual", D, True),
        f("costAmountActual", D, True),
        f("lastModifiedDateTime", DTM, True),
    ],
)

ACCOUNT = EntityType(
    "account",
    [
        f("id", G, True),
        f("number", C, True),
        f("displayName", S, True),
        f(
            "category",
            E,
            True,
            options=(" ", "Assets", "Liabilities", "Equity", "Income", "CostOfGoodsSold", "Expense"),
        ),
        f("subCategory", S, True),
        f("blocked", B, True),
        f("accountType", E, True, options=("Posting", "Heading", "Total", "Begin-Total", "End-Total")),
        f("directPosting", B, True),
        f("netChange", D, True),
        f("consolidationTranslationMethod", S, True),
        f("consolidationDebitAccount", S, True),
        f("consolidationCreditAccount", S, True),
        f("excludeFromConsolidation", B, True),
        f("lastModifiedDateTime", DTM, True),
    ],
)

CURRENCY = EntityType(
    "currency",
    [
        f("id", G, True),
        f("code", C, True),
        f("displayName", S, True),
        f("symbol", S, True),
        f("amountDecimalPlaces", S, True),
        f("amountRoundingPrecision", D, True),
        f("lastModifiedDateTime", DTM, True),
    ],
)

_ADDR = ("AddressLine1", "AddressLine2", "City", "Country", "State", "PostCode")
_SIZES = {"AddressLine1": 100, "AddressLine2": 50, "City": 30, "Country": 10, "State": 30, "PostCode": 20}


def _addr(prefix: str, ro: bool) -> list[Field]:
    return [f(prefix + part, C if part in ("Country", "PostCode") else S, ro, _SIZES[part]) for part in _ADDR]


_HEAD = [
    f("customerId", G),
    f("customerNumber", C, size=20),
    f("customerName", S, True),
    f("billToName", S, True),
    f("billToCustomerId", G),
    f("billToCustomerNumber", C, size=20),
    f("shipToName", S, size=100),
    f("shipToContact", S, size=100),
]

SALES_ORDER = EntityType(
    "salesOrder",
    [
        f("id", G, True),
        f("number", C, True),
        f("externalDocumentNumber", C, size=35),
        f("orderDate", DT),
        f("postingDate", DT),
        *_HEAD,
        *_addr("sellTo", False),
        *_addr("billTo", True),
        *_addr("shipTo", False),
        f("shortcutDimension1Code", C, size=20),
        f("shortcutDimension2Code", C, size=20),
        f("currencyId", G),
        f("currencyCode", S),
        f("pricesIncludeTax", B),
        f("paymentTermsId", G),
        f("shipmentMethodId", G),
        f("salesperson", C, size=20),
        f("partialShipping", B),
        f("requestedDeliveryDate", DT),
        f("discountAmount", D),
        f("discountAppliedBeforeTax", B, True),
        f("totalAmountExcludingTax", D, True),
        f("totalTaxAmount", D, True),
        f("totalAmountIncludingTax", D, True),
        f("fullyShipped", B, True),
        f("status", E, True, options=ORDER_STATUS),
        f("lastModifiedDateTime", DTM, True),
        f("phoneNumber", S, size=30),
        f("email", S, size=80),
    ],
    navs={"salesOrderLines": "salesOrderLines"},
)

SALES_INVOICE = EntityType(
    "salesInvoice",
    [
        f("id", G, True),
        f("number", C, True),
        f("externalDocumentNumber", C, size=35),
        f("invoiceDate", DT),
        f("postingDate", DT),
        f("dueDate", DT),
        f("promisedPayDate", DT),
        f("customerPurchaseOrderReference", S, size=35),
        *_HEAD,
        *_addr("sellTo", False),
        *_addr("billTo", True),
        *_addr("shipTo", False),
        f("shortcutDimension1Code", C, size=20),
        f("shortcutDimension2Code", C, size=20),
        f("currencyId", G),
        f("currencyCode", S),
        f("orderId", G, True),
        f("orderNumber", C, True),
        f("paymentTermsId", G),
        f("shipmentMethodId", G),
        f("salesperson", C, size=20),
        f("disputeStatusId", G),
        f("disputeStatus", S),
        f("pricesIncludeTax", B, True),
        f("remainingAmount", D, True),
        f("discountAmount", D),
        f("discountAppliedBeforeTax", B, True),
        f("totalAmountExcludingTax", D, True),
        f("totalTaxAmount", D, True),
        f("totalAmountIncludingTax", D, True),
        f("status", E, True, options=INVOICE_STATUS),
        f("lastModifiedDateTime", DTM, True),
        f("phoneNumber", S, size=30),
        f("email", S, size=80),
    ],
    navs={"salesInvoiceLines": "salesInvoiceLines"},
)

_LINE_COMMON = [
    f("id", G, True),
    f("documentId", G),
    f("sequence", N),
    f("itemId", G),
    f("accountId", G),
    f("lineType", E, options=LINE_TYPES),
    f("lineObjectNumber", C, size=20),
    f("description", S, size=100),
    f("description2", S, size=50),
    f("unitOfMeasureId", G),
    f("unitOfMeasureCode", C, size=10),
    f("quantity", D),
    f("unitPrice", D),
    f("discountAmount", D),
    f("discountPercent", D),
    f("discountAppliedBeforeTax", B, True),
    f("amountExcludingTax", D, True),
    f("taxCode", C, size=20),
    f("taxPercent", D, True),
    f("totalTaxAmount", D, True),
    f("amountIncludingTax", D, True),
    f("invoiceDiscountAllocation", D, True),
    f("netAmount", D, True),
    f("netTaxAmount", D, True),
    f("netAmountIncludingTax", D, True),
    f("shipmentDate", DT),
]
SALES_ORDER_LINE = EntityType(
    "salesOrderLine",
    [
        *_LINE_COMMON,
        f("shippedQuantity", D),
        f("invoicedQuantity", D),
        f("invoiceQuantity", D),
        f("shipQuantity", D),
        f("itemVariantId", G),
        f("locationId", G),
    ],
)
SALES_INVOICE_LINE = EntityType(
    "salesInvoiceLine", [*_LINE_COMMON, f("itemVariantId", G), f("locationId", G)]
)

CREDIT_MEMO_STATUS = ("Draft", "In Review", "Open", "Canceled", "Corrective", "Paid")
# Shipment lines use BC's "Sales Line Type" enum, not the document lines' Comment/Account/Item (§10.4).
SALES_LINE_TYPES = (
    " ",
    "G/L Account",
    "Item",
    "Resource",
    "Fixed Asset",
    "Charge (Item)",
    "Allocation Account",
)

# salesCreditMemos (page 30038, business-central.md §10.1): billTo* editable here, no shipTo*.
SALES_CREDIT_MEMO = EntityType(
    "salesCreditMemo",
    [
        f("id", G, True),
        f("number", C, True),
        f("externalDocumentNumber", C, size=35),
        f("creditMemoDate", DT),
        f("postingDate", DT),
        f("dueDate", DT),
        f("customerId", G),
        f("customerNumber", C, size=20),
        f("customerName", S, True),
        f("billToName", S, True),
        f("billToCustomerId", G),
        f("billToCustomerNumber", C, size=20),
        *_addr("sellTo", False),
        *_addr("billTo", False),
        f("shortcutDimension1Code", C, size=20),
        f("shortcutDimension2Code", C, size=20),
        f("currencyId", G),
        f("currencyCode", S),
        f("paymentTermsId", G),
        f("shipmentMethodId", G),
        f("salesperson", C, size=20),
        f("pricesIncludeTax", B, True),
        f("discountAmount", D),
        f("discountAppliedBeforeTax", B, True),
        f("totalAmountExcludingTax", D, True),
        f("totalTaxAmount", D, True),
        f("totalAmountIncludingTax", D, True),
        f("status", E, True, options=CREDIT_MEMO_STATUS),
        f("lastModifiedDateTime", DTM, True),
        f("invoiceId", G),
        f("invoiceNumber", C, size=20),
        f("phoneNumber", S, size=30),
        f("email", S, size=80),
        f("customerReturnReasonId", G),
    ],
    navs={"salesCreditMemoLines": "salesCreditMemoLines"},
)
SALES_CREDIT_MEMO_LINE = EntityType(
    "salesCreditMemoLine", [*_LINE_COMMON, f("itemVariantId", G), f("locationId", G)]
)

# salesShipments / salesShipmentLines (pages 30062/30063, §10.4): GET only; no tracking field.
SALES_SHIPMENT = EntityType(
    "salesShipment",
    [
        f("id", G, True),
        f("number", C, True),
        f("externalDocumentNumber", C, True),
        f("invoiceDate", DT, True),
        f("postingDate", DT, True),
        f("dueDate", DT, True),
        f("customerPurchaseOrderReference", S, True),
        f("customerId", G, True),
        f("customerNumber", C, True),
        f("customerName", S, True),
        f("billToName", S, True),
        f("billToCustomerId", G, True),
        f("billToCustomerNumber", C, True),
        f("shipToName", S, True),
        f("shipToContact", S, True),
        *_addr("sellTo", True),
        *_addr("billTo", True),
        *_addr("shipTo", True),
        f("currencyCode", S, True),
        f("orderNumber", C, True),
        f("paymentTermsCode", C, True),
        f("shipmentMethodCode", C, True),
        f("salesperson", C, True),
        f("pricesIncludeTax", B, True),
        f("lastModifiedDateTime", DTM, True),
        f("phoneNumber", S, True),
        f("email", S, True),
    ],
    navs={"salesShipmentLines": "salesShipmentLines"},
)
SALES_SHIPMENT_LINE = EntityType(
    "salesShipmentLine",
    [
        f("id", G, True),
        f("documentId", G, True),
        f("documentNo", C, True),
        f("sequence", N, True),
        f("lineType", E, True, options=SALES_LINE_TYPES),
        f("lineObjectNumber", C, True),
        f("description", S, True),
        f("description2", S, True),
        f("unitOfMeasureCode", C, True),
        f("unitPrice", D, True),
        f("quantity", D, True),
        f("discountPercent", D, True),
        f("taxPercent", D, True),
        f("shipmentDate", DT, True),
    ],
)

# customerPaymentJournals / customerPayments (pages 30013/30055) and journals (30016), §10.5.
CUSTOMER_PAYMENT_JOURNAL = EntityType(
    "customerPaymentJournal",
    [
        f("id", G, True),
        f("code", C, size=10),
        f("displayName", S, size=100),
        f("lastModifiedDateTime", DTM, True),
        f("balancingAccountId", G),
        f("balancingAccountNumber", C, True),
    ],
    navs={"customerPayments": "customerPayments"},
)
CUSTOMER_PAYMENT = EntityType(
    "customerPayment",
    [
        f("id", G, True),
        f("journalId", G),
        f("journalDisplayName", C, size=10),
        f("lineNumber", N),
        f("customerId", G),
        f("customerNumber", C, size=20),
        f("postingDate", DT),
        f("documentNumber", C, size=20),
        f("externalDocumentNumber", C, size=35),
        f("amount", D),
        f("appliesToInvoiceId", G),
        f("appliesToInvoiceNumber", C, size=20),
        f("description", S, size=100),
        f("comment", S, size=250),
        f("lastModifiedDateTime", DTM, True),
    ],
)
# UNDOCUMENTED in the contract: the journals page's fields (sandbox: the v2.0 resource docs' list).
JOURNAL = EntityType(
    "journal",
    [
        f("id", G, True),
        f("code", C, True),
        f("displayName", S, True),
        f("templateDisplayName", S, True),
        f("lastModifiedDateTime", DTM, True),
        f("balancingAccountId", G, True),
        f("balancingAccountNumber", C, True),
    ],
)

# taxGroups (30015) and taxAreas (30036): temporary buffers, GET only in the sandbox (§10.6).
_TAX_BUFFER = [
    f("id", G, True),
    f("code", C, True),
    f("displayName", S, True),
    f("taxType", E, True, options=("Sales Tax", "VAT")),
    f("lastModifiedDateTime", DTM, True),
]
TAX_GROUP = EntityType("taxGroup", list(_TAX_BUFFER))
TAX_AREA = EntityType("taxArea", list(_TAX_BUFFER))

SUBSCRIPTION = EntityType(
    "subscription",
    [
        f("subscriptionId", S, True),
        f("notificationUrl", S),
        f("resource", S),
        f("userId", G, True),
        f("lastModifiedDateTime", DTM, True),
        f("clientState", S, size=2048),
        f("expirationDateTime", DTM, True),
        f("systemCreatedAt", DTM, True),
        f("systemCreatedBy", G, True),
        f("systemModifiedAt", DTM, True),
        f("systemModifiedBy", G, True),
    ],
)

# entity set name -> (type, caption used in "The X does not exist" messages)
ENTITY_SETS: dict[str, tuple[EntityType, str]] = {
    "customers": (CUSTOMER, "Customer"),
    "items": (ITEM, "Item"),
    "itemLedgerEntries": (ITEM_LEDGER_ENTRY, "Item Ledger Entry"),
    "accounts": (ACCOUNT, "G/L Account"),
    "currencies": (CURRENCY, "Currency"),
    "salesOrders": (SALES_ORDER, "Sales Header"),
    "salesInvoices": (SALES_INVOICE, "Sales Invoice Header"),
    "salesOrderLines": (SALES_ORDER_LINE, "Sales Line"),
    "salesInvoiceLines": (SALES_INVOICE_LINE, "Sales Line"),
    "salesCreditMemos": (SALES_CREDIT_MEMO, "Sales Cr.Memo Header"),
    "salesCreditMemoLines": (SALES_CREDIT_MEMO_LINE, "Sales Line"),
    "salesShipments": (SALES_SHIPMENT, "Sales Shipment Header"),
    "salesShipmentLines": (SALES_SHIPMENT_LINE, "Sales Shipment Line"),
    "customerPaymentJournals": (CUSTOMER_PAYMENT_JOURNAL, "Gen. Journal Batch"),
    "customerPayments": (CUSTOMER_PAYMENT, "Gen. Journal Line"),
    "journals": (JOURNAL, "Gen. Journal Batch"),
    "taxGroups": (TAX_GROUP, "Tax Group"),
    "taxAreas": (TAX_AREA, "Tax Area"),
}

# Entity sets a webhook subscription may name (business-central.md §4, restricted to what the sandbox serves).
WEBHOOK_SETS = (
    "customers",
    "items",
    "salesOrders",
    "salesInvoices",
    "accounts",
    "currencies",
    "salesCreditMemos",
    "customerPaymentJournals",
    "journals",
)

BLANK_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = "0001-01-01"
