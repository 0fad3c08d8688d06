"""Addresses from the customer's words: a pattern first, then the model (JSON-schema constrained), and
every field the model proposes must appear in what the customer wrote."""

from __future__ import annotations

import re
from typing import Any

import zipcodes
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agent.executor import extract
from agent.nodes.understand import extract_order_ids
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


def state_of_zip(zip_code: str) -> str | None:
    """The state a US zip code lies in (the ``zipcodes`` package's data, offline); None for one it doesn't know."""
    states = {found["state"] for found in zipcodes.matching(zip_code)}
    return states.pop() if len(states) == 1 else None


def _state_code(text: str) -> str | None:
    return next((c for c in _STATE_CODE.findall(text) if c in STATES), None)


def with_state(text: str) -> str:
    """``text`` with the state its zip code lies in, when it gives a zip code and no state ("101 Highway, New York,
    10001" is in NY): a zip code lies in one state, so this asks the customer nothing they have not said."""
    zip_code = extract.zip_code(text)
    if not zip_code or _state_code(text) or not (state := state_of_zip(zip_code)):
        return text
    return re.sub(rf"(?<!\d){zip_code}(?!\d)", f"{state} {zip_code}", text, count=1)


def missing_parts(text: str) -> list[str]:
    """The parts of a postal address that ``text`` visibly lacks, when it has started on one (a street line or a
    zip code): "state", "zip code", "street and number". Empty when it gives none of them, or all. A zip code
    gives its state."""
    text = with_state(text)
    parts = {"street and number": extract.street(text), "zip code": extract.zip_code(text), "state": _state_code(text)}
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
    """The address in ``text`` in the store's shape, or None when there is no complete one (the state may be left
    to the zip code)."""
    text = with_state(text)
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


CITY_NICKNAMES = {"NYC": "new york", "new york city": "new york", "big apple": "new york", "LA": "los angeles",
                  "DC": "washington", "SF": "san francisco", "philly": "philadelphia"}
"""Short names customers use for a city on their records ("my NYC address"); those in capitals are matched only
in capitals ("la" is Spanish for "the")."""
_OTHER_ORDER = re.compile(r"\b(?:other|another|previous|last|earlier)\s+(?:\w+\s+)?orders?\b", re.IGNORECASE)
_SAME_AS = re.compile(r"\b(?:same|as\s+(?:in|on|for|of|order|#?W\d))\b", re.IGNORECASE)
_ON_FILE = re.compile(r"\b(?:default|on file|profile|usual)\b|\baccount'?s? address\b|"
                      r"\baddress (?:on|in|of) (?:my|the) account\b", re.IGNORECASE)


def _key(address: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(address.get(k, "")).strip().casefold() for k in ("address1", "address2", "city", "state", "zip"))


def _one(addresses: list[dict[str, Any]]) -> dict[str, str] | None:
    distinct = {_key(a): a for a in addresses}
    return _as_address(next(iter(distinct.values()))) if len(distinct) == 1 else None


def _names_city(text: str, city: str) -> bool:
    names = {city.casefold(), *(short for short, full in CITY_NICKNAMES.items() if full == city.casefold())}
    return any(re.search(rf"\b{re.escape(name)}\b", text, 0 if name.isupper() else re.IGNORECASE)
               for name in names if name)


def address_on_record(text: str, *, account: dict[str, Any], orders: dict[str, dict[str, Any]],
                      current: dict[str, Any]) -> dict[str, str] | None:
    """The one address of the customer's own records, other than ``current`` (the one being changed), that
    ``text`` refers to instead of writing it out: by its city ("my NYC address", "my place in Charlotte"; not when
    it names the city of ``current`` too), as an order's ("the same as order #W..."; "the address in my other
    order"), or as the account's ("my default address", "the one on file"). None when it names none, or more than
    one."""
    others = {order_id: a for order_id, a in orders.items() if _key(a) != _key(current)}
    records = [a for a in (account, *others.values()) if _key(a) != _key(current)]
    if not _names_city(text, str(current.get("city", ""))) and (  # naming both places leaves the new one open
            by_city := _one([a for a in records if _names_city(text, str(a.get("city", "")))])):
        return by_city
    named = [others[order_id] for order_id in extract_order_ids(text) if order_id in others]
    if named and _SAME_AS.search(text):
        return _one(named)
    if _OTHER_ORDER.search(text) and (other := _one(list(others.values()))):
        return other
    return _as_address(account) if _ON_FILE.search(text) and _key(account) != _key(current) else None
