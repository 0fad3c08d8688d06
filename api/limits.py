"""Request limits: body size (ASGI middleware), request rates (token buckets) and streams held open at once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int, *,
                 describe: Callable[[str, int, str], dict[str, Any]] = lambda _, __, message: {"detail": message},
                 ) -> None:
        self.app = app
        self.limit = limit
        self.describe = describe
        """Builds the error body from the request path, status and message."""

    def _refusal(self, scope: Scope) -> JSONResponse:
        message = f"request body larger than {self.limit} bytes"
        return JSONResponse(self.describe(scope["path"], 413, message), status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refusal(scope)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await self._refusal(scope)(scope, receive, send)


def refilled(tokens: float, counted: float, per_minute: int, now: float) -> float:
    """A bucket's tokens at ``now``: ``tokens`` counted at ``counted``, one more every ``60 / per_minute`` s, up to
    ``per_minute``."""
    return min(per_minute, tokens + (now - counted) * per_minute / 60)


def wait_for(buckets: list[tuple[float, int]]) -> float:
    """Seconds until every ``(tokens, per_minute)`` bucket holds a whole token again: 0 when they all do."""
    return max([(1 - tokens) * 60 / per_minute for tokens, per_minute in buckets if tokens < 1], default=0.0)


class RateLimiter:
    """Token buckets per key in this process: ``per_minute`` requests a minute, with a burst of as many."""

    MAX_KEYS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float, int]] = {}
        """key -> (tokens, when counted, per_minute)."""

    def take(self, limits: list[tuple[str, int]]) -> float:
        """Take one token from every ``(key, per_minute)`` bucket, or none: 0, or the seconds to wait."""
        now = self._clock()
        counted = [(key, self._tokens(key, per_minute, now), per_minute) for key, per_minute in limits]
        wait = wait_for([(tokens, per_minute) for _, tokens, per_minute in counted])
        if wait:
            return wait
        for key, tokens, per_minute in counted:
            self._buckets[key] = (tokens - 1, now, per_minute)
        if len(self._buckets) > self.MAX_KEYS:
            self._forget_full(now)
        return 0.0

    def _tokens(self, key: str, per_minute: int, now: float) -> float:
        tokens, counted, _ = self._buckets.get(key, (per_minute, now, per_minute))
        return refilled(tokens, counted, per_minute, now)

    def _forget_full(self, now: float) -> None:
        for key, (_, _, per_minute) in list(self._buckets.items()):
            if self._tokens(key, per_minute, now) >= per_minute:
                del self._buckets[key]


class OpenStreams:
    """How many streams each key holds open in this process; a new one past the cap is refused."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def hold(self, key: str, cap: int) -> Callable[[], None] | None:
        """Count one more open stream for ``key`` and return what ends it (idempotent), or None at ``cap``."""
        if self._open[key] >= cap:
            return None
        self._open[key] += 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._open[key] -= 1
                if not self._open[key]:
                    del self._open[key]

        return release
