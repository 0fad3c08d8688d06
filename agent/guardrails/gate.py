"""Hold streamed text back until a whole sentence (or a bounded span) can be checked."""

from __future__ import annotations

import re

from agent.guardrails.rules import load_rules

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


class SentenceGate:
    """Buffers deltas and hands out complete sentences; nothing leaves unchecked."""

    def __init__(self, *, max_span: int | None = None) -> None:
        """``max_span``: longest text held without a sentence end (default: the config's ``sentence_max_chars``)."""
        self._buffer = ""
        self._max_span = max_span or load_rules().thresholds.sentence_max_chars

    def feed(self, delta: str) -> list[str]:
        """Add ``delta``; return the sentences (with trailing whitespace) now complete."""
        self._buffer += delta
        out: list[str] = []
        while match := _BOUNDARY.search(self._buffer):
            out.append(self._buffer[: match.end()])
            self._buffer = self._buffer[match.end() :]
        if len(self._buffer) > self._max_span:
            cut = self._buffer.rfind(" ", 0, self._max_span) + 1 or self._max_span
            out.append(self._buffer[:cut])
            self._buffer = self._buffer[cut:]
        return out

    def flush(self) -> list[str]:
        """The rest of the text, once the stream has ended."""
        rest, self._buffer = self._buffer, ""
        return [rest] if rest.strip() else []
