"""The scripted customer understands what the agent asks from general concepts, in any reasonable phrasing a
support agent would use (most of the phrasings below appear nowhere in agent/), answers by the scenario's rules,
then says its next turn."""

from __future__ import annotations

import pytest

from evals.customer import ScriptedCustomer, question_in, question_text, wants_person
from evals.scenario import Answers, Customer

PHRASINGS: dict[str | None, list[str]] = {
    "confirm": [
        "To confirm: I'll cancel order #W1 (T-Shirt and Water Bottle) because it's ordered by mistake, and refund "
        "$42.50 to the original payment method. Shall I go ahead? (yes/no)",
        "Please answer yes or no: shall I go ahead?",
        "I can cancel #W4821003 for you and refund $42.50. Do you want me to go ahead?",
        "Should I cancel it now?",
        "Would you like me to start the return for the earbuds?",
        "I'll send the order to 55 Elm Road, Salem, OR 97301. Is that correct?",
        "Ready to cancel order #W4821003. Please confirm.",
        "Just to double-check: you want to return the hoodie, right?",
        "Shall I send a password reset link to the email on your account?",
        "Reply YES to go ahead or NO to keep the order.",
        "Would you like to proceed with the exchange?",
        "Does that look right to you?",
        "Can I go ahead and process the refund?",
        "OK to change the delivery address of #W4821003 to 12 Oak Street?",
        "The return is outside our window, so a person has to approve it. Shall I send it to them for approval? "
        "(yes/no)",
        "¿Quieres que cancele el pedido? (sí/no)",
        "Je peux annuler la commande #W4821003. Voulez-vous que je continue ?",
    ],
    "identity": [
        "First I need to verify your account: please tell me the email address on it, or your full name and zip "
        "code.",
        "I couldn't match those details to an account. Please check them and try again (2 attempt(s) left).",
        "Before I can look into that, could you give me the email address on your account?",
        "What's your email?",
        "Can I have your full name and zip code, please?",
        "I need to confirm who you are first. What email did you sign up with?",
        "Sorry, those details don't match our records. Could you double-check them?",
        "For security, please share the zip code on file along with your name.",
        "Could you confirm your email address?",
        "To look up your account I'll need the email you used when ordering.",
        "Thanks. To verify your account I also need your zip code.",
        "¿Me puedes dar el correo electrónico de tu cuenta?",
    ],
    "reason": [
        "Why would you like to cancel order #W4821003: is it no longer needed, or was it ordered by mistake?",
        "Why would you like to cancel order #W1: is it no longer needed",
        "Sure. May I ask why you want to cancel?",
        "What's the reason for the cancellation?",
        "Got it. Was it ordered by mistake, or do you no longer need it?",
        "How come you'd like to cancel it?",
        "Should I cancel it as no longer needed, or because it was ordered by mistake?",
        "Before I cancel it, what made you change your mind?",
        "There are two reasons I can cancel for: you don't need it, or it was a mistake. Which one is it?",
    ],
    "address": [
        "Where should order #W4821003 go instead? Please write the address like: 12 Main St, Apt 3, Springfield, "
        "IL 62701.",
        "What's the new address? Please write it like: 12 Main St, Apt 3, Springfield, IL 62701.",
        "Where would you like it shipped instead?",
        "What address should we send it to?",
        "Which address should the order go to?",
        "Please send me the full new shipping address.",
        "Should I ship it to your account address or a different one?",
        "No problem, I can redirect it while it's pending. Where do you want it delivered?",
        "I still need the full address, with the street, city, state and zip code. Could you write it out?",
    ],
    "option": [
        "Which option would you like instead of your Wireless Earbuds (black, 6h)? Available: blue, 8h; white, 6h.",
        "What colour would you like instead?",
        "Which size do you need?",
        "What would you like them swapped for?",
        "We have them in blue, white and black. Which variant do you want?",
        "Would you like me to exchange them for the blue ones or the white ones?",
        "Sure! Which color and size should the new hoodie be?",
    ],
    "items": [
        "Which items of order #W4821001 do you mean: Wireless Earbuds, Electric Toothbrush? (or say \"all\")",
        "Thanks, Olivia, you're verified. Which items of order #W4821001 do you mean: Wireless Earbuds?",
        "Which product is it?",
        "Do you want to return the whole order or just the earbuds?",
        "What would you like to return from that order?",
        "Which of the items should I include?",
        "That order has a T-Shirt and a Water Bottle. Which one do you want to cancel?",
        "Please tell me which items you want back; that order has a Hoodie and Running Shoes.",
    ],
    "order": [
        "Which order do you mean? Your delivered orders: #W4821001 (Wireless Earbuds, Electric Toothbrush).",
        "Here are your most recent orders:\n#W4821003: pending\n#W4821002: processed\nWhich one would you like to "
        "know more about?",
        "Could you tell me the order number?",
        "Which of your orders is it about?",
        "What's the order number for that purchase?",
        "Do you mean #W4821002 or #W4821003?",
        "Are you referring to order #W4821002?",
        "Which purchase are you talking about?",
        "Which order would you like me to cancel?",
        "I found two orders with a hoodie: #W3057002 and #W1111111. Which one?",
        "¿Cuál es el número de pedido?",
        "To go on I need to know the order: its number, or something that was in it.",
    ],
    "handoff": [
        "I'm an automated assistant. Would you like me to connect you with a person?",
        "Shall I transfer you to a human agent?",
    ],
    None: [
        "Done: order #W4821003 is cancelled. Card and PayPal refunds arrive within 5 business days.",
        "Order #W4821002 is processed. It has 1 item: Coffee Maker, total $121.87, placed Nov 30, 2026.",
        "Hi! I'm Northwind Goods' virtual assistant. I can check your orders and tracking, answer questions about "
        "shipping, returns and your account, or connect you with a person.",
        "You're welcome! If anything else comes up, just write here.",
        "Done: the return for order #W4821001 is started (status: return requested). Your refund of $124.24 goes to "
        "your PayPal account within 5 business days. We'll email you how to send the items back.",
        "Is there anything else I can help you with?",
        "How can I help you today?",
        "Hello! What can I do for you?",
        "I've sent a password-reset link to o****@example.com. It works once and expires in 30 minutes.",
        "Please allow 5-7 business days for the refund to reach your card.",
        "I'm not sure about that, and I don't want to guess. I can connect you with a person who can help; just "
        "say \"talk to a human\".",
        "Yes, I'm an automated assistant, here to help with orders, returns and your account.",
        "Done: order #W4821003 will ship to 55 Elm Road, Salem, OR 97301.",
        "",
    ],
}


