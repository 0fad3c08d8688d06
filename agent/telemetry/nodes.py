"""Each graph node timed (``support_node_seconds``) and traced (a ``node <name>`` span under the turn's)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from core.metrics import NODE
from core.tracing import span

N = TypeVar("N", bound=Callable[..., dict[str, Any]])


def observed(node: N) -> N:
    """``node`` timed and traced; ``functools.wraps`` keeps the signature LangGraph reads to inject ``runtime``."""
    name = node.__name__
    seconds = NODE.labels(name)

    @functools.wraps(node)
    def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            with span(f"node {name}", {"langgraph.node": name}):
                return node(*args, **kwargs)
        finally:
            seconds.observe(time.perf_counter() - started)

    return run  # type: ignore[return-value]
