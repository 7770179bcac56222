"""Faithful simulators of WooCommerce, Entra ID and Business Central (see README "Sandbox").

Nothing in this package imports from the rest of wcbc.
"""
