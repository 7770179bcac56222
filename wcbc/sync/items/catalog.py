"""The WooCommerce side of item sync: which product or variation sells a BC item.

Matching rule: a product's (or a variation's own) SKU equals the BC item number, compared
case-insensitively, unless ``[items] mapping_file`` (CSV ``bc_item_number,woo_sku``) names another SKU.

Three ways to find the WooCommerce side of an item, cheapest first:

1. the links table (kind ``"product"``: ``woo_id`` = product or variation id, ``bc_id`` = item id,
   ``bc_number`` = item number, ``data`` = parent id, type and the values last seen in WooCommerce), so a
   price change costs one write and no search;
2. ``GET /products?sku=a,b,c`` for the items not linked yet (variations are found too);
3. a full listing (products 100 a page, plus the variations of each variable product) for reconcile. The
   variations of a page's variable products are read ``[woocommerce] concurrency`` at a time while the next
   page of products is read; products still come out in the listing's order, each followed by its variations.

:class:`WooProduct` keeps only the fields item sync reads (ids, SKU, type, price, stock): reconcile of a
large catalogue holds one of these per product at most, never the full REST representation.
"""

from __future__ import annotations

import csv
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from wcbc.core.errors import ConfigError

LINK_KIND = "product"
PAGE = 100
# Pages of products read ahead of the one being compared (bounds memory: about 100 products a page).
PAGES_AHEAD = 2
_END = object()


def sku_key(value: Any) -> str:
    """The comparison key of a SKU or an item number: trimmed, upper-cased."""
    return str(value or "").strip().upper()


