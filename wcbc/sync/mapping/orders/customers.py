"""Who is the BC customer of an order (:func:`buyer_key`), the body creating one (:func:`map_customer`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.orders.fields import customer_currency
from wcbc.sync.mapping.orders.options import MappingOptions, _template_value
from wcbc.sync.mapping.orders.text import CUSTOMER_LENGTHS, _text, _utf16_len, clip, order_label


def _person(block: Mapping[str, Any]) -> str:
    return _text(f"{_text(block.get('first_name'))} {_text(block.get('last_name'))}")


def _email(block: Mapping[str, Any]) -> str:
    email = _text(block.get("email"))
    return email if _utf16_len(email) <= CUSTOMER_LENGTHS["email"] else ""


def _has_address(block: Mapping[str, Any] | None) -> bool:
    if not block:
        return False
    return any(_text(block.get(k)) for k in ("first_name", "last_name", "company", "address_1", "address_2",
                                             "city", "postcode"))


def buyer_key(order: Mapping[str, Any], options: MappingOptions | None = None) -> tuple[str, str]:
    """Who the BC customer is, as ``(kind, key)``:

    * ``("customer", "2")``: a registered buyer (WooCommerce ``customer_id``);
    * ``("guest_customer", "<BC number>")``: a guest, when ``options.guest_customer`` is set (every guest
      order goes to that existing BC customer; nothing is created);
    * ``("guest", "jane@example.test")``: a guest, matched by the lower-cased billing e-mail.

    A guest with no e-mail and no ``guest_customer`` -> :class:`RecordError`.
    """
    try:
        customer_id = int(order.get("customer_id") or 0)
    except (TypeError, ValueError):
        customer_id = 0
    if customer_id > 0:
        return ("customer", str(customer_id))
    if options is not None and options.guest_customer:
        return ("guest_customer", options.guest_customer)
    email = _text((order.get("billing") or {}).get("email")).lower()
    if email:
        return ("guest", email)
    raise RecordError(
        f"{order_label(order)} is a guest order without an e-mail address and orders.guest_customer "
        "is not set",
        hint="set orders.guest_customer to the number of a BC customer for such orders",
    )


def map_customer(order: Mapping[str, Any], options: MappingOptions) -> dict[str, Any]:
    """The BC ``POST customers`` body built from the order's billing address.

    Shape: ``{"displayName", "type" ("Company" when billing has a company, else "Person"), "email" (left out
    when longer than 80), "phoneNumber", "addressLine1", "addressLine2", "city", "state", "country",
    "postalCode", "currencyCode"? (see :func:`currency_code`), ...customer_template}``. Text is cut to BC's
    lengths (displayName 100, addressLine1 100, addressLine2 50, city 30, state 30, country 10, postalCode 20,
    phoneNumber 30) by :func:`clip`. Template values (only writable v2.0 customer fields) win over the
    values derived from the order.
    """
    billing = order.get("billing") or {}
    company = _text(billing.get("company"))
    display = company or _person(billing) or _text(billing.get("email"))
    if not display:
        raise RecordError(f"{order_label(order)}: the buyer has no company, name or e-mail for the BC "
                          "customer's displayName")
    body: dict[str, Any] = {
        "displayName": clip(display, CUSTOMER_LENGTHS["displayName"]),
        "type": "Company" if company else "Person",
    }
    email = _email(billing)
    if email:
        body["email"] = email
    body.update({
        "phoneNumber": clip(billing.get("phone"), CUSTOMER_LENGTHS["phoneNumber"]),
        "addressLine1": clip(billing.get("address_1"), CUSTOMER_LENGTHS["addressLine1"]),
        "addressLine2": clip(billing.get("address_2"), CUSTOMER_LENGTHS["addressLine2"]),
        "city": clip(billing.get("city"), CUSTOMER_LENGTHS["city"]),
        "state": clip(billing.get("state"), CUSTOMER_LENGTHS["state"]),
        "country": clip(billing.get("country"), CUSTOMER_LENGTHS["country"]),
        "postalCode": clip(billing.get("postcode"), CUSTOMER_LENGTHS["postalCode"]),
    })
    currency = customer_currency(options)
    if currency is not None:
        body["currencyCode"] = currency
    vat = _vat_number(order, options)
    if vat:
        body["taxRegistrationNumber"] = vat
    country = _text(billing.get("country")).upper()
    template = {**options.customer_template, **options.customer_templates.get(country, {})}
    for key, value in template.items():
        body[key] = _template_value(key, value)
    return body


TAX_REGISTRATION_MAX = 20  # BC's Customer."VAT Registration No." is Text[20]


def _vat_number(order: Mapping[str, Any], options: MappingOptions) -> str:
    """The buyer's VAT number from the order meta ``orders.vat_number_meta`` (blanks removed), or ""."""
    if not options.vat_number_meta:
        return ""
    from wcbc.sync.mapping.orders.meta import meta_value  # meta imports this module

    raw = meta_value(order, options.vat_number_meta)
    text = "".join(_text(raw).split()) if isinstance(raw, str) else ""
    if _utf16_len(text) > TAX_REGISTRATION_MAX:
        raise RecordError(f"{order_label(order)}: VAT number {text!r} (meta {options.vat_number_meta}) is "
                          f"longer than BC's {TAX_REGISTRATION_MAX} characters",
                          hint="correct the VAT number on the order, then wcbc replay it")
    return text

