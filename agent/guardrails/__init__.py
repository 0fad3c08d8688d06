"""Guardrails: input rails before the model, output rails on every sentence before the customer.

Rules, word lists and thresholds are the ``guardrails`` section of the versioned policy (validated by
:mod:`core.guardrails_config`); the rails run on the section of the version in force (:func:`rules_in_force`).
"""

from agent.guardrails.gate import SentenceGate
from agent.guardrails.grounding import Grounding, Receipt, receipts_from
from agent.guardrails.input_rails import InputVerdict, check_input, inspect_input
from agent.guardrails.output_rails import SentenceVerdict, check_sentence, inspect_sentence
from agent.guardrails.rules import RuleSet, check_guardrails, load_rules, rules_for, rules_in_force
from agent.guardrails.secrets import mask_secrets

__all__ = [
    "Grounding",
    "InputVerdict",
    "Receipt",
    "RuleSet",
    "SentenceGate",
    "SentenceVerdict",
    "check_guardrails",
    "check_input",
    "check_sentence",
    "inspect_input",
    "inspect_sentence",
    "load_rules",
    "mask_secrets",
    "receipts_from",
    "rules_for",
    "rules_in_force",
]
