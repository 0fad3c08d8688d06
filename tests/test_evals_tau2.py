"""tau2-bench retail through the eval runner: the gold agent proves the grader (100% on the train tasks), the
grader fails a wrong database or missing information, and the simulated customer reads only ``user_scenario``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.cases import load_paths
from evals.metrics import compute
from evals.runner import RunOptions, run_cases
from evals.tau2.run import Tau2Case, grade, load_tau2_cases
from evals.tau2.user import ScriptedUser, first_person
from tests.conftest import shared_set


@pytest.fixture(scope="module")
def tasks() -> Path:
    return shared_set("tau2-bench/retail/tasks_train.json")


def test_the_gold_agent_scores_100_percent_on_the_train_tasks(tasks: Path) -> None:
    cases = load_paths([tasks])
    results = run_cases(cases, RunOptions(tau2_agent="gold"), progress=False)
    failures = [(r.id, [m.got for m in r.misses][:2]) for r in results if not r.passed]
    assert len(results) == len(json.loads(tasks.read_text())) == 74
    assert failures == []
    assert compute(results).tau2_success_rate == 1.0


def test_the_grader_fails_an_untouched_database_and_unsaid_information(tasks: Path) -> None:
    cases = {c.id: c for c in load_tau2_cases(tasks)}
    db = json.loads((tasks.parent / "db.json").read_text())
    exchange = grade(cases["0"], db, said=[])  # task 0 exchanges two items; doing nothing is wrong
    assert not exchange.passed and any("exchange" in line for line in exchange.diff)
    task = next(c for c in cases.values() if _info(c, tasks))
    told = grade(task, json.loads(json.dumps(db)), said=["I can't tell you that."])
    assert told.missing_info == _info(task, tasks)


def _info(case: Tau2Case, tasks: Path) -> list[str]:
    raw = {str(t["id"]): t for t in json.loads(tasks.read_text())}
    return list(raw[case.id]["evaluation_criteria"].get("communicate_info") or [])


def test_the_scripted_customer_speaks_from_the_scenario_only() -> None:
    scenario = {"instructions": {
        "domain": "retail", "task_instructions": "You are patient.",
        "reason_for_call": "You received your order #W2378156 and wish to exchange the keyboard for a clicky one.",
        "known_info": "You are Yusuf Rossi in zip code 19122.", "unknown_info": "You do not remember your email.",
    }}
    user = ScriptedUser(scenario)
    assert user.next_message(None) == ("I received my order #W2378156 and wish to exchange the keyboard for a "
                                       "clicky one.")
    assert user.next_message("First I need to verify your account: ...") == (
        "my name is Yusuf Rossi and my zip code is 19122")
    assert user.next_message("To confirm: I'll exchange ... Shall I go ahead? (yes/no)") == "yes"
    assert user.next_message("Which order do you mean? Your delivered orders: ...") == "#W2378156"
    assert user.next_message("Done: order #W2378156 is now exchange requested.") is None


def test_the_scripted_customer_asks_what_it_wants_to_know_before_it_leaves() -> None:
    user = ScriptedUser({"instructions": {
        "reason_for_call": "You want to return the lamp, and you want to know the total refund amount. If the agent "
                           "asks about the reason, you want to know the policy. After the return is complete, ask "
                           "the agent about the total you paid for the remaining items. Ask the agent to hurry.",
        "known_info": "You are Yusuf Rossi in zip code 19122."}})
    user.next_message(None)
    assert user.next_message("To confirm: I'll return ... Shall I go ahead? (yes/no)") == "yes"
    done = "Done: the return for order #W2378156 is started."
    assert [user.next_message(done) for _ in range(3)] == [
        "Can you tell me the total refund amount?", "Can you tell me the total I paid for the remaining items?", None]


def test_first_person_and_user_ids() -> None:
    assert first_person("You want your refund, then tell the agent you are done.") == (
        "I want my refund, then tell you I am done.")
    user = ScriptedUser({"instructions": {"reason_for_call": "x", "known_info": "You are mei_kovacs_8020 living "
                                                                                "in zipcode 28236."}})
    user.next_message(None)
    assert user.next_message("please verify your account") == "my name is Mei Kovacs and my zip code is 28236"


def test_the_scripted_customer_tries_each_way_to_be_identified_it_knows() -> None:
    user = ScriptedUser({"instructions": {"reason_for_call": "x", "known_info": (
        "You are Amelia Silva, and you have two emails: silva7872@example.com and amelia.silva7872@example.com. "
        "You live in Philadelphia, 19117.")}})
    user.next_message(None)
    asked = "First I need to verify your account: please tell me the email address on your account."
    assert [user.next_message(asked) for _ in range(4)] == [
        "my email is silva7872@example.com", "my email is amelia.silva7872@example.com",
        "my name is Amelia Silva and my zip code is 19117", None]


def test_the_scripted_customer_gives_the_reason_its_instructions_keep_until_asked() -> None:
    user = ScriptedUser({"instructions": {
        "task_instructions": "You don't want to reveal the reason for cancellation until the agent asks. If asked "
                             "for reason, say you ordered the items by mistake.",
        "reason_for_call": "You want to cancel all pending orders.", "known_info": "You are Yara Muller in 85041."}})
    assert user.next_message(None) == "I want to cancel all pending orders."
    assert user.next_message("Why would you like to cancel order #W5056519: is it no longer needed, or was it "
                             "ordered by mistake?") == "I ordered it by mistake"


def test_the_scripted_customer_does_at_the_first_confirmation_what_its_scenario_says() -> None:
    user = ScriptedUser({"instructions": {
        "reason_for_call": "You want to cancel the grill, but if the agent asks you to confirm, you regret and want "
                           "to keep it.", "known_info": "You are Sofia Hernandez in zip 98193."}})
    user.next_message(None)
    assert user.next_message("Shall I go ahead? (yes/no)") == "I regret and want to keep it"
    assert user.next_message("Shall I go ahead? (yes/no)") == "yes"