@dataclass(slots=True)
class WooProduct:
    """A product or variation, reduced to what item sync compares and writes."""

    id: int
    sku: str
    type: str  # simple | variable | variation | grouped | external | ...
    parent_id: int = 0  # the variable product of a variation, else 0
    regular_price: str | None = None
    manage_stock: bool | str | None = None
    stock_quantity: int | float | None = None
    name: str = ""
    stock_status: str | None = None  # instock | outofstock | onbackorder; None: not known
    backorders: str | None = None  # no | notify | yes; None: not known
    # What a block changed (``stock_status``, ``backorders``) and an unblock puts back: kept in the link only.
    restore: dict[str, str] | None = None

    @property
    def is_variation(self) -> bool:
        return self.type == "variation" or (self.parent_id > 0 and self.type not in ("simple", "variable"))

    @property
    def key(self) -> str:
        return sku_key(self.sku)

    @classmethod
    def from_api(cls, data: dict[str, Any], *, parent_id: int | None = None) -> WooProduct:
        """From a ``/products`` or ``/products/{p}/variations`` representation.

        The variations endpoint has no ``type`` and names the variation by its attribute (``"M"``): pass
        ``parent_id`` for those.
        """
        parent = int(parent_id if parent_id is not None else data.get("parent_id") or 0)
        kind = str(data.get("type") or ("variation" if parent_id is not None else "simple"))
        if parent_id is not None:
            kind = "variation"
        quantity = data.get("stock_quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            quantity = None
        return cls(
            id=int(data["id"]),
            sku=str(data.get("sku") or ""),
            type=kind,
            parent_id=parent,
            regular_price=None if data.get("regular_price") is None else str(data.get("regular_price")),
            manage_stock=data.get("manage_stock"),
            stock_quantity=quantity,
            name=str(data.get("name") or ""),
            stock_status=_text_or_none(data.get("stock_status")),
            backorders=_text_or_none(data.get("backorders")),
        )

    def as_product(self) -> dict[str, Any]:
        """The shape :func:`wcbc.sync.items.stock.product_changes` reads."""
        return {
            "id": self.id,
            "type": self.type,
            "regular_price": self.regular_price,
            "manage_stock": self.manage_stock,
            "stock_quantity": self.stock_quantity,
            "stock_status": self.stock_status,
            "backorders": self.backorders,
        }

    def applied(self, changes: dict[str, Any]) -> WooProduct:
        """A copy with ``changes`` (an update sent and accepted) applied."""
        return WooProduct(
            id=self.id,
            sku=self.sku,
            type=self.type,
            parent_id=self.parent_id,
            regular_price=str(changes["regular_price"]) if "regular_price" in changes else self.regular_price,
            manage_stock=changes.get("manage_stock", self.manage_stock),
            stock_quantity=changes.get("stock_quantity", self.stock_quantity),
            name=self.name,
            stock_status=changes.get("stock_status", self.stock_status),
            backorders=changes.get("backorders", self.backorders),
            restore=self.restore,
        )

    def link_data(self) -> dict[str, Any]:
        """What the link remembers: where to write, and the values WooCommerce had after our last look."""
        data = {
            "parent_id": self.parent_id,
            "type": self.type,
            "sku": self.sku,
            "regular_price": self.regular_price,
            "manage_stock": self.manage_stock,
            "stock_quantity": self.stock_quantity,
        }
        for name in ("stock_status", "backorders", "restore"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_link(cls, link: dict[str, Any]) -> WooProduct | None:
        """The product a link remembers, or None when the link lacks the values to compare against."""
        data = link.get("data") or {}
        if not str(link.get("woo_id") or "").isdigit() or "type" not in data or "regular_price" not in data:
            return None
        quantity = data.get("stock_quantity")
        return cls(
            id=int(link["woo_id"]),
            sku=str(data.get("sku") or link.get("bc_number") or ""),
            type=str(data.get("type") or "simple"),
            parent_id=int(data.get("parent_id") or 0),
            regular_price=data.get("regular_price"),
            manage_stock=data.get("manage_stock"),
            stock_quantity=quantity if isinstance(quantity, int | float) else None,
            stock_status=_text_or_none(data.get("stock_status")),
            backorders=_text_or_none(data.get("backorders")),
            restore=_restore(data.get("restore")),
        )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _restore(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    kept = {k: v for k, v in value.items() if k in ("stock_status", "backorders") and isinstance(v, str)}
    return kept or None


class SkuMap:
    """BC item number <-> WooCommerce SKU: equal text (any case) unless the mapping file says otherwise."""

    def __init__(self, pairs: dict[str, str] | None = None) -> None:
        self._to_sku: dict[str, str] = {}
        self._to_number: dict[str, str] = {}
        for number, sku in (pairs or {}).items():
            self._to_sku[sku_key(number)] = sku.strip()
            self._to_number[sku_key(sku)] = number.strip()

    def __len__(self) -> int:
        return len(self._to_sku)

    @classmethod
    def load(cls, path: Path | None) -> SkuMap:
        """Read ``bc_item_number,woo_sku`` rows (a header row with those names is optional).

        Raises :class:`ConfigError` naming the file, line and key ``items.mapping_file`` for anything else.
        """
        if path is None:
            return cls()
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(f"cannot read the item mapping file: {exc.strerror or exc}", file=str(path),
                              key="items.mapping_file") from None
        pairs: dict[str, str] = {}
        skus: dict[str, str] = {}
        for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if line_no == 1 and [c.strip().lower() for c in row[:2]] == ["bc_item_number", "woo_sku"]:
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ConfigError(
                    f"line {line_no}: expected 'bc_item_number,woo_sku', got {','.join(row)!r}",
                    file=str(path), key="items.mapping_file",
                )
            number, sku = row[0].strip(), row[1].strip()
            if sku_key(number) in {sku_key(n) for n in pairs}:
                raise ConfigError(f"line {line_no}: item {number} is mapped twice", file=str(path),
                                  key="items.mapping_file")
            if sku_key(sku) in skus:
                raise ConfigError(
                    f"line {line_no}: SKU {sku} is already mapped to item {skus[sku_key(sku)]}",
                    file=str(path), key="items.mapping_file",
                )
            pairs[number] = sku
            skus[sku_key(sku)] = number
        return cls(pairs)

    def sku_for(self, number: str) -> str:
        return self._to_sku.get(sku_key(number), str(number).strip())

    def numbers_by_sku(self) -> dict[str, str]:
        """The mapped pairs only, as upper-cased SKU -> BC item number (what the order mapping takes)."""
        return dict(self._to_number)

    def number_for(self, sku: str) -> str:
        """The BC item number (as its key: upper-cased) a WooCommerce SKU stands for."""
        return sku_key(self._to_number.get(sku_key(sku), sku))


class Catalog:
    """Finds the WooCommerce products of BC items (reads only: links are written by the apply step).

    ``concurrency``: WooCommerce calls at a time from one listing (``[woocommerce] concurrency``): a
    WordPress site serves each request in a PHP worker of its own; 1 reads one call after another.
    """

    def __init__(self, woo: Any, state: Any, skus: SkuMap | None = None, *, concurrency: int) -> None:
        self.woo = woo
        self.state = state
        self.skus = skus or SkuMap()
        self.concurrency = max(1, int(concurrency))

    # ------------------------------------------------------------------ links
    def linked(self, item_id: str | None) -> WooProduct | None:
        """The product linked to a BC item id, if the link holds enough to compare against."""
        if not item_id:
            return None
        link = self.state.link_by_bc(LINK_KIND, str(item_id))
        return WooProduct.from_link(link) if link else None

    # ------------------------------------------------------------------ search
    def search(self, numbers: Iterable[str]) -> dict[str, list[WooProduct]]:
        """``?sku=`` lookups for BC item numbers: item number key -> products/variations with its SKU.

        Numbers without any product are absent from the result. A variable parent whose SKU matches is
        returned too (the caller decides what it may write to it).
        """
        wanted = {sku_key(self.skus.sku_for(n)): sku_key(n) for n in numbers}
        if not wanted:
            return {}
        found: dict[str, list[WooProduct]] = {}
        skus = [self.skus.sku_for(n) for n in wanted.values()]
        for data in self.woo.find_products_by_sku(skus):
            product = WooProduct.from_api(data)
            number = wanted.get(product.key)
            if number is None:
                continue  # ?sku= also tries the whole list as one SKU; ignore anything not asked for
            found.setdefault(number, []).append(product)
        for products in found.values():
            products.sort(key=lambda p: p.id)
        return found

    # ------------------------------------------------------------------ full listing
    def iter_all(self) -> Iterator[WooProduct]:
        """Every product (100 a page) and, after each variable product, its variations.

        One listing call per 100 products plus one per variable product (more only for products with
        over 100 variations). With ``concurrency`` > 1 a reader thread reads the pages of products one after
        another (at most ``PAGES_AHEAD`` pages ahead of the caller) and a pool reads the variations of each
        page's variable products; at most ``concurrency`` of these calls are in flight at once. Products
        come out in the same order either way, and an error comes out where it would have been met reading
        one call after another. Close the iterator (or exhaust it) to stop the reads.
        """
        if self.concurrency <= 1:
            yield from self._iter_sequential()
        else:
            yield from self._iter_concurrent()

    def _has_variations(self, product: WooProduct, data: dict[str, Any]) -> bool:
        return product.type == "variable" and data.get("variations") != []

    def _iter_sequential(self) -> Iterator[WooProduct]:
        for data in self.woo.iter_products(per_page=PAGE):
            product = WooProduct.from_api(data)
            yield product
            if self._has_variations(product, data):
                for variation in self.woo.iter_variations(product.id, per_page=PAGE):
                    yield WooProduct.from_api(variation, parent_id=product.id)

    def _iter_concurrent(self) -> Iterator[WooProduct]:
        slots = threading.BoundedSemaphore(self.concurrency)  # WooCommerce calls in flight
        stop = threading.Event()
        pages: queue.Queue[Any] = queue.Queue(maxsize=PAGES_AHEAD)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="wcbc-variations")

        def variations(product_id: int) -> list[dict]:
            with slots:
                if stop.is_set():
                    return []
                return list(self.woo.iter_variations(product_id, per_page=PAGE))

        def put(entry: Any) -> None:
            while not stop.is_set():
                try:
                    pages.put(entry, timeout=0.05)
                    return
                except queue.Full:
                    continue

        def read_pages() -> None:
            try:
                listing = iter(self.woo.iter_products(per_page=PAGE))
                while not stop.is_set():
                    with slots:
                        if stop.is_set():
                            break
                        page = list(islice(listing, PAGE))
                    if not page:
                        break
                    entries: list[tuple[WooProduct, Future[list[dict]] | None]] = []
                    try:
                        for data in page:
                            product = WooProduct.from_api(data)
                            wanted = self._has_variations(product, data)
                            entries.append((product, pool.submit(variations, product.id) if wanted else None))
                    finally:
                        put(entries)  # the products before a bad one still come out, then the error
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
                put(exc)

        reader = threading.Thread(target=read_pages, name="wcbc-products", daemon=True)
        reader.start()
        try:
            while True:
                entry = pages.get()
                if entry is _END:
                    return
                if isinstance(entry, BaseException):
                    raise entry
                for product, future in entry:
                    yield product
                    if future is not None:
                        for variation in future.result():
                            yield WooProduct.from_api(variation, parent_id=product.id)
        finally:
            stop.set()
            reader.join()
            pool.shutdown(wait=True, cancel_futures=True)
