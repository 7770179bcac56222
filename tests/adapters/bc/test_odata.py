"""wcbc.adapters.bc.odata: literals, filters, chunking and query encoding."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest
import requests_mock as rm
from hypothesis import given, settings
from hypothesis import strategies as st

from wcbc.adapters.bc import odata


def test_quote_doubles_single_quotes() -> None:
    assert odata.quote("O'Brien") == "'O''Brien'"
    assert odata.quote("''") == "''''''"
    assert odata.quote("plain") == "'plain'"


def test_eq_strings_numbers_bools_guids() -> None:
    assert odata.eq("number", "1896-S") == "number eq '1896-S'"
    assert odata.eq("displayName", "O'Brien") == "displayName eq 'O''Brien'"
    assert odata.eq("entryNumber", 42) == "entryNumber eq 42"
    assert odata.eq("blocked", False) == "blocked eq false"
    guid = "960f5c9c-44e3-ea11-bb43-000d3a2feca1"
    assert odata.eq_guid("documentId", guid) == f"documentId eq {guid}"
    assert odata.eq("documentId", uuid.UUID(guid)) == f"documentId eq {guid}"


def test_field_names_are_validated() -> None:
    with pytest.raises(ValueError):
        odata.eq("number eq 'x' or 1", "y")
    with pytest.raises(ValueError):
        odata.eq_guid("documentId", "not-a-guid")


def test_any_of_one_field() -> None:
    assert odata.any_of("number", ["A"]) == "number eq 'A'"
    assert odata.any_of("number", ["A", "B'C", "A"]) == "(number eq 'A' or number eq 'B''C')"
    with pytest.raises(ValueError):
        odata.any_of("number", [])


def test_any_of_chunks_keep_encoded_filter_short() -> None:
    values = [f"ITEM-{n:05d}/é x" for n in range(400)]
    chunks = odata.any_of_chunks("number", values, max_chars=1500)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(odata.encode_query({"$filter": chunk})) <= 1500 + len("%24filter=")
    # every value is asked exactly once, in order
    recovered = [
        term.split(" eq ", 1)[1].strip("()'") for chunk in chunks for term in chunk.strip("()").split(" or ")
    ]
    assert recovered == values
    assert odata.any_of_chunks("number", []) == []
    assert odata.any_of_chunks("number", ["A"]) == ["number eq 'A'"]


@pytest.mark.parametrize(
    ("value", "encoded_literal"),
    [
        ("O'Brien", "'O''Brien'"),
        ("a+b@example.com", "'a%2Bb%40example.com'"),
        ("a/b c", "'a%2Fb%20c'"),
        ("R&D #1", "'R%26D%20%231'"),
        ("50% off?", "'50%25%20off%3F'"),
    ],
)
def test_encode_query_escapes_literals(value: str, encoded_literal: str) -> None:
    query = odata.encode_query({"$filter": odata.eq("email", value)})
    assert query == f"$filter=email%20eq%20{encoded_literal}"
    assert "+" not in query
    assert unquote(query.split("=", 1)[1]) == odata.eq("email", value)


def test_encoded_query_survives_requests(requests_mock: rm.Mocker) -> None:
    import requests

    requests_mock.get(rm.ANY, json={})
    url = "https://bc.example.test/customers?" + odata.encode_query(
        {"$filter": odata.eq("email", "a+b@example.com"), "$top": 5, "skip": None}
    )
    requests.get(url, timeout=5)
    sent = requests_mock.last_request.url
    assert "a%2Bb%40example.com" in sent
    assert "%24filter" not in sent and "$top=5" in sent and "skip" not in sent


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_any_text_round_trips_through_the_query(value: str) -> None:
    expr = odata.eq("displayName", value)
    query = odata.encode_query({"$filter": expr})
    encoded = query.split("=", 1)[1]
    assert not set(encoded) & set(" +&#/?=\n")
    assert unquote(encoded) == expr
    # the literal is closed by its last quote: every inner quote is doubled
    inner = expr.split(" eq ", 1)[1][1:-1]
    assert inner.replace("''", "").count("'") == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=120), st.integers(200, 2000))
def test_any_of_chunks_cover_every_value_within_budget(values: list[str], budget: int) -> None:
    chunks = odata.any_of_chunks("number", values, max_chars=budget)
    terms = [odata.eq("number", v) for v in dict.fromkeys(values)]
    joined = " ".join(chunks)
    for term in terms:
        assert term in joined
    for chunk in chunks:
        single = " or " not in chunk
        assert single or len(odata.encode_component(chunk)) <= budget
