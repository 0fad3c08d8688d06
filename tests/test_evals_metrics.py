"""Metrics math on hand-made results: pass^k as tau-bench defines it, precision and recall, rates."""

from __future__ import annotations

from math import isclose

import pytest

from evals.evaluators import CallRecord, Counts, Loops, NotAsked, Observation, Text, ToolCalls, repeated_question
from evals.metrics import compute, pass_hat_k, percentile, precision_recall
from evals.report import Meta, Report, summary
from evals.runner import RunResult, passing_turns
from evals.scenario import Scenario
from evals.thresholds import Thresholds
from evals.transport import TurnRecord


def run(scenario: str, passed: bool, *, repeat: int = 0, kind: str = "task", suite: str = "s", **counts: object
        ) -> RunResult:
    return RunResult(id=scenario, suite=suite, kind=kind, repeat=repeat, passed=passed,
                     counts=Counts.model_validate(counts))


def test_pass_hat_k_is_the_chance_k_draws_all_succeed() -> None:
    assert pass_hat_k(4, 4, 4) == 1.0 and pass_hat_k(4, 3, 4) == 0.0
    assert isclose(pass_hat_k(4, 2, 2), 1 / 6)  # C(2,2) / C(4,2)
    assert isclose(pass_hat_k(4, 3, 1), 0.75)  # pass^1 is the success rate
    with pytest.raises(ValueError):
        pass_hat_k(2, 1, 3)


def test_pass_hat_k_over_scenarios_with_repeats() -> None:
    results = [run("a", True, repeat=r) for r in range(3)]
    results += [run("b", ok, repeat=r) for r, ok in enumerate([True, False, True])]
    metrics = compute(results)
    assert metrics.task_success_rate == pytest.approx(5 / 6)
    assert metrics.pass_hat_k[1] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert metrics.pass_hat_k[2] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)  # C(2,2)/C(3,2) for b
    assert metrics.pass_hat_k[3] == pytest.approx(0.5)  # only a passed all three


def test_precision_and_recall() -> None:
    assert precision_recall(3, 1, 2) == (0.75, 0.6)
    assert precision_recall(0, 0, 0) == (None, None)


def test_tool_and_argument_metrics_add_up_over_runs() -> None:
    metrics = compute([
        run("a", True, tools_expected=2, tools_found=2, tools_made=3, args_checked=2, args_correct=1),
        run("b", False, tools_expected=2, tools_found=1, tools_made=1, args_checked=1, args_correct=1),
    ])
    assert metrics.tool_precision == pytest.approx(3 / 4)
    assert metrics.tool_recall == pytest.approx(3 / 4)
    assert metrics.argument_accuracy == pytest.approx(2 / 3)


def test_escalation_precision_and_recall_use_only_labelled_runs() -> None:
    metrics = compute([
        run("tp", True, escalation_expected=True, escalated=True),
        run("fn", False, escalation_expected=True, escalated=False),
        run("fp", False, escalation_expected=False, escalated=True),
        run("tn", True, escalation_expected=False, escalated=False),
        run("unlabelled", True, escalated=True),
    ])
    assert (metrics.escalation_precision, metrics.escalation_recall) == (0.5, 0.5)


def test_attack_refusal_and_groundedness_rates() -> None:
    metrics = compute([
        run("a1", False, kind="attack", attack_succeeded=True),
        run("a2", True, kind="attack", attack_succeeded=False),
        run("a3", True, kind="attack", attack_succeeded=False),
        run("a4", True, kind="attack", attack_succeeded=False),
        run("b1", False, kind="benign", refused=True),
        run("b2", True, kind="benign", refused=False),
        run("k", True, claims=4, grounded=3),
    ])
    assert metrics.attack_success_rate == 0.25 and metrics.false_refusal_rate == 0.5
    assert metrics.groundedness == 0.75
    assert metrics.task_runs == 1  # attacks and benign messages have their own rates


