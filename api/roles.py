"""Staff-only routes: a token is required (401) and must carry the right role (403), before anything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException

from api.deps import principal
from core.auth import Principal, Role


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only tokens of one of ``roles``."""

    def check(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
        if who is None:
            raise HTTPException(401, "a staff token is required", headers={"WWW-Authenticate": "Bearer"})
        if who.role not in roles:
            raise HTTPException(403, f"this needs the {' or '.join(roles)} role")
        return who

    return check
