"""Every route's rate limit, by kind: the dependency each API route declares (a test walks the app for it), the
page rate for the routes that are not API routes (static files, the API description), and the cap on open event
streams. Limits run before authentication, so requests with a bad token count against their address. The buckets
and streams are the runtime's: this process's, or on PostgreSQL every process's (:mod:`api.shared_limits`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Request, params
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import ANONYMOUS, Runtime, RuntimeDep, client_address
from core.auth import AuthError, verify_token
from core.settings import Settings

Kind = Literal["page", "read", "stream", "new_conversation", "turn", "password_reset", "staff", "metrics"]
"""What a route does, which decides its rate (``read`` and ``stream`` share one; a stream also counts as open)."""

_REFUSED: dict[Kind, str] = {
    "page": "too many page loads", "read": "too many requests", "stream": "too many requests",
    "new_conversation": "too many new conversations", "turn": "too many messages",
    "password_reset": "too many password resets", "staff": "too many requests", "metrics": "too many scrapes",
}
STREAM_RETRY_SECONDS = 5
"""``Retry-After`` for a stream refused at the cap: about when a closed tab's stream has ended."""


def too_many(seconds: float, refused: str) -> HTTPException:
    """429 with ``Retry-After`` in whole seconds (at least 1)."""
    wait = max(1, round(seconds + 0.5))
    return HTTPException(429, f"{refused}: try again in {wait} s", headers={"Retry-After": str(wait)})


def _token_holder(request: Request, runtime: Runtime) -> str | None:
    """``role:subject`` of a valid bearer token; None without one (the route itself answers 401 for a bad one)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token.strip() in ("", ANONYMOUS) or runtime.token_keys is None:
        return None
    try:
        who = verify_token(runtime.token_keys, token.strip())
    except AuthError:
        return None
    return f"{who.role}:{who.subject}"


def _buckets(kind: Kind, settings: Settings, address: str, holder: str | None) -> list[tuple[str, int]]:
    """The ``(key, per_minute)`` buckets a request of ``kind`` takes a token from."""
    caller = holder or address
    match kind:
        case "turn" | "new_conversation":
            per_address = [(f"turns:{address}", settings.ip_turns_per_minute)]
            if holder and kind == "turn":
                return [*per_address, (f"turns:{holder}", settings.customer_turns_per_minute)]
            return per_address
        case "read" | "stream":
            return [(f"read:{caller}", settings.reads_per_minute)]
        case "staff":
            return [(f"staff:{caller}", settings.staff_requests_per_minute)]
        case "password_reset":
            return [(f"reset:{address}", settings.password_resets_per_minute)]
        case "page":
            return [(f"page:{address}", settings.page_loads_per_minute)]
        case "metrics":
            return [(f"metrics:{address}", settings.metrics_requests_per_minute)]


class RateLimit:
    """The dependency limiting a route of ``kind``: 429 with ``Retry-After`` past its rate. Returns whom the
    request counts against: ``role:subject`` of a valid token, else ``ip:<address>``."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    async def __call__(self, request: Request, runtime: RuntimeDep) -> str:
        address, holder = f"ip:{client_address(request)}", _token_holder(request, runtime)
        wait = await runtime.take(_buckets(self.kind, runtime.settings, address, holder))
        if wait:
            raise too_many(wait, _REFUSED[self.kind])
        return holder or address


def limit(kind: Kind) -> params.Depends:
    """``dependencies=[limit(kind)]`` for a route or a router."""
    return Depends(RateLimit(kind))


async def hold_stream(runtime: Runtime, caller: str) -> Callable[[], None]:
    """Count an event stream open for ``caller`` (from the ``stream`` limit) and return what ends it; 429 with
    ``Retry-After`` when the caller already holds ``max_open_streams``."""
    release = await runtime.hold_stream(caller)
    if release is None:
        raise too_many(STREAM_RETRY_SECONDS, "too many open event streams")
    return release


class PageLimit:
    """ASGI wrapper giving a route that is not an API route the page rate (per client address)."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            address = f"ip:{client_address(Request(scope))}"
            wait = await self.runtime.take(_buckets("page", self.runtime.settings, address, None))
            if wait:
                raise too_many(wait, _REFUSED["page"])  # the app's error handlers answer it
        await self.app(scope, receive, send)


def limit_other_routes(app: FastAPI, runtime: Runtime) -> None:
    """Give the page rate to every route that is not an API route: static mounts and FastAPI's ``/docs``,
    ``/redoc`` and ``/openapi.json``. API routes declare their own kind with :func:`limit`."""
    for route in app.routes:
        if isinstance(route, Route | Mount) and not isinstance(route, APIRoute):
            route.app = PageLimit(route.app, runtime)