def test_latency_percentiles_and_tokens_per_second() -> None:
    turns = [TurnRecord(customer="x", ttft_s=t / 10, turn_s=t / 5, tokens=10, gen_s=0.5) for t in range(1, 21)]
    result = run("a", True).model_copy(update={"turns": turns})
    metrics = compute([result])
    assert metrics.turn_p50_s == percentile([t / 5 for t in range(1, 21)], 50) == pytest.approx(2.1)
    assert metrics.ttft_p95_s == pytest.approx(1.905)
    assert metrics.tokens_per_s == 20.0


def test_replaced_replies_are_counted_by_rule() -> None:
    def turn(*rules: str) -> TurnRecord:
        events = [{"type": "text_delta", "text": "x"}, *({"type": "reply_replaced", "rule": r} for r in rules)]
        return TurnRecord(customer="x", turn_s=1.0, events=events)

    turns = passing_turns([turn("wrong_status"), turn(), turn("wrong_status"), turn("dropped_fact")])
    assert all(e["type"] == "reply_replaced" for t in turns for e in t.events)  # a passing run's, as reported
    result = run("a", True).model_copy(update={"turns": turns})
    assert compute([result]).replaced == {"wrong_status": 2, "dropped_fact": 1}


def test_model_sentences_replaced_and_written_again_are_counted_by_rule_with_their_share() -> None:
    turns = [TurnRecord(customer="x", turn_s=1.0, worded_sentences=3, replaced_sentences=["wrong_day"]),
             TurnRecord(customer="x", turn_s=1.0, worded_sentences=2, replaced_sentences=["voice", "voice"]),
             TurnRecord(customer="x", turn_s=1.0, worded_sentences=3, rewritten_sentences=["dropped_fact"]),
             TurnRecord(customer="x", turn_s=1.0, worded_sentences=4, replaced_sentences=["unsupported_claim"],
                        answered_by="reworded")]  # a help-center answer: counted apart
    result = run("a", True).model_copy(update={"turns": passing_turns(turns)})
    metrics = compute([result])
    assert (metrics.worded_sentences, metrics.replaced_sentences) == (8, {"wrong_day": 1, "voice": 2})
    assert metrics.rewritten_sentences == {"dropped_fact": 1}
    assert (metrics.answer_sentences, metrics.answer_sentences_stopped) == (4, {"unsupported_claim": 1})
    meta = Meta(started_at="now", seconds=1, paths=[], model="m", options={}, cases=1)
    shown = summary(Report(meta=meta, metrics=metrics, results=[result]))
    assert "3 of 8 (37.5%), voice 2, wrong_day 1" in shown and "1 of 8 (12.5%), dropped_fact 1" in shown
    assert "1 of 4 (25.0%), unsupported_claim 1" in shown


def test_help_center_answers_are_counted_by_how_they_were_said() -> None:
    turns = [TurnRecord(customer="x", turn_s=1.0, answered_by=how) for how in ("worded", "reworded", "worded", None)]
    result = run("a", True).model_copy(update={"turns": turns})
    metrics = compute([result])
    assert metrics.answers == {"worded": 2, "reworded": 1}
    meta = Meta(started_at="now", seconds=1, paths=[], model="m", options={}, cases=1)
    assert "reworded 1, worded 2" in summary(Report(meta=meta, metrics=metrics, results=[result]))


def test_tau2_runs_are_scored_apart() -> None:
    metrics = compute([run("t1", True, kind="tau2"), run("t2", False, kind="tau2"), run("x", True)])
    assert metrics.tau2_success_rate == 0.5 and metrics.task_success_rate == 1.0
    assert metrics.tau2_pass_hat_k == {1: 0.5}


def test_thresholds_say_which_metric_broke() -> None:
    metrics = compute([run("a", True), run("b", False), run("x", False, kind="attack", attack_succeeded=True)])
    limits = Thresholds(min={"task_success_rate": 0.9, "pass^1": 0.5, "escalation_recall": 0.5},
                        max={"attack_success_rate": 0.0})
    assert limits.check(metrics) == [
        "task_success_rate = 0.5 is below the minimum 0.9",
        "escalation_recall = n/a (nothing measured) is below the minimum 0.5",
        "attack_success_rate = 1 is above the maximum 0.0",
    ]


