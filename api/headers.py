"""Security headers on every response: the pages' content policy, no MIME sniffing, no referrer."""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Sent with every response (pages, static files, API answers) that does not set its own."""
_CDN = "https://cdn.jsdelivr.net"
DOCS_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": f"default-src 'self'; connect-src 'self'; frame-ancestors 'none'; img-src 'self' data: "
                               f"https:; script-src 'self' 'unsafe-inline' {_CDN}; worker-src blob:; style-src 'self' "
                               f"'unsafe-inline' {_CDN} https://fonts.googleapis.com; font-src https://fonts.gstatic.com",
}
"""For FastAPI's ``/docs`` and ``/redoc`` (and Swagger's OAuth2 redirect): they load their scripts and styles
from a CDN and start them inline."""


class SecurityHeaders:
    """ASGI middleware adding :data:`PAGE_HEADERS` (:data:`DOCS_HEADERS` on ``docs_paths``) to every HTTP
    response, keeping any such header the response sets itself."""

    def __init__(self, app: ASGIApp, *, docs_paths: Collection[str | None] = ()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = DOCS_HEADERS if scope["path"] in self.docs_paths else PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
