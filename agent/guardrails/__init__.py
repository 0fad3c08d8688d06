"""Guardrails: input rails before the model, output rails on every sentence before the customer.

Rules, word lists and thresholds live in ``guardrails.yaml`` (validated by :mod:`agent.guardrails.config`).
"""

from agent.guardrails.config import GuardrailsConfig, load_config
from agent.guardrails.gate import SentenceGate
from agent.guardrails.grounding import Grounding, Receipt, receipts_from
from agent.guardrails.input_rails import InputVerdict, check_input, inspect_input
from agent.guardrails.output_rails import SentenceVerdict, check_sentence, inspect_sentence
from agent.guardrails.secrets import mask_secrets

__all__ = [
    "Grounding",
    "GuardrailsConfig",
    "InputVerdict",
    "Receipt",
    "SentenceGate",
    "SentenceVerdict",
    "check_input",
    "check_sentence",
    "inspect_input",
    "inspect_sentence",
    "load_config",
    "mask_secrets",
    "receipts_from",
]
