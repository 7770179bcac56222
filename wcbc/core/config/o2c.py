"""`[fulfilment]` and `[payments]`: the settings of `wcbc sync-fulfilment` (README "Fulfilment and payments").

Their dataclasses, and their keys for :data:`wcbc.core.config.schema.SCHEMA` (added there by
:func:`sections`, imported late so that this module needs neither the schema nor the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FulfilmentConfig:
    status: str = "completed"
    partial_status: str | None = None
    customer_note: bool = True
    tracking_url: str | None = None
    tracking_key_field: str = "number"
    tracking_number_field: str = "packageTrackingNumber"
    tracking_agent_field: str = "shippingAgentCode"
    tracking_extension: bool = False
    start_date: str | None = None
    overlap_seconds: int = 300
    max_attempts: int = 3


@dataclass(frozen=True)
class PaymentsConfig:  # off while `journals` is empty
    journals: dict[str, str] = field(default_factory=dict)
    document_prefix: str = "WCP-"
    max_attempts: int = 3


def sections() -> dict[str, tuple[str, tuple[Any, ...]]]:
    from wcbc.core.config.checks import check_nonempty, check_start_date
    from wcbc.core.config.schema import Key

    return {
        "fulfilment": (
            "`wcbc sync-fulfilment`: BC shipments complete the WooCommerce orders.",
            (
                Key("status", "str", "completed", "Order status once its BC order is fully shipped",
                    check=check_nonempty),
                Key("partial_status", "str", None, "Order status after a partial shipment (unset: note only)",
                    example="partially-shipped"),
                Key("customer_note", "bool", True, "Tell the buyer what shipped (a note to the customer)"),
                Key("tracking_url", "str", None,
                    "Custom tracking endpoint published in BC, after /v2.0/{tenant}/{environment}/",
                    example="api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"),
                Key("tracking_key_field", "str", "number", "Its field holding the shipment number (No)"),
                Key("tracking_number_field", "str", "packageTrackingNumber",
                    "Its field holding the package tracking number (Package_Tracking_No)"),
                Key("tracking_agent_field", "str", "shippingAgentCode",
                    "Its field holding the shipping agent (Shipping_Agent_Code)"),
                Key("tracking_extension", "bool", False,
                    "The store has the Shipment Tracking extension: add tracking through its route"),
                Key("start_date", "str", None, "First run: shipments modified since (default: the last 24 h)",
                    example="2026-01-01", check=check_start_date),
                Key("overlap_seconds", "int", 300, "Re-read window when polling shipments", minimum=0),
                Key("max_attempts", "int", 3, "Failures before a shipment is put on hold", minimum=1),
            ),
        ),
        "payments": (
            "`wcbc sync-fulfilment`: paid web orders settle their BC invoice (off while journals is empty).",
            (
                Key("journals", "strdict", {}, "Customer payment journal (batch code) per payment method",
                    example={"stripe": "WEB-STRIPE"}),
                Key("document_prefix", "str", "WCP-", "Payment document number: prefix + the order number"),
                Key("max_attempts", "int", 3, "Failures before a payment is put on hold", minimum=1),
            ),
        ),
    }


def build(values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The Config fields of the two sections, from the checked values."""
    return {"fulfilment": FulfilmentConfig(**values["fulfilment"]),
            "payments": PaymentsConfig(**{**values["payments"],
                                          "journals": dict(values["payments"]["journals"])})}
