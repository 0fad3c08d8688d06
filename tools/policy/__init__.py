"""The store policy: one versioned YAML document, validated on load: store rules, per-tool permissions and the
guardrails."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ConfigError
from core.guardrails_config import GuardrailsConfig, bundled_guardrails, bundled_guardrails_text


class ToolPolicy(BaseModel):
    """What ops allow one tool to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """A disabled tool never runs (the customer is told what happens instead)."""
    requires_approval: bool = False
    """Every call that changes data waits for a staff member's approval."""
    max_per_customer_per_day: int | None = Field(None, ge=1)
    """Successful calls per customer per day before further ones need approval (empty: no limit)."""
    customer_tiers: list[str] = []
    """Only customers with one of these flags (``vip``...) may use it; empty: every customer."""


VerificationMethod = Literal["email_zip", "name_zip", "email"]
"""Facts that together verify an anonymous customer: email and zip code, full name and zip code, or (tau2-bench's
rule, weak: an email address is no secret) the email alone."""


class IdentityPolicy(BaseModel):
    """How an anonymous customer proves who they are in the chat, and the lock-out after failed tries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verify_with: list[VerificationMethod] = Field(min_length=1)
    """The ways to verify, any one of which is enough."""
    attempts: int = Field(5, ge=1)
    """Failed tries, for one claimed identity or from one client address, before verification pauses."""
    lock_minutes: int = Field(5, ge=1)
    """The first pause; each further failure after it doubles the pause."""
    max_lock_minutes: int = Field(60, ge=1)
    """The longest pause: nobody can lock an account for longer by failing on purpose."""


class Policy(BaseModel):
    """Rules the tools enforce in code, the numbers the help center quotes, and the guardrails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    return_window_days: int = Field(ge=0)
    exception_grace_days: int = Field(ge=0)
    exchange_window_days: int = Field(ge=0)
    auto_refund_limit: Decimal = Field(ge=0)
    refund_processing_days: int = Field(ge=0)
    cancellation_reasons: list[str]
    final_sale_categories: list[str]
    standard_shipping_days: int = Field(ge=0)
    express_shipping_days: int = Field(ge=0)
    express_shipping_fee: Decimal = Field(ge=0)
    free_shipping_threshold: Decimal = Field(ge=0)
    restocking_fee: Decimal = Field(ge=0)
    password_reset_link_minutes: int = Field(ge=1)
    password_resets_per_hour: int = Field(ge=1)
    identity: IdentityPolicy
    support_hours: str
    tools: dict[str, ToolPolicy] = {}
    """Per-tool permissions; a tool not listed runs with the defaults of :class:`ToolPolicy`."""
    guardrails: GuardrailsConfig = Field(default_factory=bundled_guardrails)
    """Input and output rails, word lists, thresholds and secrets to mask; a document without this section
    gets the bundled ``core/guardrails.yaml``."""

    def tool(self, name: str) -> ToolPolicy:
        """The permissions of tool ``name``."""
        return self.tools.get(name, ToolPolicy())


def bundled_policy_text() -> str:
    """The default policy document shipped with the code: ``policy.yaml`` with the bundled guardrails (comments
    kept) as its ``guardrails`` section."""
    rules = resources.files(__package__).joinpath("policy.yaml").read_text()
    return f"{rules}guardrails:\n{textwrap.indent(bundled_guardrails_text(), '  ')}"


def parse_policy(text: str, *, source: str = "policy.yaml") -> Policy:
    """Validate a policy document; any problem is a :class:`ConfigError` naming ``source``."""
    try:
        return Policy.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"policy {source} is invalid: {exc}") from exc


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate the policy at ``path``, or the bundled default."""
    try:
        text = path.read_text() if path else bundled_policy_text()
    except OSError as exc:
        raise ConfigError(f"policy file {path} is unreadable: {exc}") from exc
    return parse_policy(text, source=str(path or "policy.yaml"))
