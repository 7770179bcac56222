"""wcbc: keeps a WooCommerce store and Microsoft Dynamics 365 Business Central aligned."""

__version__ = "0.1.0"
