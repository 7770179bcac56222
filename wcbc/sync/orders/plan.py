"""sync-orders, step 2 of 3: decide, from what was read, what each order needs. Pure: no adapter, no state.

Inputs are plain data: the order as WooCommerce sends it, :class:`Known` (a snapshot of the state's
record and link of each order and the links of the buyers) and :class:`Found` (this page's BC lookups:
documents by externalDocumentNumber, items by number, customers by e-mail). The output is one
:class:`OrderPlan` per order: a decision and the :class:`~wcbc.sync.common.plan.Write` values it needs,
each with its idempotency key. ``--dry-run`` prints these plans (:mod:`.preview`); a real run performs
them (:mod:`.apply`).

Decisions, in the order they are taken:

* :func:`triage`, before any BC call: a linked order is ``unchanged`` (same fingerprint; its write-back is
  planned again when the order does not carry it yet) or a ``conflict`` (changed after booking: reported,
  never booked twice); an order on hold is ``held`` until replayed; a status outside ``orders.statuses`` is
  ``skipped``. ``None``: the order needs the page's BC lookups.
* :func:`decide`, after them: the order's externalDocumentNumber is already the key of another order of
  this run (equal after BC's upper-casing and trimming): ``rejected`` naming that order, before any write;
  BC already holds a document under the order's externalDocumentNumber and it is proved to be the order's
  (:func:`wcbc.sync.mapping.orders.document_mismatches`: the comment line naming the web order, the
  customer, the total): ``linked`` (a crash or a lost state DB left it; a draft invoice is posted when the
  target is ``posted_invoice``); a document that is not the order's: ``rejected`` naming it (number,
  customer) and how to fix it; the order carries our write-back meta but BC shows nothing: ``linked_by_meta``
  (booked once, never booked again); otherwise ``book``: create the buyer's customer when BC has none
  (key: the buyer), create the document (key: externalDocumentNumber), post it (``posted_invoice``), write
  the BC number back and add a note. An order that cannot be booked (unknown or blocked SKU, nothing to
  book, a guest without e-mail...) is ``rejected`` with the reason.

Every per-order step is isolated: an order whose content cannot be read (a wrong type, an amount beyond
BC's range, lines that are not objects...) is ``rejected`` with the cause (:func:`isolated`), never an
error of the page.

The BC numbers of a new customer and of a new document are known only once BC answers: the plan carries
the placeholder ``(new customer for ...)`` (shown by ``--dry-run``) and apply puts the real number in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.common.plan import Write
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.mapping.orders.floor import before_start
from wcbc.sync.mapping.orders.text import CUSTOMER_LENGTHS
from wcbc.sync.orders.buyers import ambiguous

# The decisions an OrderPlan can carry.
DECISIONS = ("unchanged", "conflict", "held", "skipped", "linked", "linked_by_meta", "book", "rejected")
# A posted invoice beats a draft, and an invoice beats the order it was made from.
LOOKUP_ENTITIES = ("salesOrders", "salesInvoices")


@dataclass(frozen=True)
class Policy:
    """The ``[orders]`` settings the decisions depend on, and whether this run replays held orders."""

    target: str = "sales_order"
    statuses: tuple[str, ...] = ("processing", "completed")
    number_prefix: str = ""
    add_note: bool = True
    replay: bool = False
    rounding_account: str | None = None
    total_tolerance: Decimal = Decimal("0.01")
    rounding_cap: Decimal = Decimal("0.05")
    max_attempts: int = 3
    entity: str = "salesOrders"
    lines_key: str = "salesOrderLines"
    start_date: str | None = None
    force: bool = False  # wcbc replay --force: books an order created before start_date too

    @classmethod
    def from_config(cls, config: Any, options: mapping.MappingOptions, *, replay: bool = False,
                    force: bool = False) -> Policy:
        cfg = config.orders
        return cls(
            target=cfg.target,
            statuses=tuple(cfg.statuses),
            number_prefix=cfg.number_prefix or "",
            add_note=bool(cfg.add_note),
            replay=replay,
            rounding_account=cfg.rounding_account,
            total_tolerance=Decimal(str(cfg.total_tolerance)),
            rounding_cap=Decimal(str(cfg.rounding_cap)),
            max_attempts=int(cfg.max_attempts),
            entity=options.entity_set,
            lines_key=options.lines_key,
            start_date=cfg.start_date,
            force=force,
        )


@dataclass
class Known:
    """What the state DB holds about a page's orders: records and links by order id, buyers' customers."""

    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    links: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # "customer:2" / "guest:<e-mail>" -> BC number


@dataclass
class Found:
    """What BC answered to a page's lookups."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # externalDocumentNumber -> doc
    items: Mapping[str, bool | None] = field(default_factory=dict)  # number -> blocked; None: not an item
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # e-mail (lower) -> customer
    # every document under each externalDocumentNumber, the preferred one (``documents``) first
    candidates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def documents_for(self, key: str) -> list[dict[str, Any]]:
        if key in self.candidates:
            return self.candidates[key]
        return [self.documents[key]] if key in self.documents else []
    same_email: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # e-mail -> 2+ customers


