"""sync-orders: WooCommerce orders -> BC sales documents, in the three steps every sync has.

* :mod:`.sync`: :class:`~wcbc.sync.orders.sync.OrderSync`, the thin orchestrator (candidates, pages, the
  one dry-run branch);
* :mod:`.read`: every read (inbox hints, explicit ids, failed-order retries, poll pages, the state's
  records and links, the per-page BC lookups);
* :mod:`.poll`: the poll window and its bookmark (a moment of the store's clock);
* :mod:`.clock`: the store's clock as this host sees it (the window's end, the skew warning);
* :mod:`.plan`: pure decisions and writes with their idempotency keys (triage, proving a link, refusing a
  colliding key, booking; each order isolated), with :mod:`.skus` (the items a page needs) and
  :mod:`.followup` (what a link keeps), :mod:`.buyers` (the customer by e-mail);
* :mod:`.verify` (the read-back check after booking), :mod:`.currency` (the currency against BC's);
* :mod:`.apply`: performs the plans; records only through the Ledger (link + record + journal of an order
  in one transaction, run id on every journal row); posts invoices and keeps their posted number;
* :mod:`.preview`: ``--dry-run``: the plans printed, nothing written;
* :mod:`.customers`: one BC customer per buyer at apply time (locks, lost answers settled by e-mail);
* :mod:`.writeback`: the BC number back onto the orders (batched, deferred during the poll) and the notes;
* :mod:`.report`: Outcome and Report.

The mapping of an order to BC bodies is :mod:`wcbc.sync.mapping.orders`.
"""
