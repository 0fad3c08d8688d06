"""Signed access tokens (JWT, HMAC): customers from the company's login, staff by role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt
from pydantic import BaseModel

from core.errors import UserError

ALGORITHM = "HS256"
Role = Literal["customer", "agent", "ops"]


class Principal(BaseModel):
    """Who is calling: the token's subject and role. A customer's id is never read from message text."""

    role: Role
    subject: str


class AuthError(UserError):
    """Missing, malformed, expired or forged token."""


def issue_token(secret: str, *, role: Role, subject: str, ttl: timedelta = timedelta(hours=12)) -> str:
    """A signed token for ``subject`` acting as ``role``."""
    now = datetime.now(UTC)
    claims = {"sub": subject, "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """The principal a token names; any problem is an :class:`AuthError` with a safe message."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "role", "exp"]})
        return Principal(role=claims["role"], subject=claims["sub"])
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise AuthError("invalid token") from exc
