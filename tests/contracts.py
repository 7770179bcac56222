"""Where the tests find the contract recordings (a verbatim copy in tests/fixtures/contracts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

CONTRACTS = Path(os.environ.get("WCBC_CONTRACTS", Path(__file__).parent / "fixtures" / "contracts"))
WOO_REST = CONTRACTS / "woocommerce" / "real-store" / "rest"
WOO_WEBHOOKS = CONTRACTS / "woocommerce" / "real-store" / "webhooks"
BC_EXAMPLES = CONTRACTS / "business-central" / "docs-examples"


def bc_example(name: str) -> dict:
    """A Business Central docs example payload, parsed."""
    return json.loads((BC_EXAMPLES / name).read_text())


def assert_shape(body: dict, ex: dict, *, skip: tuple[str, ...] = ()) -> None:
    """Every field of a docs example is present in ``body`` with the same JSON type (numbers alike)."""
    for key, value in ex.items():
        if key in skip:
            continue
        assert key in body, key
        if isinstance(value, int | float) and not isinstance(value, bool):
            assert isinstance(body[key], int | float) and not isinstance(body[key], bool), key
        else:
            assert type(body[key]) is type(value), key
