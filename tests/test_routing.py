"""Intent routing: the plain requests of the foundation, and a regression gate on real customer phrasings."""

from __future__ import annotations

import pytest

from agent.routing import IntentRouter
from core.embeddings import get_embedder
from evals.routing import evaluate, load_cases
from tests.conftest import shared_set


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return IntentRouter(get_embedder())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Where is my order #W4821002?", "order_status"),
        ("has my package shipped", "order_status"),
        ("I want to talk to a human", "human_agent"),
        ("can i speak w someone real", "human_agent"),
        ("how long do I have to return an item?", "policy_question"),
        ("I want to return my headphones", "return_refund"),
        ("please cancel my order", "cancel_order"),
        ("I forgot my password", "account_password"),
        ("I was charged twice", "billing_issue"),
        ("hello", "greeting"),
        ("asdkjh qwe zzz", "unknown"),
    ],
)
def test_plain_requests_route_right(router: IntentRouter, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


def test_routing_accuracy_on_bitext_stays_above_the_baseline() -> None:
    report = evaluate(load_cases(shared_set("bitext-customer-support/dev.csv"), per_intent=25))
    assert report.total == 25 * 19
    assert report.accuracy >= 0.80, report.model_dump_json(indent=1)
