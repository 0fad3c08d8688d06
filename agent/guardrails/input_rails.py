"""Input rails: what the customer wrote is checked (and secrets masked) before the model sees it."""

from __future__ import annotations

import re

from agent.guardrails.rules import load_rules

_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_SECRET = re.compile(r"\b(password|passcode|pin|cvv|cvc|security code)(\s*(?:is|:|=)\s*)(\S+)", re.IGNORECASE)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def mask_secrets(text: str) -> str:
    """Replace card numbers and stated passwords/PINs so they are never logged or shown to the model."""

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return f"[card ending {digits[-4:]}]" if _luhn_ok(digits) else match.group()

    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", _CARD.sub(card, text))


def check_input(text: str) -> str | None:
    """Name of the input rule the message trips (``injection``, ``creative_off_task``...), or None."""
    return load_rules().first_match(load_rules().input, text)
