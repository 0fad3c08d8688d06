"""The guardrails config: one validated section, per-rule block/monitor modes, the rules in force per context,
and a fixed reply for every flag."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from pydantic import ValidationError

from agent.guardrails import Grounding, inspect_input, inspect_sentence, load_rules, rules_for, rules_in_force
from agent.guardrails.rules import RuleSet
from agent.prompts import replies
from core.guardrails_config import GuardrailsConfig, bundled_guardrails, bundled_guardrails_text


def bundled() -> dict:
    return yaml.safe_load(bundled_guardrails_text())


def compiled(data: dict) -> RuleSet:
    return rules_for(GuardrailsConfig.model_validate(data))


def test_the_bundled_config_loads_with_every_rule_named_once() -> None:
    config = bundled_guardrails()
    for rail in (config.input, config.output):
        names = [r.name for r in rail]
        assert len(names) == len(set(names))
    assert config.thresholds.evidence_min_similarity == 0.68
    assert {r.flag for r in config.input} >= {"injection", "harmful", "sensitive", "abuse", "off_task"}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["output"][0].update(patterns=["(unclosed"]), "bad pattern"),
        (lambda d: d["input"][0]["patterns"].append("{{no_such_list}}"), "unknown word list"),
        (lambda d: d["output"].append(dict(d["output"][0])), "duplicate rule names"),
        (lambda d: d["input"][0].update(mode="warn"), "mode"),
        (lambda d: d["output"][1].update(check="telepathy"), "check"),
        (lambda d: d["thresholds"].update(evidence_min_similarity=1.5), "evidence_min_similarity"),
        (lambda d: d["words"].update(negations=[False]), "negations"),
    ],
)
def test_a_bad_config_is_refused_with_a_clear_reason(change, complaint: str) -> None:
    data = bundled()
    change(data)
    with pytest.raises(ValidationError, match=complaint):
        GuardrailsConfig.model_validate(data)


def test_a_monitored_output_rule_records_the_hit_and_lets_the_text_through(caplog: pytest.LogCaptureFixture) -> None:
    data = bundled()
    next(r for r in data["output"] if r["name"] == "disparage")["mode"] = "monitor"
    rules = compiled(data)
    sentence = "Northwind is the worst store."
    with caplog.at_level(logging.INFO, logger="agent.guardrails"):
        verdict = inspect_sentence(sentence, Grounding(trusted=True), rules=rules)
    assert verdict.rule is None and verdict.monitored == ("disparage",)
    assert "output rule disparage matched (monitor mode)" in caplog.text and sentence not in caplog.text
    assert inspect_sentence(sentence, Grounding(trusted=True)).rule == "disparage"  # the bundled config still blocks


def test_a_monitored_input_rule_does_not_flag_the_message() -> None:
    data = bundled()
    next(r for r in data["input"] if r["name"] == "creative_writing")["mode"] = "monitor"
    rules = compiled(data)
    verdict = inspect_input("write me a poem", rules=rules, classify=False)  # the rule alone (not the classifier)
    assert verdict.flag is None and verdict.monitored == ("creative_writing",)


def test_thresholds_come_from_the_config() -> None:
    data = bundled()
    data["thresholds"]["prompt_leak_ngram"] = 4
    rules = compiled(data)
    leak = "Answer what they asked first, in short sentences."
    assert inspect_sentence(leak, Grounding(trusted=True), rules=rules).rule == "leak_prompt"
    assert inspect_sentence(leak, Grounding(trusted=True)).rule is None


def test_every_input_flag_has_a_fixed_reply() -> None:
    flags = {r.flag for r in bundled_guardrails().input}
    assert flags <= set(replies()["declined"])


def test_the_rules_in_force_hold_in_their_own_context_only() -> None:
    data = bundled()
    next(r for r in data["output"] if r["name"] == "disparage")["mode"] = "monitor"
    sentence = "Northwind is the worst store."

    def verdict() -> str | None:
        return inspect_sentence(sentence, Grounding(trusted=True)).rule

    with rules_in_force(GuardrailsConfig.model_validate(data)) as rules, ThreadPoolExecutor(1) as pool:
        assert load_rules() is rules and verdict() is None
        assert pool.submit(verdict).result() == "disparage"  # a thread outside this context: bundled rules
    assert verdict() == "disparage"


def test_rules_are_compiled_once_per_config() -> None:
    config = GuardrailsConfig.model_validate(bundled())
    assert rules_for(config) is rules_for(config) is rules_for(bundled_guardrails())  # equal configs share them
    data = bundled()
    data["thresholds"]["prompt_leak_ngram"] = 5
    assert rules_for(GuardrailsConfig.model_validate(data)).thresholds.prompt_leak_ngram == 5
