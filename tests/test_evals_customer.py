"""The scripted customer answers the agent's questions by the scenario's rules, then says its next turn."""

from __future__ import annotations

from evals.customer import ScriptedCustomer, question_in
from evals.scenario import Answers, Customer


def test_questions_are_recognised() -> None:
    assert question_in("First I need to verify your account: please tell me the email address") == "identity"
    assert question_in("To confirm: I'll cancel order #W1. Shall I go ahead? (yes/no)") == "confirm"
    assert question_in("Which items of order #W4821001 do you mean: Wireless Earbuds?") == "items"
    assert question_in("Why would you like to cancel order #W4821003: is it no longer needed") == "reason"
    assert question_in("Where should order #W4821003 go instead? Please write the address") == "address"
    assert question_in("Order #W4821002 is processed.") is None


def test_the_customer_answers_then_moves_on() -> None:
    customer = ScriptedCustomer(["cancel my order", "thanks"], Answers(reason="I ordered it by mistake", confirm="no"),
                                customer=Customer(email="a@example.com"), max_turns=10)
    assert customer.next_message(None) == "cancel my order"
    assert customer.next_message("First I need to verify your account.") == "my email is a@example.com"
    assert customer.next_message("Why would you like to cancel order #W1: ...") == "I ordered it by mistake"
    assert customer.next_message("To confirm: ... (yes/no)") == "no"
    assert customer.next_message("Okay, I haven't changed anything.") == "thanks"
    assert customer.next_message("You're welcome!") is None


def test_identity_is_given_once_and_the_budget_holds() -> None:
    customer = ScriptedCustomer(["hi"], Answers(), customer=Customer(name="Olivia Martin", zip="78789"),
                                max_turns=2)
    customer.next_message(None)
    assert customer.next_message("verify your account") == "my name is Olivia Martin and my zip code is 78789"
    assert customer.next_message("I couldn't match those details to an account.") is None
    unanswerable = ScriptedCustomer(["where is it"], Answers(), customer=Customer(id="x"), max_turns=1)
    assert unanswerable.next_message(None) == "where is it"
    assert unanswerable.next_message("Which order do you mean?") is None