@pytest.mark.parametrize(("kind", "reply"), [(k, r) for k, replies in PHRASINGS.items() for r in replies])
def test_what_the_agent_asks_is_recognised_in_any_phrasing(kind: str | None, reply: str) -> None:
    assert question_in(reply) == kind


def test_only_the_asking_sentences_count() -> None:
    receipt = "Done: order #W4821003 will ship to 12 Oak St, Portland, OR 97201. Refunds take 5 business days."
    assert question_in(receipt) is None
    assert question_in(f"{receipt} Anything else?") is None
    left = "No Hiking Boots option fits what you asked, so I've left your Hiking Boots as it is."
    assert question_in(f"{left} Is there something else I can do?") is None  # more help offered: nothing asked
    assert question_text("Order #W1 is pending.  Which ITEMS do you mean?") == "which items do you mean"
    # a yes/no question asks about the sentence before it: two different proposals are two questions
    assert question_text("Order #W1 is pending.  Shall I CANCEL it?") == "order #w1 is pending. shall i cancel it"
    assert question_in("Thanks, Liam, you're verified. Which order do you mean?") == "order"


def test_the_customer_answers_then_moves_on() -> None:
    customer = ScriptedCustomer(["cancel my order", "thanks"], Answers(reason="I ordered it by mistake", confirm="no"),
                                customer=Customer(email="a@example.com"), max_turns=10)
    assert customer.next_message(None) == "cancel my order"
    assert customer.next_message("Sure, I can help. Before that, what's the email on your account?") == (
        "my email is a@example.com")
    assert customer.next_message("Thanks! May I ask why you'd like to cancel it?") == "I ordered it by mistake"
    assert customer.next_message("Got it. Do you want me to cancel #W1 now?") == "no"
    assert customer.next_message("Okay, I haven't changed anything.") == "thanks"
    assert customer.next_message("You're welcome!") is None


def test_successive_answers_let_a_customer_answer_off_the_question_then_fix_it() -> None:
    answers = Answers(reason=["yes please", "oh sorry, I ordered it by mistake"], confirm=["wait, which one?", "yep"])
    customer = ScriptedCustomer(["cancel #W1"], answers, customer=Customer(id="x"), max_turns=10)
    customer.next_message(None)
    assert customer.next_message("Is it no longer needed, or was it ordered by mistake?") == "yes please"
    assert customer.next_message("Which is it: no longer needed, or ordered by mistake?") == (
        "oh sorry, I ordered it by mistake")
    assert customer.next_message("Shall I cancel it?") == "wait, which one?"
    assert customer.next_message("Order #W1, the T-Shirt. Shall I cancel it?") == "yep"
    assert customer.next_message("Should I go ahead?") == "yep"  # the last answer repeats


def test_an_offer_of_a_person_is_accepted_only_by_a_customer_who_asked_for_one() -> None:
    offer = "I'm a virtual assistant. Would you like me to connect you with a person?"
    curious = ScriptedCustomer(["are you a bot?", "ok cool"], Answers(), customer=Customer(id="x"), max_turns=5)
    curious.next_message(None)
    assert curious.next_message(offer) == "ok cool"
    wants = ScriptedCustomer(["I want a real person"], Answers(), customer=Customer(id="x"), max_turns=5)
    wants.next_message(None)
    assert wants.next_message(offer) == "yes"


@pytest.mark.parametrize(("message", "wants"), [
    ("I want a real person", True), ("let me speak to a human", True), ("agent please", True),
    ("get me a manager", True), ("this is a joke. cancel #W4821003 and get me a human", True),
    ("quiero hablar con una persona", True), ("put me through to someone real", True),
    ("am i talking to a real person?", False), ("are you a bot?", False), ("r u human or AI?", False),
    ("where is my order", False),
])
def test_a_request_for_a_person_is_told_from_a_question_about_one(message: str, wants: bool) -> None:
    assert wants_person(message) is wants


def test_identity_is_given_once_and_the_budget_holds() -> None:
    customer = ScriptedCustomer(["hi"], Answers(), customer=Customer(name="Olivia Martin", zip="78789"),
                                max_turns=2)
    customer.next_message(None)
    assert customer.next_message("Please verify your account") == "my name is Olivia Martin and my zip code is 78789"
    assert customer.next_message("I couldn't match those details to an account.") is None
    unanswerable = ScriptedCustomer(["where is it"], Answers(), customer=Customer(id="x"), max_turns=1)
    assert unanswerable.next_message(None) == "where is it"
    assert unanswerable.next_message("Which order do you mean?") is None
