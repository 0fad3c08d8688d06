"""The store policy: one versioned YAML document, validated on load."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ConfigError


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


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate the policy at ``path``, or the bundled default."""
    try:
        text = path.read_text() if path else resources.files(__package__).joinpath("policy.yaml").read_text()
        return Policy.model_validate(yaml.safe_load(text))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"policy file {path or 'policy.yaml'} is invalid: {exc}") from exc