@dataclass
class CustomerPlan:
    """The BC customer an order is booked on.

    ``number`` is known (a link, ``orders.guest_customer``, or a customer BC has under the buyer's
    e-mail: ``found``, linked by apply); else ``create`` is the POST, keyed by the buyer (``key``, also the
    customer link's key), and a lost answer is settled by ``email``.
    """

    key: str
    number: str | None = None
    found: dict[str, Any] | None = None
    create: Write | None = None
    email: str = ""

    @property
    def placeholder(self) -> str:
        return f"(new customer for {self.email or self.key})"


@dataclass
class OrderPlan:
    """One order's decision and the writes it needs, in the order they are performed."""

    order: dict[str, Any]
    decision: str
    message: str | None = None
    document: str | None = None  # the BC document number, when already known
    found: dict[str, Any] | None = None  # the BC document found by externalDocumentNumber
    link: dict[str, Any] | None = None  # the order's link (unchanged, conflict)
    changes: list[str] = field(default_factory=list)  # conflict: what changed after booking
    customer: CustomerPlan | None = None
    writes: list[Write] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}")

    @property
    def order_id(self) -> int:
        return int(self.order["id"])

    @property
    def rid(self) -> str:
        return f"order:{self.order['id']}"

    @property
    def number(self) -> str:
        return str(self.order.get("number", self.order["id"]))

    def write(self, action: str) -> Write | None:
        return next((w for w in self.writes if w.action == action), None)


def record_id(order: Mapping[str, Any]) -> str:
    return f"order:{order['id']}"


def external_number(order: Mapping[str, Any], policy: Policy) -> str | None:
    """The order's externalDocumentNumber (its idempotency key in BC), or None when it cannot have one."""
    try:
        return mapping.document_number(order, policy.number_prefix)
    except Exception:  # noqa: BLE001 - any unreadable number: decide() fails the order with the cause
        return None


def buyer_link_key(order: Mapping[str, Any], options: mapping.MappingOptions) -> str | None:
    """The customer link key of the order's buyer; None for the shared guest customer or no buyer."""
    try:
        kind, key = mapping.buyer_key(order, options)
    except Exception:  # noqa: BLE001 - a hostile buyer: decide() fails the order with the cause
        return None
    return None if kind == "guest_customer" else f"{kind}:{key}"


def _email(order: Mapping[str, Any]) -> str:
    billing = order.get("billing")
    return str((billing if isinstance(billing, Mapping) else {}).get("email") or "").strip()


def isolated(order: dict[str, Any], step: Callable[[], OrderPlan | None]) -> OrderPlan | None:
    """Run one per-order step; whatever the order's content makes it raise, the order alone is
    ``rejected`` with the cause (a :class:`RecordError` as it is, anything else named by its type)."""
    try:
        return step()
    except RecordError as exc:
        return _rejected(order, exc)
    except Exception as exc:  # noqa: BLE001 - a hostile or broken order must not stop the others
        message = f"{mapping.order_label(order)}: cannot be read ({type(exc).__name__}: {exc})"
        return OrderPlan(order, "rejected", message=message[:500])


# ------------------------------------------------------------------------------------------- triage


def triage(order: dict[str, Any], known: Known, policy: Policy) -> OrderPlan | None:
    """Decide without BC: unchanged, conflict, held or skipped; None when the order needs BC's lookups."""
    link = known.links.get(int(order["id"]))
    if link:
        return _compare_booked(order, link, policy)
    record = known.records.get(int(order["id"]))
    if record and record["status"] == "on_hold" and not policy.replay:
        return OrderPlan(order, "held", message="on hold: run `wcbc replay` once fixed")
    early = None if policy.force else before_start(order, policy.start_date)
    if early:
        return OrderPlan(order, "skipped", message=early)
    status = order.get("status")
    if status not in policy.statuses:
        reason = f"status {status!r} is not in orders.statuses ({', '.join(policy.statuses)})"
        return OrderPlan(order, "skipped", message=reason)
    return None


