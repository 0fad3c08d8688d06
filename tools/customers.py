"""Who the customer is: in-conversation verification, their profile, and their default address."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from core.errors import PolicyDenied
from tools._access import current_customer
from tools._types import AddressLine, Country, OptionalLine, State, Zip, address
from tools.context import ToolContext
from tools.registry import tool
from tools.store.models import AuthAttempt, Customer
from tools.views import CustomerView, customer_view


class Verification(BaseModel):
    """The outcome of an identity check; ``customer_id`` is set only when it matched."""

    verified: bool
    customer_id: str | None = None
    name: str | None = None
    attempts_left: int


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip().casefold()


def _check(ctx: ToolContext, found: Customer | None) -> Verification:
    """Record the attempt; lock the conversation after too many failures within an hour."""
    subject = f"conversation:{ctx.conversation_id}"
    since = ctx.now - timedelta(hours=1)
    failures = ctx.session.scalar(select(func.count()).where(
        AuthAttempt.subject == subject, AuthAttempt.succeeded.is_(False), AuthAttempt.created_at >= since)) or 0
    limit = ctx.policy.verification_attempts
    if failures >= limit:
        raise PolicyDenied("verification_locked", "There have been too many attempts to verify this account, so "
                                                  "I've paused verification for an hour. A person can help you.")
    if found is not None and ctx.customer_id not in (None, found.id):
        raise PolicyDenied("one_customer", "You're signed in to another account; I can only help that account.")
    ctx.session.add(AuthAttempt(subject=subject, kind="verification", succeeded=found is not None,
                                created_at=ctx.now))
    if found is None:
        return Verification(verified=False, attempts_left=limit - failures - 1)
    return Verification(verified=True, customer_id=found.id, name=found.first_name, attempts_left=limit - failures)


@tool(label="Verifying your account", needs_identity=False, limits=("verification_attempts",))
def verify_customer_by_email(ctx: ToolContext, email: str = Field(max_length=254)) -> Verification:
    """Verify who the customer is by the email on their account.

    Args:
        email: The email address the customer gave.
    """
    wanted = _fold(email)
    found = next((c for c in ctx.session.scalars(select(Customer).where(
        func.lower(Customer.email) == email.strip().lower())) if _fold(c.email) == wanted), None)
    return _check(ctx, found)


@tool(label="Verifying your account", needs_identity=False, limits=("verification_attempts",))
def verify_customer_by_name_zip(
    ctx: ToolContext,
    first_name: str = Field(max_length=100),
    last_name: str = Field(max_length=100),
    zip: str = Field(max_length=10),
) -> Verification:
    """Verify who the customer is by their full name and the zip code of their address.

    Args:
        first_name: The customer's first name.
        last_name: The customer's last name.
        zip: The zip code of the customer's default address.
    """
    candidates = ctx.session.scalars(select(Customer).where(
        func.lower(Customer.last_name) == last_name.strip().lower()))
    found = next((c for c in candidates if _fold(c.first_name) == _fold(first_name)
                  and _fold(c.last_name) == _fold(last_name) and c.address.get("zip") == zip.strip()), None)
    return _check(ctx, found)


@tool(label="Looking up your account")
def get_user_details(ctx: ToolContext) -> CustomerView:
    """Show the customer's profile: name, email, default address, payment methods and order numbers."""
    return customer_view(current_customer(ctx))


@tool(label="Updating your address", writes=True)
def modify_user_address(
    ctx: ToolContext,
    address1: AddressLine,
    address2: OptionalLine,
    city: AddressLine,
    state: State,
    country: Country,
    zip: Zip,
) -> CustomerView:
    """Change the default address on the customer's account (orders keep their own address).

    Args:
        address1: Street and number.
        address2: Apartment, suite or unit ('' if none).
        city: City.
        state: State, such as CA.
        country: Country, such as USA.
        zip: Five-digit zip code.
    """
    customer = current_customer(ctx)
    customer.address = address(address1, address2, city, state, country, zip)
    return customer_view(customer)
