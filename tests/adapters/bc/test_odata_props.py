"""Property tests: the filters wcbc builds are read back, by the BC sandbox's own (independent) OData parser,
as exactly the literals that went in -- through the client's real URL building, requests' preparation of
the URL for the wire, and the server's query-string decoding."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wcbc.adapters.bc import odata
from wcbc.adapters.bc.client import BCClient
from wcbc.sandbox.bc import schema as bc_schema
from wcbc.sandbox.bc.odata import parse_filter, parse_query

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(max_size=60)  # any Unicode text: quotes, %, +, &, #, /, spaces, newlines, NUL, emoji...


class _NoTokens:
    def token(self, *, force_refresh: bool = False) -> str:
        raise AssertionError("building a URL must not need a token")


CLIENT = BCClient(api_url="https://bc.example.test", tenant_id="t1", environment="Production",
                  company_id="c1", token_provider=_NoTokens())


def server_side_filter(flt: str, entity: str) -> str | None:
    """What the sandbox's request handler gets as $filter for the URL the client would send."""
    url = requests.Request("GET", CLIENT.url(entity, {"$filter": flt, "$select": "number"})).prepare().url
    assert url is not None
    parts = urlsplit(url)
    assert parts.path.endswith(f"/{entity}")
    query = parse_qs(parts.query, keep_blank_values=True)  # as wcbc.sandbox.core does
    return parse_query(query).filter


def literals(node: Any, fields: set[str]) -> list[str]:
    """The string literals of a parsed filter, in order; the field names go into ``fields``."""
    tag = node[0]
    if tag == "lit":
        assert node[1] in ("str", "code"), node  # a Code field keeps the literal as sent
        return [node[2]]
    if tag == "field":
        fields.add(node[1])
        return []
    if tag == "cmp":
        assert node[1] == "eq", node
        return literals(node[2], fields) + literals(node[3], fields)
    if tag == "or":
        return literals(node[1], fields) + literals(node[2], fields)
    raise AssertionError(f"unexpected node {node!r}")


@SETTINGS
@given(TEXT)
def test_eq_round_trips_through_the_sandbox_parser(value: str) -> None:
    flt = odata.eq("email", value)
    received = server_side_filter(flt, "customers")
    assert received == flt
    fields: set[str] = set()
    node = parse_filter(received, bc_schema.CUSTOMER)
    assert literals(node, fields) == [value]
    assert fields == {"email"}


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=40), st.integers(min_value=120, max_value=1500))
def test_any_of_chunks_round_trip_every_value_once(values: list[str], max_chars: int) -> None:
    chunks = odata.any_of_chunks("number", values, max_chars=max_chars)
    got: list[str] = []
    for flt in chunks:
        received = server_side_filter(flt, "items")
        assert received == flt
        fields: set[str] = set()
        got += literals(parse_filter(received, bc_schema.ITEM), fields)
        assert fields == {"number"}  # one field per filter: BC refuses "or" across fields
    assert got == list(dict.fromkeys(values))  # every value exactly once, in order, nothing else


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=60), st.integers(min_value=120, max_value=1500))
def test_in_chunks_round_trip_every_value_once(values: list[str], max_chars: int) -> None:
    chunks = odata.in_chunks("externalDocumentNumber", values, max_chars=max_chars)
    got: list[str] = []
    for flt in chunks:
        received = server_side_filter(flt, "salesOrders")
        assert received == flt
        assert len(odata.encode_component(flt)) <= max_chars or flt.count("','") == 0  # one value may exceed
        fields: set[str] = set()
        got += literals(parse_filter(received, bc_schema.SALES_ORDER, schema21=True), fields)
        assert fields == {"externalDocumentNumber"}
    assert got == list(dict.fromkeys(values))  # every value exactly once, in order, nothing else
