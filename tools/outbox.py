"""The outbox: email written in the same transaction as what it tells, and each message's delivery state.

A body names the service's address as ``{public_url}``, filled in from ``SUPPORT_PUBLIC_URL`` when the message
is sent, and carries a link's single-use secret as its ``token=`` parameter, which is replaced by ``[sent]`` once
the message is sent or given up on. A sender claims a message with a conditional update that only one process
can win; a claim is a lease, so a message whose sender died is claimed again when the lease runs out.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, or_, select, update

from tools.store import Store
from tools.store.models import OutboxMessage

PUBLIC_URL = "{public_url}"
"""Stands for the service's public address in a stored body."""
REDACTED = "[sent]"
_SECRET = re.compile(r"(?<=[?&]token=)[^\s&#]+")
_CANDIDATES = 20  # due messages looked at per claim; losing a race to another process moves on to the next
_MAX_ERROR_CHARS = 500


class Claimed(BaseModel):
    """A message this process now owns until its lease ends."""

    model_config = ConfigDict(frozen=True)

    id: int
    to_address: str
    subject: str
    body: str
    """As stored: ``{public_url}`` not yet filled in."""
    attempts: int
    """Tries so far, this one included."""


def service_link(path: str, **query: str) -> str:
    """A link to ``path`` on the service, for a body: ``{public_url}/reset-password?token=...``."""
    return f"{PUBLIC_URL}{path}?{urlencode(query)}"


def filled(body: str, public_url: str) -> str:
    """``body`` with the service's address filled in."""
    return body.replace(PUBLIC_URL, public_url)


def redacted(text: str) -> str:
    """``text`` without the secrets of its links."""
    return _SECRET.sub(REDACTED, text)


def mask_email(email: str) -> str:
    """``o***@example.com``: enough for a customer to recognise their address, or for a log line."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _due(now: datetime) -> ColumnElement[bool]:
    waiting = and_(OutboxMessage.status == "pending",
                   or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    abandoned = and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now)
    return or_(waiting, abandoned)


def claim_next(store: Store, *, now: datetime, lease: timedelta) -> Claimed | None:
    """Claim the oldest message that is due (waiting, or abandoned by a sender whose lease ran out), or None.

    Each candidate is taken with ``UPDATE ... WHERE id = ? AND <still due>``: the one process whose update
    changes the row owns the message, however many race for it.
    """
    with store.session() as session:
        candidates = session.scalars(select(OutboxMessage.id).where(_due(now))
                                     .order_by(OutboxMessage.id).limit(_CANDIDATES)).all()
    for message_id in candidates:
        with store.session(write=True) as session:
            won = session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, _due(now))
                .values(status="sending", claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
            ).rowcount == 1  # type: ignore[attr-defined]
            if won:
                row = session.get_one(OutboxMessage, message_id)
                return Claimed(id=row.id, to_address=row.to_address, subject=row.subject, body=row.body,
                               attempts=row.attempts)
    return None


def record_sent(store: Store, claimed: Claimed, *, public_url: str, now: datetime) -> None:
    """Mark ``claimed`` sent, keeping the body as it went out but without its secrets."""
    _finish(store, claimed, status="sent", sent_at=now, body=redacted(filled(claimed.body, public_url)))


def record_failure(store: Store, claimed: Claimed, error: str, *, retry_at: datetime | None) -> None:
    """Record a failed try: pending again from ``retry_at``, or ``failed`` for good when it is None (the link's
    secret is removed then: the customer asks for a new link)."""
    error = redacted(error)[:_MAX_ERROR_CHARS]
    if retry_at is None:
        _finish(store, claimed, status="failed", last_error=error, body=redacted(claimed.body))
    else:
        _finish(store, claimed, status="pending", last_error=error, next_attempt_at=retry_at)


def _finish(store: Store, claimed: Claimed, **values: object) -> None:
    """Update a message this process still owns: a sender whose lease ran out and was claimed again (the
    count of tries moved on) records nothing."""
    with store.session(write=True) as session:
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == "sending",
                               OutboxMessage.attempts == claimed.attempts)
                        .values(claimed_until=None, **values))
