"""The escalation config: which triggers hand a conversation to a person, and the business hours."""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: list[Day] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class BusinessHours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    days: list[Day]
    open: time
    close: time

    def is_open(self, moment: datetime) -> bool:
        """Whether people staff the queue at ``moment`` (an aware datetime)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return _DAYS[local.weekday()] in self.days and self.open <= local.time() < self.close


class EscalationConfig(BaseModel):
    """The triggers (0 / false turns one off) and what the customer is told about the wait."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    explicit_request: bool
    sensitive_topics: bool
    frustration_messages: int = Field(ge=0)
    flagged_customers: list[str]
    no_progress_turns: int = Field(ge=0)
    unanswered_questions: int = Field(ge=0)
    guardrail_trips: int = Field(ge=0)
    policy_exceptions: bool
    repeated_reply: bool
    minutes_per_conversation: int = Field(ge=1)
    business_hours: BusinessHours
    ticket_response: str


@lru_cache(maxsize=4)
def load_escalation_config(path: Path | None = None) -> EscalationConfig:
    """The escalation config at ``path`` or the bundled default (invalid files fail here, at start)."""
    text = path.read_text() if path else resources.files("agent").joinpath("escalation.yaml").read_text()
    return EscalationConfig.model_validate(yaml.safe_load(text))
