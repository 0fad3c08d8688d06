"""Mask secrets (card numbers, CVV, IBAN, SSN-like numbers, passwords, API keys) in customer messages."""

from __future__ import annotations

import re
from functools import lru_cache, partial

from agent.guardrails.rules import RuleSet, load_rules
from core.guardrails_config import SecretRule


def luhn_ok(digits: str) -> bool:
    """The card-number checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return len(digits) >= 13 and total % 10 == 0


def iban_ok(text: str) -> bool:
    """The IBAN check digits (ISO 13616 mod 97)."""
    iban = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_VALIDATORS = {"luhn": lambda s: luhn_ok(re.sub(r"\D", "", s)), "iban": iban_ok}


@lru_cache(maxsize=16)
def _pattern(rule: SecretRule) -> re.Pattern[str]:
    return re.compile(rule.pattern, re.IGNORECASE)


def _replacement(rule: SecretRule, match: re.Match[str]) -> str:
    valid = _VALIDATORS.get(rule.validate_with or "")
    if valid is not None and not valid(match[0]):
        return match[0]
    groups = {k: v or "" for k, v in match.groupdict().items()}
    return rule.replace.format(last4=re.sub(r"\D", "", match[0])[-4:], **groups)


def mask_secrets(text: str, *, rules: RuleSet | None = None) -> str:
    """``text`` with every configured kind of secret replaced, so it is never stored, logged or shown to the
    model (a card number keeps its last four digits); ``rules``: the rules in force unless given."""
    for rule in (rules or load_rules()).config.secrets:
        text = _pattern(rule).sub(partial(_replacement, rule), text)
    return text
