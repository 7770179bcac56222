"""Signature check, ping recognition and parsing against the real recorded WooCommerce deliveries."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from wcbc.core.errors import SignatureError
from wcbc.webhooks.woo import (
    compute_signature,
    headers_to_store,
    is_ping,
    parse_delivery,
    verify_and_parse,
    verify_signature,
)

RECORDED = Path(__file__).parents[1] / "fixtures" / "contracts" / "woocommerce" / "real-store" / "webhooks"
INDEX = json.loads((RECORDED / "index.json").read_text())
SECRETS: dict[str, str] = INDEX["webhook_secrets"]
ENTRIES = INDEX["deliveries"]
SIGNED = [e for e in ENTRIES if e["kind"] == "delivery"]
PINGS = [e for e in ENTRIES if e["kind"] == "ping"]


def _load(entry: dict) -> tuple[list[tuple[str, str]], bytes]:
    meta = json.loads((RECORDED / entry["files"][0]).read_text())
    body = (RECORDED / entry["files"][1]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == meta["body_sha256"]
    assert base64.b64decode(meta["body_base64"]) == body
    return [(name, value) for name, value in meta["headers"]], body


def _sig(headers: list[tuple[str, str]]) -> str | None:
    return next((v for n, v in headers if n.lower() == "x-wc-webhook-signature"), None)


def test_recordings_are_all_there() -> None:
    assert len(SIGNED) == 18
    assert len(PINGS) == 10


@pytest.mark.parametrize("entry", SIGNED, ids=lambda e: f"{e['seq']:04d}")
def test_every_signed_delivery_verifies(entry: dict) -> None:
    headers, body = _load(entry)
    secret = SECRETS[str(entry["webhook_id"])]
    verify_signature(body, _sig(headers), secret)
    assert compute_signature(body, secret) == entry["signature_header"]
    delivery = verify_and_parse(headers, body, secret)
    assert delivery.topic == entry["topic"]
    assert delivery.webhook_id == entry["webhook_id"]
    assert delivery.delivery_id == entry["delivery_id"]
    assert delivery.source == "https://127.0.0.1:8443/"
    assert delivery.resource_id == str(json.loads(body)["id"])
    assert delivery.parse_error is None and delivery.error_code is None
    assert is_ping(headers, body) is None


@pytest.mark.parametrize("entry", SIGNED, ids=lambda e: f"{e['seq']:04d}")
def test_signed_delivery_with_other_webhooks_secret_fails(entry: dict) -> None:
    headers, body = _load(entry)
    wrong = [s for k, s in SECRETS.items() if k != str(entry["webhook_id"])]
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(body, _sig(headers), wrong)


def test_several_secrets_accepted_during_rotation() -> None:
    headers, body = _load(SIGNED[0])
    verify_signature(body, _sig(headers), ["new-secret", SECRETS["1"]])


@pytest.mark.parametrize("entry", PINGS, ids=lambda e: f"{e['seq']:04d}")
def test_every_ping_is_recognised(entry: dict) -> None:
    headers, body = _load(entry)
    assert is_ping(headers, body) == entry["webhook_id"]
    assert _sig(headers) is None


def test_ping_with_wc_headers_is_not_a_ping() -> None:
    assert is_ping({"X-WC-Webhook-Topic": "order.created"}, b"webhook_id=1") is None
    assert is_ping({}, b"webhook_id=abc") is None
    assert is_ping({}, b"webhook_id=1&x=2") is None
    assert is_ping({}, b"") is None


def _order_delivery() -> tuple[list[tuple[str, str]], bytes, str]:
    headers, body = _load(SIGNED[0])
    return headers, body, SECRETS["1"]


@pytest.mark.parametrize("position", [0, 1, 100, 1000, -1])
def test_one_flipped_byte_fails(position: int) -> None:
    headers, body, secret = _order_delivery()
    mutated = bytearray(body)
    mutated[position] ^= 0x01
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(bytes(mutated), _sig(headers), secret)


def test_truncated_body_fails() -> None:
    headers, body, secret = _order_delivery()
    for cut in (1, len(body) // 2, len(body) - 1):
        with pytest.raises(SignatureError):
            verify_signature(body[:cut], _sig(headers), secret)


def test_reserialised_body_fails() -> None:
    """The body escapes '/' as '\\/': re-serialising before the check must not pass."""
    headers, body, secret = _order_delivery()
    assert b"\\/" in body
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(SignatureError):
        verify_signature(reserialised, _sig(headers), secret)


def test_hex_signature_fails() -> None:
    headers, body, secret = _order_delivery()
    import hmac as _hmac

    hex_sig = _hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError, match="malformed"):
        verify_signature(body, hex_sig, secret)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature_fails(header: str | None) -> None:
    _, body, secret = _order_delivery()
    with pytest.raises(SignatureError, match="missing"):
        verify_signature(body, header, secret)


def test_malformed_signatures_fail() -> None:
    headers, body, secret = _order_delivery()
    good = _sig(headers)
    assert good is not None
    for bad in (good.rstrip("="), good[:-2] + "!=", good.replace("+", "-").replace("/", "_") + "x",
                "é" * 44, base64.b64encode(b"x" * 31).decode() + "AAAA"):
        with pytest.raises(SignatureError):
            verify_signature(body, bad, secret)


def test_signature_messages_hold_no_secret() -> None:
    headers, body, secret = _order_delivery()
    with pytest.raises(SignatureError) as info:
        verify_signature(body + b" ", _sig(headers), secret)
    assert secret not in str(info.value) and (_sig(headers) or "") not in str(info.value)


def test_empty_secret_never_verifies() -> None:
    body = b'{"id":1}'
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify_signature(body, compute_signature(body, ""), "")


def test_html_escaped_secret_is_tried_decoded() -> None:
    body = b'{"id":5}'
    signed_with = "a&b<c"
    verify_signature(body, compute_signature(body, signed_with), "a&amp;b&lt;c")


def test_error_body_is_a_delivery_without_resource_id() -> None:
    body = b'{"code":"woocommerce_rest_cannot_view","message":"Sorry","data":{"status":401}}'
    d = parse_delivery({"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-ID": "7"}, body)
    assert (d.topic, d.resource, d.event, d.resource_id) == ("order.updated", "order", "updated", None)
    assert d.error_code == "woocommerce_rest_cannot_view"
    assert d.webhook_id == 7 and d.parse_error is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe\x00garbage", b"[" * 100_000 + b"]" * 100_000, b"[1,2]", b'"x"', b""],
)
def test_unreadable_bodies_never_raise(body: bytes) -> None:
    d = parse_delivery({"X-WC-Webhook-Topic": "order.updated"}, body)
    assert d.resource_id is None and d.parse_error


def test_deleted_topic_body_and_odd_ids() -> None:
    assert parse_delivery({"x-wc-webhook-topic": "order.deleted"}, b'{"id":42}').resource_id == "42"
    assert parse_delivery({}, b'{"id":"17"}').resource_id == "17"
    assert parse_delivery({}, b'{"id":true}').resource_id is None
    assert parse_delivery({}, b'{"id":-3}').resource_id is None
    assert parse_delivery({}, b'{"action":"woocommerce_x","arg":3}').resource_id is None


def test_garbled_topic_header_falls_back() -> None:
    d = parse_delivery({"X-WC-Webhook-Topic": "order created\x00",
                        "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "created"}, b"{}")
    assert d.topic == "order.created"
    assert parse_delivery({"X-WC-Webhook-Topic": "x" * 1000}, b"{}").topic == "unknown"
    assert parse_delivery({}, b"{}").topic == "unknown"


def test_headers_to_store_drop_the_signature() -> None:
    headers, _, _ = _order_delivery()
    kept = headers_to_store(headers + [("Authorization", "Basic abc"), ("Cookie", "a=b")])
    assert "x-wc-webhook-signature" not in kept
    assert "authorization" not in kept and "cookie" not in kept
    assert kept["x-wc-webhook-topic"] == "order.created"


def test_unicode_digits_are_not_ids() -> None:
    assert parse_delivery({"X-WC-Webhook-ID": "\u00b2"}, b'{"id":"\\u00b2"}').resource_id is None
    assert parse_delivery({"X-WC-Webhook-ID": "\u00b2"}, b"{}").webhook_id is None
