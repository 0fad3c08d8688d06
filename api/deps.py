"""FastAPI dependencies: the ready agent and its turn runner, the settings and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.events import BaseEvent
from agent.service import SupportAgent
from api.hub import ConversationHub, Record
from api.limits import OpenStreams, RateLimiter
from api.shared_admission import SharedAdmission, shares_processes
from api.turn_queue import TurnQueue
from api.turns import Turns
from core.auth import AuthError, Principal, TokenKeys, verify_token
from core.settings import Settings


class Runtime:
    """The agent once it is ready, or why it is not (kept on ``app.state.runtime``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.agent: SupportAgent | None = None
        self.turns: Turns | None = None
        self.failure: str | None = None
        self.limiter = RateLimiter()
        self.streams = OpenStreams()
        self.shared: SharedAdmission | None = None
        """On PostgreSQL, once ready: the limits and the turn queue every process on the database shares (in
        place of this process's ``limiter``, ``streams`` and queue)."""
        self.token_keys: TokenKeys | None = None

    def ready(self, agent: SupportAgent, token_keys: TokenKeys) -> None:
        """Start serving with ``agent``: its event log and the queue for the model; tokens are checked with
        ``token_keys``."""
        self.token_keys = token_keys
        if shares_processes(agent.deps.store):
            self.shared = SharedAdmission(agent.deps.store, self.settings)
            self.shared.start()
        queue = self.shared.queue if self.shared else TurnQueue(slots=self.settings.max_concurrent_turns,
                                                                max_waiting=self.settings.max_queued_turns)
        self.turns = Turns(agent, ConversationHub(agent.deps.store), queue,
                           lease_seconds=self.settings.turn_lease_seconds)
        self.turns.start_keeping_leases()
        self.agent = agent

    async def take(self, limits: list[tuple[str, int]]) -> float:
        """Take one token from every ``(key, per_minute)`` bucket, or none: 0, or the seconds to wait."""
        if self.shared is None:
            return self.limiter.take(limits)  # in memory: on the event loop, no lock needed
        return await self.shared.take(limits)

    async def hold_stream(self, key: str) -> Callable[[], None] | None:
        """Count one more open event stream for ``key`` and return what ends it, or None at the cap."""
        cap = self.settings.max_open_streams
        return self.streams.hold(key, cap) if self.shared is None else await self.shared.hold_stream(key, cap)

    async def publish(self, conversation_id: str, event: BaseEvent) -> Record:
        """Append ``event`` (a staff message, an approval decision...) to the conversation's stream: it is
        numbered, stored and delivered at once to every client following the conversation."""
        if self.turns is None:
            raise _not_ready(self)
        return await self.turns.hub.append(conversation_id, event)

    async def close(self) -> None:
        """Stop turns in progress and store the events still queued (server shutdown)."""
        if self.turns is not None:
            await self.turns.close()
            await self.turns.hub.close()
        if self.shared is not None:
            await self.shared.close()


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _not_ready(runtime: Runtime) -> HTTPException:
    return HTTPException(503, runtime.failure or "starting: the model is loading", headers={"Retry-After": "5"})


def ready_agent(runtime: Annotated[Runtime, Depends(get_runtime)]) -> SupportAgent:
    """The agent, or 503 with ``Retry-After`` while it is still loading."""
    if runtime.agent is None:
        raise _not_ready(runtime)
    return runtime.agent


def ready_turns(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Turns:
    """The turn runner, or 503 with ``Retry-After`` while the agent is still loading."""
    if runtime.turns is None:
        raise _not_ready(runtime)
    return runtime.turns


ANONYMOUS = "anonymous"
"""The bearer value that stands for no token."""
_bearer = HTTPBearer(auto_error=False, description="A customer token, a staff token (`agent`, `ops`), or `anonymous`.")


def principal(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The token's principal; None without a token (anonymous); 401 for a bad, expired or malformed token.

    ``Bearer anonymous`` also means no token, for clients that must send a key (OpenAI's SDKs).
    """
    if credentials is not None and credentials.credentials == ANONYMOUS:
        return None
    if credentials is None:
        if request.headers.get("authorization"):
            raise HTTPException(401, "invalid token: send `Authorization: Bearer <token>`",
                                headers={"WWW-Authenticate": "Bearer"})
        return None
    if runtime.token_keys is None:
        raise _not_ready(runtime)
    try:
        who = verify_token(runtime.token_keys, credentials.credentials)
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    if not who.subject.strip():
        raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
    return who


def client_address(request: Request) -> str:
    """The caller's network address (the proxy's unless uvicorn is told to trust forwarded headers)."""
    return request.client.host if request.client else "unknown"


AgentDep = Annotated[SupportAgent, Depends(ready_agent)]
TurnsDep = Annotated[Turns, Depends(ready_turns)]
PrincipalDep = Annotated[Principal | None, Depends(principal)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
