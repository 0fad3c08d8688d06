"""What a tool runs with: the session's customer, a database session and the live policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tools.policy import Policy


@dataclass(frozen=True)
class ToolContext:
    """Injected into every tool; the customer id comes from the authenticated session, never the model."""

    session: Session
    policy: Policy
    conversation_id: str
    customer_id: str | None
    now: datetime
    approved_by: str | None = None
    """Staff member who approved this call outside policy; approvable rules then pass (hard rules never do)."""
    client_address: str | None = None
    """The network address the customer's request came from (verification failures are counted per address)."""
