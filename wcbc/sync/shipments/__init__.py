"""sync-fulfilment, shipments half: BC posted shipments -> the WooCommerce orders they fulfil.

* :mod:`.weborders`: which web order a BC document belongs to (the order links, else the order's own
  ``_wcbc_bc_document`` meta, which survives a lost state DB); shared with :mod:`wcbc.sync.payments`;
* :mod:`.read`: the poll of ``salesShipments`` (lines expanded) since the bookmark, the BC orders'
  remaining quantities, the custom tracking endpoint, the web orders (reads only);
* :mod:`.plan`: pure: per shipment the writes (tracking, note to the buyer, status + the shipment's meta
  key, which is its idempotency key on the order);
* :mod:`.apply`: performs them (each looked up before it is created) and records through the Ledger;
* :mod:`.sync`: the orchestrator, with the one dry-run branch;
* :mod:`.report`: the run's outcomes (shared with payments).
"""