def _compare_booked(order: dict[str, Any], link: dict[str, Any], policy: Policy) -> OrderPlan:
    before = (link.get("data") or {}).get("summary") or {}
    document = link.get("bc_number")
    if before.get("fingerprint") == mapping.order_fingerprint(order):
        plan = OrderPlan(order, "unchanged", document=document, link=link)
        if document and not mapping.has_document_meta(order, document):
            plan.writes += _tell_the_store(order, policy)  # an earlier write-back failed
        return plan
    changes = mapping.diff_orders(before, order)
    return OrderPlan(order, "conflict", document=document, link=link, changes=changes,
                     message="changed after booking: " + "; ".join(changes)[:300])


def _tell_the_store(order: Mapping[str, Any], policy: Policy) -> list[Write]:
    """The BC number onto the order (meta), and a note when the order never carried it."""
    key = str(order["id"])
    writes = [Write(record_id(order), "write_back", "woocommerce", key, note=mapping.DOCUMENT_META_KEY)]
    if policy.add_note and not mapping.has_document_meta(order):
        writes.append(Write(record_id(order), "add_note", "woocommerce", key, note="names the BC document"))
    return writes


# ------------------------------------------------------------------------------- what to look up


def wanted_emails(orders: list[dict[str, Any]], known: Known, options: mapping.MappingOptions) -> set[str]:
    """The e-mails of buyers without a customer link: BC is asked whether it has them (not one longer than
    BC's e-mail field, Text[80]: BC would refuse the whole filter, and the customer is made without it)."""
    emails: set[str] = set()
    for order in orders:
        key = buyer_link_key(order, options)
        if key is None or key in known.customers:
            continue
        email = _email(order)
        if email and mapping._utf16_len(email) <= CUSTOMER_LENGTHS["email"]:
            emails.add(email)
    return emails


# ------------------------------------------------------------------------------------------- decide


def decide(order: dict[str, Any], known: Known, found: Found, policy: Policy,
           options: mapping.MappingOptions, skus: SkuMap,
           item_numbers: Mapping[str, str] | None = None, *, claimed: dict[str, Any] | None = None
           ) -> OrderPlan:
    """The plan of an order that passed :func:`triage`, given the page's BC lookups.

    ``item_numbers``: ``skus.numbers_by_sku()``, computed once per run by the caller. ``claimed``: the
    externalDocumentNumbers already taken in this run (key -> the order holding it, ``{"id", "number"}``);
    the order's own key is added when it is linked or booked.
    """
    plan = isolated(order, lambda: _decide(order, known, found, policy, options, skus, item_numbers,
                                           claimed if claimed is not None else {}))
    assert plan is not None
    return plan


def _decide(order: dict[str, Any], known: Known, found: Found, policy: Policy,
            options: mapping.MappingOptions, skus: SkuMap, item_numbers: Mapping[str, str] | None,
            claimed: dict[str, Any]) -> OrderPlan:
    ext = mapping.document_number(order, policy.number_prefix)  # RecordError: empty, too long
    holder = claimed.get(ext)
    if holder is not None and holder["id"] != order["id"]:
        return OrderPlan(order, "rejected", message=(
            f"order {order.get('number')}: its externalDocumentNumber {ext} is the same, for BC (which "
            f"upper-cases and trims it), as that of order {holder['number']} (id {holder['id']}) in this "
            "run: not booked, so that neither is linked to the other's document; give the orders distinct "
            "numbers (or set orders.number_prefix), then `wcbc replay`"))
    documents = found.documents_for(ext.upper())
    if documents:
        plan = _found_in_bc(order, ext, documents, known, found, policy, options)
    else:
        plan = _not_in_bc(order, ext, known, found, policy, options, skus, item_numbers)
    if plan.decision in ("linked", "book", "linked_by_meta"):
        claimed[ext] = {"id": order["id"], "number": order.get("number")}
    return plan


