"""The guarded writer: what reaches the stream when a reply says a sentence twice."""

from __future__ import annotations

from agent.events import TextDelta
from agent.guardrails import Grounding
from agent.streaming import GuardedWriter

TRUSTED = Grounding(trusted=True)
MEANING = "It hasn't been prepared yet, so it can still be cancelled or sent to another address."


def test_code_text_may_say_a_sentence_twice_and_nothing_after_it_is_lost() -> None:
    events: list[object] = []
    writer = GuardedWriter(events.append, TRUSTED)
    said = f"Order #W4776164 is pending. {MEANING} Order #W6247578 is pending. {MEANING} It has 1 item: T-Shirt."
    assert writer.stream([said], grounding=TRUSTED)
    assert writer.stream([" Shall I go ahead? (yes/no)"], grounding=TRUSTED)
    assert writer.shown == f"{said} Shall I go ahead? (yes/no)"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == writer.shown


def test_model_text_that_loops_is_cut_at_the_repeat_and_the_question_after_it_is_still_asked() -> None:
    writer = GuardedWriter(lambda _: None, Grounding(facts="Your order ships in 2 days."))
    looping = ["Your order ships in 2 days. ", "Thanks for waiting. ", "Your order ships in 2 days. ", "Thanks for"]
    assert writer.stream(looping)
    assert writer.shown == "Your order ships in 2 days. Thanks for waiting. "
    assert writer.stream([" Anything else?"], grounding=TRUSTED)
    assert " ".join(writer.shown.split()) == "Your order ships in 2 days. Thanks for waiting. Anything else?"
