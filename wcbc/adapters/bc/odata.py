"""OData filter building and query encoding for Business Central.

* String literals go in single quotes, a quote inside is doubled: ``O'Brien`` -> ``'O''Brien'``.
* Numbers, booleans and GUIDs are bare.
* BC refuses ``or`` across two different fields, so :func:`any_of` takes one field only.
* The query string is percent-encoded by :func:`encode_query` (``%20`` for a space, never ``+``; a ``+``
  in an e-mail becomes ``%2B``; ``&``, ``#``, ``/`` are encoded too), so the value arrives intact.
* :func:`any_of_chunks` splits long lists so that each request URL stays under about 2,000 characters.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from urllib.parse import quote as _pct

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
# Characters left as they are in a query component: unreserved plus a few OData punctuation marks that are
# legal in a query and keep URLs readable. Everything else (space, + & # / = ? % ...) is percent-encoded.
_SAFE = "$'(),:-._~"
# Budget for the encoded $filter value of one request (base URL and other parameters need the rest).
DEFAULT_MAX_FILTER_CHARS = 1500


def _field(name: str) -> str:
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ValueError(f"not an OData field name: {name!r}")
    return name


def quote(value: str) -> str:
    """An OData string literal: ``'`` + value with quotes doubled + ``'``."""
    return "'" + str(value).replace("'", "''") + "'"


def literal(value: str | int | Decimal | bool | uuid.UUID) -> str:
    """Any Python value as an OData literal (strings quoted, numbers/bools/UUIDs bare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot use {type(value).__name__} in an OData filter")


def eq(field: str, value: str | int | Decimal | bool | uuid.UUID) -> str:
    """``field eq 'value'`` (strings quoted and escaped, numbers bare)."""
    return f"{_field(field)} eq {literal(value)}"


def guid(value: str | uuid.UUID) -> str:
    """A bare GUID literal, validated (for filters like ``documentId eq <guid>``)."""
    return str(uuid.UUID(str(value)))


def eq_guid(field: str, value: str | uuid.UUID) -> str:
    """``field eq <guid>`` with a bare GUID."""
    return f"{_field(field)} eq {guid(value)}"


def any_of(field: str, values: Iterable[str | int]) -> str:
    """``(f eq 'a' or f eq 'b')``: one field only (BC refuses ``or`` across fields).

    A single value gives ``f eq 'a'``; duplicates are dropped. Use :func:`any_of_chunks` for long lists.
    """
    terms = _terms(field, values)
    if not terms:
        raise ValueError("any_of needs at least one value")
    if len(terms) == 1:
        return terms[0]
    return "(" + " or ".join(terms) + ")"


def any_of_chunks(field: str, values: Iterable[str | int], *,
                  max_chars: int = DEFAULT_MAX_FILTER_CHARS) -> list[str]:
    """:func:`any_of` split into several filters whose *encoded* length stays within ``max_chars``.

    Send one request per returned filter. An empty list of values gives an empty list.
    """
    terms = _terms(field, values)
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 2  # the parentheses
    joiner = len(encode_component(" or "))
    for term in terms:
        cost = len(encode_component(term))
        if current and size + joiner + cost > max_chars:
            chunks.append(current)
            current, size = [], 2
        size += cost + (joiner if current else 0)
        current.append(term)
    if current:
        chunks.append(current)
    return [c[0] if len(c) == 1 else "(" + " or ".join(c) + ")" for c in chunks]


SCHEMA_2_1 = {"$schemaversion": "2.1"}  # the query parameter BC needs for ``in (...)``


def in_chunks(field: str, values: Iterable[str | int], *,
              max_chars: int = DEFAULT_MAX_FILTER_CHARS) -> list[str]:
    """``f in ('a','b',...)`` filters whose encoded length stays within ``max_chars``.

    About four times as many values fit in one request as with :func:`any_of_chunks`. BC accepts ``in``
    only with ``$schemaversion=2.1``: send :data:`SCHEMA_2_1` with every such query. Duplicates are
    dropped; an empty list of values gives an empty list.
    """
    literals: list[str] = []
    seen: set[str] = set()
    for value in values:
        lit = literal(value)
        if lit not in seen:
            seen.add(lit)
            literals.append(lit)
    head = f"{_field(field)} in ("
    base = len(encode_component(head + ")"))
    comma = len(encode_component(","))
    chunks: list[list[str]] = []
    current: list[str] = []
    size = base
    for lit in literals:
        cost = len(encode_component(lit))
        if current and size + comma + cost > max_chars:
            chunks.append(current)
            current, size = [], base
        size += cost + (comma if current else 0)
        current.append(lit)
    if current:
        chunks.append(current)
    return [head + ",".join(chunk) + ")" for chunk in chunks]


def _terms(field: str, values: Iterable[str | int]) -> list[str]:
    seen: set[str] = set()
    terms: list[str] = []
    for value in values:
        term = eq(field, value)
        if term not in seen:
            seen.add(term)
            terms.append(term)
    return terms


def encode_component(value: str) -> str:
    """Percent-encode one query key or value (space -> %20, + -> %2B, & -> %26, # -> %23, / -> %2F)."""
    return _pct(str(value), safe=_SAFE)


def encode_query(params: Mapping[str, str | int | bool | None]) -> str:
    """``$filter=...&$top=...`` with every key and value percent-encoded; None values are left out."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{encode_component(key)}={encode_component(str(value))}")
    return "&".join(parts)
