"""Access logs without credentials: a conversation id (an anonymous chat's only key) and query values (reset
tokens, customer ids) are masked before uvicorn's access logger writes a request line."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import uvicorn.config

_CONVERSATION = re.compile(r"(/conversations/)[^/?]+")
_QUERY_VALUE = re.compile(r"=[^&]*")


def mask(path: str) -> str:
    """``path`` (with its query string) with conversation ids and query values replaced by placeholders."""
    path, question, query = path.partition("?")
    return _CONVERSATION.sub(r"\1{id}", path) + question + _QUERY_VALUE.sub("=*", query)


class MaskPaths(logging.Filter):
    """Rewrites the path in uvicorn's access records (``client, method, path, http_version, status``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, mask(str(path)), version, status)
        return True


LOG_CONFIG: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
"""uvicorn's logging configuration with :class:`MaskPaths` on its access logger."""
LOG_CONFIG["filters"] = {"mask_paths": {"()": MaskPaths}}
LOG_CONFIG["loggers"]["uvicorn.access"]["filters"] = ["mask_paths"]
