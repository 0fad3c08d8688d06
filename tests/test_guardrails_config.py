"""The guardrails config: one validated file, per-rule block/monitor modes, and a fixed reply for every flag."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agent.guardrails import Grounding, inspect_input, inspect_sentence, load_config
from agent.guardrails.rules import load_rules
from agent.prompts import replies


def bundled() -> dict:
    return yaml.safe_load(resources.files("agent.guardrails").joinpath("guardrails.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "guardrails.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_bundled_config_loads_with_every_rule_named_once() -> None:
    config = load_config()
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
def test_a_bad_config_fails_at_load_with_a_clear_reason(tmp_path: Path, change, complaint: str) -> None:
    data = bundled()
    change(data)
    with pytest.raises(ValidationError, match=complaint):
        load_config(write(tmp_path, data))


def test_a_monitored_output_rule_records_the_hit_and_lets_the_text_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = bundled()
    next(r for r in data["output"] if r["name"] == "disparage")["mode"] = "monitor"
    rules = load_rules(write(tmp_path, data))
    sentence = "Northwind is the worst store."
    with caplog.at_level(logging.INFO, logger="agent.guardrails"):
        verdict = inspect_sentence(sentence, Grounding(trusted=True), rules=rules)
    assert verdict.rule is None and verdict.monitored == ("disparage",)
    assert "output rule disparage matched (monitor mode)" in caplog.text and sentence not in caplog.text
    assert inspect_sentence(sentence, Grounding(trusted=True)).rule == "disparage"  # the bundled file still blocks


def test_a_monitored_input_rule_does_not_flag_the_message(tmp_path: Path) -> None:
    data = bundled()
    next(r for r in data["input"] if r["name"] == "creative_writing")["mode"] = "monitor"
    rules = load_rules(write(tmp_path, data))
    verdict = inspect_input("write me a poem", rules=rules)
    assert verdict.flag is None and verdict.monitored == ("creative_writing",)


def test_thresholds_come_from_the_config(tmp_path: Path) -> None:
    data = bundled()
    data["thresholds"]["prompt_leak_ngram"] = 4
    rules = load_rules(write(tmp_path, data))
    leak = "Answer in short sentences using only the facts."
    assert inspect_sentence(leak, Grounding(trusted=True), rules=rules).rule == "leak_prompt"
    assert inspect_sentence(leak, Grounding(trusted=True)).rule is None


def test_every_input_flag_has_a_fixed_reply() -> None:
    flags = {r.flag for r in load_config().input}
    assert flags <= set(replies()["declined"])
