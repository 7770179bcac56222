"""The one shape every sync has: read (adapters only) -> plan (pure) -> apply (one place that writes).

* :mod:`.plan`: :class:`Write` (one intended write and its idempotency key) and :class:`Plan`.
* :mod:`.apply`: :class:`Ledger`, the only way a sync records what happened: journal rows always carry
  the run id; link + record + journal of one record commit in one transaction.
* :mod:`.outcome`: :class:`Outcome` of one record and :class:`Tally`, the counts a report is built on.
* :mod:`.batching`: :func:`chunks`.
"""
