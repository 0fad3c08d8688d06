"""FastAPI dependencies: the ready agent, the settings and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.service import SupportAgent
from core.auth import AuthError, Principal, verify_token
from core.settings import Settings


class Runtime:
    """The agent once it is ready, or why it is not (kept on ``app.state.runtime``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.agent: SupportAgent | None = None
        self.failure: str | None = None


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def ready_agent(runtime: Annotated[Runtime, Depends(get_runtime)]) -> SupportAgent:
    """The agent, or 503 with ``Retry-After`` while it is still loading."""
    if runtime.agent is None:
        raise HTTPException(503, runtime.failure or "starting: the model is loading", headers={"Retry-After": "5"})
    return runtime.agent


_bearer = HTTPBearer(auto_error=False)


def principal(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The token's principal; None without a token (anonymous); 401 for a bad token."""
    if credentials is None:
        return None
    try:
        return verify_token(runtime.settings.jwt_secret, credentials.credentials)
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


AgentDep = Annotated[SupportAgent, Depends(ready_agent)]
PrincipalDep = Annotated[Principal | None, Depends(principal)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
