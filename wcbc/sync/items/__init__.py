"""Item sync: BC item prices and stock -> WooCommerce products and variations, in the three steps of every
sync.

* read: :mod:`.read` (BC items, notifications, ledger entries), :mod:`.catalog` (which WooCommerce product
  sells an item: links, ``?sku=`` search, full listing), :mod:`.reservations` (stock already sold);
* plan (pure): :mod:`.plan` (decisions and writes), :mod:`.stock` (price and stock values);
* apply: :mod:`.apply` (:class:`~.apply.Apply` or :class:`~.apply.DryRun`, chosen once),
  :mod:`.writer` (batch calls);
* :mod:`.report` (outcomes and counts) and :mod:`.sync` (:class:`~.sync.ItemSync`, the orchestrator).
"""
