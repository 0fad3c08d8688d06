"""Addresses from the customer's words: a pattern first, then the model (JSON-schema constrained), and
every field the model proposes must appear in what the customer wrote."""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agent.executor import extract
from agent.prompts import prompt_text
from agent.telemetry.model import count_fallback
from core.errors import ModelError

US_ADDRESS = re.compile(
    r"(?P<address1>\d+[^,\n]*?),\s*(?:(?P<address2>(?:apt|apartment|suite|ste|unit|#)[^,\n]*?),\s*)?"
    r"(?P<city>[A-Za-z .'-]+?),\s*(?P<state>[A-Za-z]{2})\.?,?\s+(?P<zip>\d{5})\b",
    re.IGNORECASE,
)


STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"
})
"""US state codes (and DC)."""
_STATE_CODE = re.compile(r"(?:^|[\s,])([A-Z]{2})\b")


def missing_parts(text: str) -> list[str]:
    """The parts of a postal address that ``text`` visibly lacks, when it has started on one (a street line or a
    zip code): "state", "zip code", "street and number". Empty when it gives none of them, or all."""
    parts = {"street and number": extract.street(text), "zip code": extract.zip_code(text),
             "state": next((c for c in _STATE_CODE.findall(text) if c in STATES), None)}
    if not parts["street and number"] and not parts["zip code"]:
        return []
    return [name for name, found in parts.items() if not found]


class AddressSlots(BaseModel):
    """A US postal address as the customer wrote it."""

    address1: str = Field(max_length=100, description="Street number and name")
    address2: str = Field("", max_length=100, description="Apartment, suite or unit, or empty")
    city: str = Field(max_length=60)
    state: str = Field(pattern=r"^[A-Za-z]{2}$", description="Two-letter state code")
    zip: str = Field(pattern=r"^\d{5}$", description="Five-digit zip code")


def _as_address(slots: dict[str, str]) -> dict[str, str]:
    return {"address1": slots["address1"].strip(), "address2": (slots.get("address2") or "").strip(),
            "city": slots["city"].strip(), "state": slots["state"].strip().upper(), "country": "USA",
            "zip": slots["zip"].strip()}


def _stated_in(slots: AddressSlots, text: str) -> bool:
    lowered = text.lower()
    return all(value.lower() in lowered for value in slots.model_dump().values() if value)


def parse_address(text: str, model: BaseChatModel) -> dict[str, str] | None:
    """The address in ``text`` in the store's shape, or None when there is no complete one."""
    found = US_ADDRESS.search(text)
    if found:
        return _as_address(found.groupdict())
    if extract.zip_code(text) is None:  # no zip code: not a complete address, don't ask the model
        return None
    prompt = [SystemMessage(prompt_text("address.md")), HumanMessage(text)]
    try:
        slots = model.with_structured_output(AddressSlots, method="json_schema").invoke(prompt)
    except (ModelError, ValueError):
        count_fallback("address")
        return None
    return _as_address(slots.model_dump()) if _stated_in(slots, text) else None
