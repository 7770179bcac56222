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
