"""Guardrails: input rails before the model, output rails on every sentence before the customer."""

from agent.guardrails.gate import SentenceGate
from agent.guardrails.input_rails import check_input, mask_secrets
from agent.guardrails.output_rails import Grounding, check_sentence

__all__ = ["Grounding", "SentenceGate", "check_input", "check_sentence", "mask_secrets"]
