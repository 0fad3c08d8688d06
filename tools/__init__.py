"""The agent's tools: typed functions registered with ``@tool``, run through :func:`execute`."""

from tools import (  # noqa: F401 - importing registers the tools
    catalog,
    customers,
    delivered_orders,
    handoff,
    orders,
    password_reset,
    pending_orders,
)
from tools._access import customer_flags
from tools.registry import TOOLS, Tool
from tools.runner import ToolResult, execute

__all__ = ["TOOLS", "Tool", "ToolResult", "customer_flags", "execute"]
