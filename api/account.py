"""Account routes: completing a password reset with the link the customer was emailed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AgentDep
from api.route_limits import limit
from core.errors import UserError
from tools.password_reset import complete_password_reset
from tools.store.models import utcnow

router = APIRouter(prefix="/v1", tags=["account"])


class PasswordReset(BaseModel):
    """The token from the reset link and the new password."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=16, max_length=128)
    new_password: str = Field(min_length=1, max_length=256)


@router.post("/password-reset", status_code=204, dependencies=[limit("password_reset")])
async def reset_password(body: PasswordReset, agent: AgentDep) -> None:
    """Set a new password; the link works once and expires."""
    try:
        await asyncio.to_thread(complete_password_reset, agent.deps.store, body.token, body.new_password,
                                now=utcnow())
    except UserError as exc:
        raise HTTPException(400, str(exc)) from exc
