"""reconcile: every BC item against every WooCommerce product (:mod:`.items`), and with ``--orders`` the
order side of a period (:mod:`.orders`); :mod:`.report` holds what it reports."""

from wcbc.sync.reconcile.items import Reconciler
from wcbc.sync.reconcile.report import Difference, OrderIssue, OrdersCheck, ReconcileReport

__all__ = ["Difference", "OrderIssue", "OrdersCheck", "ReconcileReport", "Reconciler"]
