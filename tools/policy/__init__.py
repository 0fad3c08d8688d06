"""The store policy: one versioned YAML document, validated on load."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ConfigError


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


class Policy(BaseModel):
    """Rules the tools enforce in code and the numbers the help center quotes."""

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
    verification_attempts: int = Field(ge=1)
    site_url: str
    support_hours: str
    tools: dict[str, ToolPolicy] = {}
    """Per-tool permissions; a tool not listed runs with the defaults of :class:`ToolPolicy`."""

    def tool(self, name: str) -> ToolPolicy:
        """The permissions of tool ``name``."""
        return self.tools.get(name, ToolPolicy())


def bundled_policy_text() -> str:
    """The default policy document shipped with the code."""
    return resources.files(__package__).joinpath("policy.yaml").read_text()


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