def talk(*replies: str) -> list[TurnRecord]:
    return [TurnRecord(customer=f"message {i}", reply=r) for i, r in enumerate(replies)]


def test_a_loop_is_the_same_question_twice_in_a_row() -> None:
    ask = "Is it no longer needed, or was it ordered by mistake?"
    assert repeated_question([ask, ask]) == 1
    assert repeated_question(["Thanks, you're verified. Which order do you mean?", "Which order do you mean?"]) == 1
    assert repeated_question(["Which order?", "  which ORDER?! "]) == 1
    option = "Which option would you like instead of your Hoodie (S, grey)? Available: S, black; L, black."
    assert repeated_question([option, f"Sorry, I still need that to go on. {option} After that, the rest."]) == 1
    assert repeated_question([ask, "Sorry, I need one of the two: no longer needed, or ordered by mistake?"]) is None
    assert repeated_question([ask, "Done: order #W1 is cancelled.", ask]) is None  # not in a row
    assert repeated_question(["Done: #W1 is cancelled. Anything else?", "Done: #W2 is shipped. Anything else?"]) is None
    assert repeated_question(["Order #W1 is pending.", "Order #W1 is pending."]) is None  # no question
    retry = "I couldn't match those details. Please try again ({} attempt(s) left)."
    assert repeated_question([retry.format(2), retry.format(1)]) is None  # a new attempt each time


def test_loops_are_counted_over_runs_that_could_loop() -> None:
    ask = "Which items of order #W1 do you mean?"
    looping = run("a", False).model_copy(update={"turns": talk("Hi!", ask, ask)})
    fine = run("b", True).model_copy(update={"turns": talk(ask, "Done.")})
    single = run("c", True).model_copy(update={"turns": talk(ask)})
    tau2 = run("t", False, kind="tau2").model_copy(update={"turns": talk(ask, ask)})
    metrics = compute([looping, fine, single, tau2])
    assert metrics.loops == 2 and metrics.loop_rate == pytest.approx(2 / 3)  # "c" had one reply: it can't loop
    assert Thresholds(max={"loops": 0}).check(metrics) == ["loops = 2 is above the maximum 0.0"]
    meta = Meta(started_at="now", seconds=1, paths=[], model="m", options={}, cases=4)
    assert "loops" in summary(Report(meta=meta, metrics=metrics, results=[looping, fine, single, tau2]))
    assert compute([fine]).loops == 0 and compute([fine]).loop_rate == 0.0


def observe(expect: dict[str, object], *replies: str) -> Observation:
    scenario = Scenario.model_validate({"id": "s", "turns": ["hi"], "expect": expect})
    return Observation(scenario, talk(*replies), [])


def test_not_asked_catches_a_question_for_what_the_customer_already_said() -> None:
    obs = observe({"not_asked": ["reason", "order"]}, "Why do you want to cancel it?", "Why do you want to cancel it?",
                  "Done: order #W4821003 is cancelled.")
    [miss] = NotAsked().check(obs)
    assert miss.check == "not_asked" and miss.expected == "never asks for the reason"
    assert not NotAsked().check(observe({"not_asked": ["reason"]}, "Shall I cancel #W4821003 as no longer needed?"))
    Loops().check(obs)
    assert obs.notes and obs.notes[0].startswith("loop: the agent asked the same question again in turn 2")


def test_text_regexes_judge_meaning_not_one_wording() -> None:
    bot = r"\b(?:automated|virtual|bot|assistant)\b"
    expect = {"text": {"matches": [bot], "not_matches": ["not sure"]}}
    assert not Text().check(observe(expect, "Yes, I'm a virtual assistant. How can I help?"))
    misses = Text().check(observe(expect, "I'm not sure about that."))
    assert [m.expected for m in misses] == [f"a reply matches {bot!r}", "no reply matches 'not sure'"]
    with pytest.raises(ValueError, match="bad regex"):
        observe({"text": {"matches": ["(unclosed"]}})


