"""Collection reads for the BC simulator: $filter (index-assisted), $orderby, $skip/$top, $count, $select,
$expand and server-driven paging with an opaque $skiptoken in @odata.nextLink."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from wcbc.sandbox.bc.odata import (
    BCError,
    EntityType,
    Query,
    compile_filter,
    dt_key,
    index_hints,
    no_property,
    parse_filter,
    syntax_error,
)
from wcbc.sandbox.bc.store import Table

MAX_PAGE = 20_000


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_token: str | None
    next_top: int | None
    count: int | None


def check_select(etype: EntityType, select: list[str] | None) -> None:
    for name in select or []:
        if name not in etype.by_name and name not in etype.navs:
            raise no_property(name, etype.type_name)


def _sort_value(value: Any) -> Any:
    return "" if value is None else value


def run(
    etype: EntityType,
    q: Query,
    *,
    table: Table | None = None,
    rows: Iterable[dict[str, Any]] | None = None,
    default_sort: tuple[str, ...] = (),
    page_size: int = MAX_PAGE,
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Page:
    check_select(etype, q.select)
    node = parse_filter(q.filter, etype, schema21=q.schema21) if q.filter else None
    if table is not None:
        source: Iterable[dict[str, Any]] = (
            table.candidates(index_hints(node)) if node else table.rows.values()
        )
        default_sort = default_sort or table.sort
    else:
        source = rows or []
    if view is not None:
        source = (view(r) for r in source)
    if node is not None:
        pred = compile_filter(node)
        matched = [r for r in source if pred(r)]
    else:
        matched = list(source)
    for name, _ in q.orderby:
        if name not in etype.by_name:
            raise no_property(name, etype.type_name)
    matched.sort(key=lambda r: r.get("id") or "")
    for name in reversed(default_sort):
        matched.sort(key=lambda r, n=name: _sort_value(r.get(n)))
    for name, desc in reversed(q.orderby):
        kind = etype.by_name[name].kind
        if kind == "datetime":
            matched.sort(key=lambda r, n=name: dt_key(r.get(n) or "0001-01-01T00:00:00Z"), reverse=desc)
        else:
            matched.sort(key=lambda r, n=name: _sort_value(r.get(n)), reverse=desc)
    count = len(matched) if q.count else None
    start = q.skip
    if q.skiptoken:
        start = _resume(matched, q.skiptoken)
    remaining = matched[start:]
    if q.top is not None:
        remaining = remaining[: q.top]
    size = max(1, min(page_size, MAX_PAGE))
    if len(remaining) > size:
        page = remaining[:size]
        token = _token(page[-1], start + size)
        next_top = q.top - size if q.top is not None else None
        return Page(page, token, next_top, count)
    return Page(remaining, None, None, count)


def _token(last: dict[str, Any], offset: int) -> str:
    raw = json.dumps({"k": last.get("id"), "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _resume(rows: list[dict[str, Any]], token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key, offset = data["k"], int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise syntax_error("The skip token value is not valid.") from exc
    # Key-based resume: stable when rows before the page boundary are inserted or deleted.
    if 0 < offset <= len(rows) and rows[offset - 1].get("id") == key:
        return offset
    for i, row in enumerate(rows):
        if row.get("id") == key:
            return i + 1
    return min(offset, len(rows))


def next_link(base_url: str, query: dict[str, list[str]], page: Page) -> str:
    params: list[tuple[str, str]] = []
    for key, values in query.items():
        if key in ("$skiptoken", "$skip", "$top"):
            continue
        params.extend((key, v) for v in values)
    if page.next_top is not None:
        params.append(("$top", str(page.next_top)))
    params.append(("$skiptoken", page.next_token or ""))
    text = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
    return f"{base_url}?{text}"


def page_size_from(prefer: str | None) -> tuple[int, str | None]:
    """Prefer: odata.maxpagesize=N -> (size, Preference-Applied value or None)."""
    if not prefer:
        return MAX_PAGE, None
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            try:
                size = int(value.strip())
            except ValueError as exc:
                raise BCError(400, "BadRequest", f"Invalid odata.maxpagesize value '{value}'.") from exc
            if size <= 0:
                raise BCError(400, "BadRequest", f"Invalid odata.maxpagesize value '{value}'.")
            size = min(size, MAX_PAGE)
            return size, f"odata.maxpagesize={size}"
    return MAX_PAGE, None
