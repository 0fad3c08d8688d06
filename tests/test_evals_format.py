"""Suite files are validated with pydantic; a bad file names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import FormatError, load_paths
from evals.thresholds import load_thresholds

GOOD = """\
suite: demo
defaults:
  customer: {id: olivia_martin_4821}
  tags: [core]
scenarios:
  - id: status
    turns: ["where is my order #W4821002?"]
    expect:
      tools: [{name: get_order_details, args: {order_id: "#W4821002"}}]
"""


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(FormatError) as caught:
        load_paths([path])
    return str(caught.value)


def test_a_good_file_loads_with_its_defaults(tmp_path: Path) -> None:
    [case] = load_paths([write(tmp_path, GOOD)])
    assert case.suite == "demo" and case.id == "status"
    assert case.scenario is not None and case.scenario.customer.id == "olivia_martin_4821"
    assert case.tags == ["core"]


def test_a_missing_field_names_line_and_path(tmp_path: Path) -> None:
    bad = GOOD.replace("{name: get_order_details, args", "{nam: get_order_details, args")
    message = error_of(write(tmp_path, bad))
    assert "suite.yaml:9: scenarios[0].expect.tools[0].name: Field required" in message
    assert "suite.yaml:9: scenarios[0].expect.tools[0].nam: Extra inputs are not permitted" in message


def test_a_wrong_type_deep_in_the_file(tmp_path: Path) -> None:
    bad = GOOD + """\
  - id: second
    turns: ["hi"]
    max_turns: lots
    expect:
      escalation: {handoff: maybe}
"""
    message = error_of(write(tmp_path, bad))
    assert "suite.yaml:12: scenarios[1].max_turns: Input should be a valid integer" in message
    assert "suite.yaml:14: scenarios[1].expect.escalation.handoff: Input should be a valid boolean" in message


def test_an_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "suite: x\nscenarioz: []\n"))
    assert "suite.yaml:2: scenarioz: Extra inputs are not permitted" in message


def test_yaml_syntax_and_duplicate_keys_give_the_line(tmp_path: Path) -> None:
    assert "broken.yaml:3" in error_of(write(tmp_path, "suite: x\nscenarios:\n  - id: a: b\n", "broken.yaml"))
    duplicate = "suite: x\nsuite: y\nscenarios: []\n"
    assert "dup.yaml:2: duplicate key 'suite'" in error_of(write(tmp_path, duplicate, "dup.yaml"))


def test_empty_turns_and_duplicate_ids(tmp_path: Path) -> None:
    empty = GOOD.replace('turns: ["where is my order #W4821002?"]', "turns: []")
    assert "suite.yaml:7: scenarios[0].turns: List should have at least 1 item" in error_of(write(tmp_path, empty))
    folder = tmp_path / "twice"
    folder.mkdir()
    write(folder, GOOD, "a.yaml")
    write(folder, GOOD.replace("suite: demo", "suite: other"), "b.yaml")
    assert "ids used more than once: status" in error_of(folder)


def test_include_that_matches_nothing(tmp_path: Path) -> None:
    assert "include 'nothing*.yaml' matches no file" in error_of(
        write(tmp_path, "suite: x\ninclude: ['nothing*.yaml']\n"))


def test_threshold_files_are_checked_too(tmp_path: Path) -> None:
    path = write(tmp_path, "min:\n  task_success_rate: 0.9\n  task_sucess: 0.5\n", "limits.yaml")
    with pytest.raises(FormatError, match=r"limits.yaml:1: min: Value error, unknown metric\(s\) \['task_sucess'\]"):
        load_thresholds(path)


def test_every_shipped_suite_is_valid() -> None:
    cases = load_paths([Path("evals/suites/core"), Path("evals/suites/escalation.yaml")])
    core = [c for c in cases if "core" in c.tags]
    labelled = [c for c in cases if {"must-escalate", "must-not-escalate"} & set(c.tags)]
    assert len(core) >= 80 and len(labelled) == len([c for c in cases if c.suite == "escalation"])