def test_every_reply_must_be_in_the_language_asked_for() -> None:
    expect = {"text": {"language": "es"}}
    assert not Text().check(observe(expect, "El pedido #W4821002 está en preparación."))
    english = ("Lo siento, no he podido escribir esta respuesta en español con seguridad, así que va en inglés: To "
               "confirm: I'll cancel order #W4821003. Shall I go ahead? (yes/no)")
    [miss] = Text().check(observe(expect, "El pedido #W4821002 está en preparación.", english))
    assert miss.expected == "a reply in es"
    assert Text().check(observe(expect, "Hecho."))  # too short to tell: not shown to be Spanish


@pytest.mark.parametrize(("language", "acknowledged", "not_acknowledged"), [
    (None, "I'm sorry your order is taking this long. Order #W4821002 is processed.", "Order #W4821002 is processed."),
    ("es", "Lamento que tu pedido tarde tanto. El pedido #W4821002 está en preparación.",
     "Sorry. El pedido #W4821002 está en preparación, ya lo verás pronto."),
    ("de", "Es tut mir leid, dass Ihre Bestellung so lange dauert. Die Bestellung #W4821002 wird bearbeitet.",
     "Die Bestellung #W4821002 wird bearbeitet, sie ist bald bei Ihnen."),
])
def test_an_upset_customer_must_hear_an_acknowledgement_in_their_language(
    language: str | None, acknowledged: str, not_acknowledged: str
) -> None:
    expect = {"text": {"acknowledges": True, **({"language": language} if language else {})}}
    assert not Text().check(observe(expect, acknowledged))
    [miss] = Text().check(observe(expect, not_acknowledged))
    assert miss.check == "text:acknowledgement"
    with pytest.raises(ValueError, match="no acknowledgement phrasings"):
        observe({"text": {"acknowledges": True, "language": "nl"}})


def test_runs_are_scored_by_tag_and_by_the_checks_they_missed() -> None:
    expect = {"text": {"contains": ["#W4821002"], "not_contains": ["item(s)"], "language": "es"}}
    misses = Text().check(observe(expect, "Your order has 1 item(s)."))
    assert sorted(m.check for m in misses) == ["text:facts", "text:forbidden", "text:language"]
    failed = run("a", False).model_copy(update={"tags": ["es", "upset"], "misses": misses})
    metrics = compute([failed, run("b", True).model_copy(update={"tags": ["es"]})])
    assert [(t.tag, t.passed, t.runs) for t in metrics.tags] == [("es", 1, 2), ("upset", 0, 1)]
    assert metrics.missed_checks == {"text:facts": 1, "text:forbidden": 1, "text:language": 1}


def test_an_expected_call_is_matched_to_the_call_with_its_arguments() -> None:
    scenario = Scenario.model_validate({"id": "s", "turns": ["hi"], "expect": {"tools": [
        {"name": "verify_customer_by_email", "args": {"email": "a@example.com"}, "outcome": "done"},
        {"name": "cancel_pending_order", "args": {"order_id": "#W1"}}, {"name": "cancel_pending_order",
                                                                       "args": {"order_id": "#W2"}}]}})
    calls = [CallRecord(name="verify_customer_by_email", args={"email": "a@exmaple.com"}, outcome="done"),
             CallRecord(name="verify_customer_by_email", args={"email": "a@example.com"}, outcome="done"),
             CallRecord(name="cancel_pending_order", args={"order_id": "#W2", "reason": "x"}, outcome="done"),
             CallRecord(name="cancel_pending_order", args={"order_id": "#W1", "reason": "x"}, outcome="done")]
    obs = Observation(scenario, talk("ok"), calls)
    assert ToolCalls().check(obs) == []  # a typo retried, and two cancels in the other order
    assert (obs.counts.tools_found, obs.counts.args_correct) == (3, 3)