def _found_in_bc(order: dict[str, Any], ext: str, documents: list[dict[str, Any]], known: Known,
                 found: Found, policy: Policy, options: mapping.MappingOptions) -> OrderPlan:
    """A document carries the order's key: linked when it is proved to be the order's, else rejected."""
    rid = record_id(order)
    customer = expected_customer(order, known, found, options)
    refused: list[tuple[dict[str, Any], list[str]]] = []
    for doc in documents:
        reasons = mapping.document_mismatches(order, doc, customer=customer, tolerance=policy.total_tolerance,
                                              decimals=options.decimals)
        if reasons:
            refused.append((doc, reasons))
            continue
        plan = OrderPlan(order, "linked", document=str(doc.get("number")), found=doc)
        draft_invoice = doc["@entity"] == "salesInvoices" and doc.get("status") == "Draft"
        if policy.target == "posted_invoice" and draft_invoice:
            plan.writes.append(Write(rid, "post", "bc", ext, note=f"post draft invoice {doc.get('number')}"))
        if not mapping.has_document_meta(order, plan.document):
            plan.writes += _tell_the_store(order, policy)
        return plan
    doc, reasons = refused[0]
    return OrderPlan(order, "rejected", message=(
        f"order {order.get('number')}: BC document {mapping.describe_document(doc)} carries its "
        f"externalDocumentNumber {ext} but is not this order's ({'; '.join(reasons)}): not linked, not "
        "booked. If that document is someone else's, change its External Document No. in BC (or set a "
        "distinct orders.number_prefix); then `wcbc replay order:" f"{order['id']}`"))


def expected_customer(order: dict[str, Any], known: Known, found: Found,
                      options: mapping.MappingOptions) -> str | None:
    """The BC customer number the order is (or was) booked on, None when the buyer has none yet."""
    try:
        return plan_customer(order, known, found, options).number
    except RecordError:
        return None


def _not_in_bc(order: dict[str, Any], ext: str, known: Known, found: Found, policy: Policy,
               options: mapping.MappingOptions, skus: SkuMap,
               item_numbers: Mapping[str, str] | None) -> OrderPlan:
    rid = record_id(order)
    meta = mapping.meta_value(order, mapping.DOCUMENT_META_KEY)
    if meta:
        message = (
            f"the order names BC document {meta} ({mapping.DOCUMENT_META_KEY}) but BC shows none for "
            f"{ext}: not booked again; check orders.number_prefix or the document in BC"
        )
        return OrderPlan(order, "linked_by_meta", document=str(meta), message=message)
    check_items(order, found.items, skus)
    mapping.expected_total(order)  # RecordError now, not after the POST: the totals are checked then
    customer = plan_customer(order, known, found, options)
    body = mapping.map_document(
        order,
        options,
        customer_number=customer.number or customer.placeholder,
        sell_to_from_billing=customer.key == "",  # the shared guest customer: keep the buyer's address
        item_numbers=skus.numbers_by_sku() if item_numbers is None else item_numbers,
    )
    plan = OrderPlan(order, "book", customer=customer)
    if customer.create is not None:
        plan.writes.append(customer.create)
    plan.writes.append(Write(rid, "create_document", "bc", ext, body, note=policy.entity))
    if policy.target == "posted_invoice":
        plan.writes.append(Write(rid, "post", "bc", ext, note="Microsoft.NAV.post"))
    plan.writes += _tell_the_store(order, policy)
    return plan


def _rejected(order: dict[str, Any], exc: RecordError) -> OrderPlan:
    return OrderPlan(order, "rejected", message=f"order {order.get('number', order['id'])}: {exc}")


def plan_customer(order: dict[str, Any], known: Known, found: Found,
                  options: mapping.MappingOptions) -> CustomerPlan:
    """The buyer's BC customer (:func:`wcbc.sync.mapping.orders.buyer_key` says who the buyer is)."""
    kind, key = mapping.buyer_key(order, options)  # RecordError: a guest without e-mail
    if kind == "guest_customer":
        return CustomerPlan("", number=key)
    link_key = f"{kind}:{key}"
    email = _email(order)
    if link_key in known.customers:
        return CustomerPlan(link_key, number=known.customers[link_key], email=email)
    customer = found.customers.get(email.lower()) if email else None
    if customer is not None and len(found.same_email.get(email.lower(), ())) > 1:
        raise ambiguous(order, email, found.same_email[email.lower()])
    if customer is not None:
        return CustomerPlan(link_key, number=str(customer["number"]), found=customer, email=email)
    body = mapping.map_customer(order, options)
    create = Write(record_id(order), "create_customer", "bc", link_key, body, note=email or link_key)
    return CustomerPlan(link_key, create=create, email=email)


# Pure as well, re-exported from their modules: the SKUs of a page, and what follows a booking.
from wcbc.sync.orders.followup import booked_link_data  # noqa: E402, F401
from wcbc.sync.orders.skus import check_items, wanted_skus  # noqa: E402, F401
