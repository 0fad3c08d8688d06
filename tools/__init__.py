"""The agent's tools: typed functions registered with ``@tool``, run through :func:`execute`."""

from tools import handoff, orders  # noqa: F401 - importing registers the tools
from tools.registry import TOOLS, Tool
from tools.runner import ToolResult, execute

__all__ = ["TOOLS", "Tool", "ToolResult", "execute"]
