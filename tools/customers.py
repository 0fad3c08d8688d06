"""Who the customer is: in-conversation verification, their profile, and their default address."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from core.errors import PolicyDenied
from tools._access import current_customer
from tools._types import AddressLine, Country, OptionalLine, State, Zip, address
from tools.context import ToolContext
from tools.policy import VerificationMethod
from tools.registry import tool
from tools.store.models import AuthAttempt, Customer
from tools.views import CustomerView, customer_view


class Verification(BaseModel):
    """The outcome of an identity check; ``customer_id`` is set only when it matched."""

    verified: bool
    customer_id: str | None = None
    name: str | None = None
    attempts_left: int


FAILURES_WINDOW = timedelta(hours=24)
"""Failed checks older than this no longer count toward a pause."""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip().casefold()


def _allow(ctx: ToolContext, method: VerificationMethod) -> None:
    if method not in ctx.policy.identity.verify_with:
        raise PolicyDenied("verification_method", "I can't verify an account with those details alone: "
                                                  f"{verification_request(ctx.policy.identity.verify_with)}.")


def verification_request(methods: list[VerificationMethod]) -> str:
    """What to ask an anonymous customer for: the facts of each way the policy allows."""
    facts = {"email_zip": "the email address on your account and its zip code",
             "name_zip": "your full name and zip code", "email": "the email address on your account"}
    return "please tell me " + ", or ".join(facts[method] for method in methods)


def _failures(ctx: ToolContext, subject: str) -> list[datetime]:
    """When the failed checks of ``subject`` that count happened: within a day and, for a claimed identity,
    since its last success (an address's are not reset by a success: one's own account would reset them)."""
    since = ctx.now - FAILURES_WINDOW
    if subject.startswith("identity:"):
        last_success = ctx.session.scalar(select(func.max(AuthAttempt.created_at)).where(
            AuthAttempt.subject == subject, AuthAttempt.succeeded.is_(True)))
        since = max(since, last_success or since)
    return list(ctx.session.scalars(select(AuthAttempt.created_at).where(
        AuthAttempt.subject == subject, AuthAttempt.succeeded.is_(False), AuthAttempt.created_at > since)))


def _pause(ctx: ToolContext, failures: list[datetime]) -> timedelta | None:
    """How much longer checks stay paused after ``failures``: from the ``attempts``-th one, ``lock_minutes``,
    doubled by each further failure up to ``max_lock_minutes``."""
    rule = ctx.policy.identity
    if len(failures) < rule.attempts:
        return None
    minutes = min(rule.max_lock_minutes, rule.lock_minutes * 2 ** (len(failures) - rule.attempts))
    left = max(failures) + timedelta(minutes=minutes) - ctx.now
    return left if left > timedelta(0) else None


def _check(ctx: ToolContext, claimed: str, found: Customer | None) -> Verification:
    """Record the attempt against the identity claimed (matched or not: a reply never tells whether an account
    exists) and the client's address; while either is paused, refuse without checking."""
    subjects = [f"identity:{hashlib.sha256(_fold(claimed).encode()).hexdigest()[:40]}"]
    if ctx.client_address:
        subjects.append(f"address:{ctx.client_address}")
    paused = [left for left in (_pause(ctx, _failures(ctx, subject)) for subject in subjects) if left]
    if paused:
        minutes = max(1, round(max(paused).total_seconds() / 60))
        raise PolicyDenied("verification_locked", "There have been too many attempts to verify this account, so "
                           f"I've paused verification for {minutes} minute{'s' if minutes > 1 else ''}. You can "
                           "sign in on our website to chat as yourself, or ask for a person.")
    if found is not None and ctx.customer_id not in (None, found.id):
        raise PolicyDenied("one_customer", "You're signed in to another account; I can only help that account.")
    for subject in subjects:
        ctx.session.add(AuthAttempt(subject=subject, kind="verification", succeeded=found is not None,
                                    created_at=ctx.now))
    ctx.session.flush()
    left = max(0, ctx.policy.identity.attempts - max(len(_failures(ctx, subject)) for subject in subjects))
    if found is None:
        return Verification(verified=False, attempts_left=left)
    return Verification(verified=True, customer_id=found.id, name=found.first_name, attempts_left=left)


def _by_email(ctx: ToolContext, email: str) -> Customer | None:
    wanted = _fold(email)
    return next((c for c in ctx.session.scalars(select(Customer).where(
        func.lower(Customer.email) == email.strip().lower())) if _fold(c.email) == wanted), None)


def _zip_matches(customer: Customer | None, zip_code: str) -> Customer | None:
    return customer if customer is not None and customer.address.get("zip") == zip_code.strip() else None


@tool(label="Verifying your account", needs_identity=False, limits=("identity",))
def verify_customer_by_email_zip(
    ctx: ToolContext, email: str = Field(max_length=254), zip: str = Field(max_length=10),
) -> Verification:
    """Verify who the customer is by the email on their account and the zip code of its address.

    Args:
        email: The email address the customer gave.
        zip: The zip code the customer gave.
    """
    _allow(ctx, "email_zip")
    return _check(ctx, email, _zip_matches(_by_email(ctx, email), zip))


@tool(label="Verifying your account", needs_identity=False, limits=("identity",))
def verify_customer_by_email(ctx: ToolContext, email: str = Field(max_length=254)) -> Verification:
    """Verify who the customer is by the email on their account (only where the policy accepts an email alone).

    Args:
        email: The email address the customer gave.
    """
    _allow(ctx, "email")
    return _check(ctx, email, _by_email(ctx, email))


@tool(label="Verifying your account", needs_identity=False, limits=("identity",))
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
    _allow(ctx, "name_zip")
    candidates = ctx.session.scalars(select(Customer).where(
        func.lower(Customer.last_name) == last_name.strip().lower()))
    found = next((c for c in candidates if _fold(c.first_name) == _fold(first_name)
                  and _fold(c.last_name) == _fold(last_name) and c.address.get("zip") == zip.strip()), None)
    return _check(ctx, f"{first_name} {last_name} {zip}", found)


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
