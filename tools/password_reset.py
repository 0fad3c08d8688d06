"""Password reset by email link: the chat never shows, sets or sends a password.

A link holds a random single-use token; only its SHA-256 is stored, it expires, and customers can request a
limited number per hour. Completing the reset (new password, stored as an Argon2 hash) happens on the web
page the link opens, through :func:`complete_password_reset`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from pydantic import BaseModel
from sqlalchemy import func, select

from core.errors import PolicyDenied, UserError
from tools._access import current_customer
from tools.context import ToolContext
from tools.outbox import mask_email, service_link
from tools.registry import tool
from tools.store import Store
from tools.store.models import Customer, OutboxMessage, PasswordResetToken

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


class ResetSent(BaseModel):
    sent_to: str
    """The account's email, masked (``o***@example.com``)."""
    expires_in_minutes: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@tool(label="Sending a password-reset link", writes=True,
      limits=("password_reset_link_minutes", "password_resets_per_hour"))
def request_password_reset(ctx: ToolContext) -> ResetSent:
    """Email the customer a single-use link to choose a new password (sent to the address on file)."""
    customer = current_customer(ctx)
    recent = ctx.session.scalar(select(func.count()).where(
        PasswordResetToken.customer_id == customer.id,
        PasswordResetToken.created_at >= ctx.now - timedelta(hours=1))) or 0
    if recent >= ctx.policy.password_resets_per_hour:
        raise PolicyDenied("reset_rate_limit", "I've already sent several reset links in the last hour; please "
                                               "use the newest one or try again later.")
    token = secrets.token_urlsafe(32)
    minutes = ctx.policy.password_reset_link_minutes
    ctx.session.add(PasswordResetToken(customer_id=customer.id, token_hash=_digest(token),
                                       expires_at=ctx.now + timedelta(minutes=minutes), created_at=ctx.now))
    link = service_link("/reset-password", token=token)  # the mail sender fills in the address
    ctx.session.add(OutboxMessage(
        to_address=customer.email,
        subject="Reset your Northwind Goods password",
        body=f"Hi {customer.first_name},\n\nChoose a new password here: {link}\n\nThe link works once and "
             f"expires in {minutes} minutes. If you didn't ask for it, ignore this email.\n",
        created_at=ctx.now,
    ))
    return ResetSent(sent_to=mask_email(customer.email), expires_in_minutes=minutes)


def complete_password_reset(store: Store, token: str, new_password: str, *, now: datetime) -> str:
    """Set a new password with a reset token; returns the customer id. Any problem is a :class:`UserError`."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the new password must have at least {MIN_PASSWORD_LENGTH} characters")
    with store.session() as session:
        row = session.scalars(select(PasswordResetToken).where(
            PasswordResetToken.token_hash == _digest(token)).with_for_update()).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise UserError("this reset link is invalid, used or expired: ask for a new one")
        row.used_at = now
        customer = session.get(Customer, row.customer_id)
        assert customer is not None  # foreign key
        customer.password_hash = _hasher.hash(new_password)
        return customer.id


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches the stored Argon2 hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except Exception:  # argon2 raises several mismatch types; all mean "no"
        return False
