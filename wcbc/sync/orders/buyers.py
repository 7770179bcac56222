"""Finding the buyer's BC customer by e-mail, case-insensitively, and refusing to guess among several.

BC's ``eq`` on text is case-sensitive (business-central.md §2: ``tolower``/``toupper`` "disable case
sensitivity in comparisons"), so the lookup compares ``tolower(email)`` with the lower-cased addresses
(``in (...)`` needs ``$schemaversion=2.1``, which the page query sends). The answers are grouped by the
normalised key (the address lower-cased and trimmed): two or more customers under one key fail the order
naming them (:func:`ambiguous`), unless the buyer is already linked (the link wins, before any lookup).
UNDOCUMENTED: a function on the left of ``in`` (the contract documents ``tolower`` and, with schema 2.1,
nested functions and ``in``, but shows no example of the two together); the sandbox accepts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.errors import RecordError

EMAIL_KEY = "tolower(email)"
_MARGIN = len("tolower()")


def normalised(email: Any) -> str:
    return str(email or "").strip().lower()


def email_filters(emails: Iterable[str]) -> list[str]:
    """``tolower(email) in ('a','b',...)`` filters, chunked like :func:`odata.in_chunks`."""
    lowered = sorted({normalised(e) for e in emails if normalised(e)})
    chunks = odata.in_chunks("email", lowered, max_chars=odata.DEFAULT_MAX_FILTER_CHARS - 3 * _MARGIN)
    return [EMAIL_KEY + flt[len("email"):] for flt in chunks]


def email_equals(email: str) -> str:
    return f"{EMAIL_KEY} eq {odata.literal(normalised(email))}"


def group_by_email(customers: Iterable[Mapping[str, Any]]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """(first customer per normalised e-mail, every customer of the e-mails that have two or more)."""
    groups: dict[str, list[dict]] = {}
    for customer in customers:
        bucket = groups.setdefault(normalised(customer.get("email")), [])
        if all(c.get("id") != customer.get("id") for c in bucket):
            bucket.append(dict(customer))
    first = {key: rows[0] for key, rows in groups.items()}
    return first, {key: rows for key, rows in groups.items() if len(rows) > 1}


def ambiguous(order: Mapping[str, Any], email: str, customers: list[dict[str, Any]]) -> RecordError:
    names = ", ".join(f"{c.get('number')} ({c.get('displayName') or '?'})" for c in customers)
    return RecordError(
        f"order #{order.get('number', order.get('id'))}: {len(customers)} BC customers have the buyer's "
        f"e-mail {email} ({names}); wcbc does not guess which one",
        hint="give the other customers another e-mail in BC (or merge them), then wcbc replay the order",
    )
