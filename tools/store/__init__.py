"""The store: customers, orders, payments, shipments, and the agent's own records."""

from tools.store.db import Store

__all__ = ["Store"]
