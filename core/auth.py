"""Signed access tokens (JWT, HMAC): customers from the company's login, staff by role and name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt
from pydantic import BaseModel, Field

from core.errors import UserError

ALGORITHM = "HS256"
Role = Literal["customer", "agent", "ops"]
MAX_SUBJECT_CHARS = 128
"""Longest subject a token may name (the audit log's author column)."""


@dataclass(frozen=True)
class TokenKeys:
    """What signs and checks tokens: the secret, and the issuer and audience every token must name."""

    secret: str
    issuer: str
    audience: str


class Principal(BaseModel):
    """Who is calling: the token's subject and role. A customer's id is never read from message text; a staff
    member's subject is their name, as the audit log shows it."""

    role: Role
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS)


class AuthError(UserError):
    """Missing, malformed, expired or forged token."""


def issue_token(keys: TokenKeys, *, role: Role, subject: str, ttl: timedelta = timedelta(hours=12)) -> str:
    """A signed token for ``subject`` acting as ``role``."""
    now = datetime.now(UTC)
    claims = {"sub": subject, "role": role, "iss": keys.issuer, "aud": keys.audience, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, keys.secret, algorithm=ALGORITHM)


def verify_token(keys: TokenKeys, token: str) -> Principal:
    """The principal a token names; any problem is an :class:`AuthError` with a safe message."""
    try:
        claims = jwt.decode(token, keys.secret, algorithms=[ALGORITHM], issuer=keys.issuer, audience=keys.audience,
                            options={"require": ["sub", "role", "exp", "iss", "aud"]})
        return Principal(role=claims["role"], subject=claims["sub"])
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise AuthError("invalid token") from exc
