"""Shared pieces of the WooCommerce REST simulator: constants, permission messages, the request context."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wcbc.sandbox.core import Request, Response
from wcbc.sandbox.woo.model import RestError

NS = "/wp-json/wc/v3"
COLLECTION_ALLOW = "GET, POST"
ITEM_ALLOW = "GET, POST, PUT, PATCH, DELETE"
BATCH_ALLOW = "POST, PUT, PATCH"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
EMAIL_RE = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LIST_MSG = ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
VIEW_MSG = ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
CREATE_MSG = ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
EDIT_MSG = ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
DELETE_MSG = ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
BATCH_MSG = ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource.")
VALID_EVENTS = ("created", "updated", "deleted", "restored")


def _wp_list(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", text) if p]


def _enum_text(values: tuple[str, ...] | list[str]) -> str:
    values = list(values)
    if len(values) <= 1:
        return "".join(values)
    if len(values) == 2:
        return f"{values[0]} and {values[1]}"
    return ", ".join(values[:-1]) + ", and " + values[-1]


@dataclass
class Ctx:
    user: str | None
    params: dict[str, str]
    errors: dict[str, tuple[str, str, Any]] = field(default_factory=dict)  # param -> (code, message, data)

    def invalid(self, name: str, code: str, message: str, data: Any = None) -> None:
        self.errors.setdefault(name, (code, message, data))

    def check(self) -> None:
        if self.errors:
            raise RestError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): " + ", ".join(self.errors),
                params={k: v[1] for k, v in self.errors.items()},
                details={k: {"code": v[0], "message": v[1], "data": v[2]} for k, v in self.errors.items()},
            )


Handler = Callable[[Request, Ctx], Response]


BatchHandler = Callable[[Any], dict[str, Any] | None]  # one batch item -> its answer, or None to skip


def batch_id(item: Any, action: str = "delete") -> int:
    """The id a batch item names: none in create, ``{"id": 5}`` in update, ``5`` or ``{"id": 5}`` in
    delete; 0 when it names none."""
    if action == "create" or (action == "update" and not isinstance(item, dict)):
        return 0
    raw = item.get("id", 0) if isinstance(item, dict) else item
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0
