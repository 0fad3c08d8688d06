"""The graph's typed state and the run-time context its nodes receive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.escalation_config import EscalationConfig, load_escalation_config
from agent.routing import IntentRouter
from core.guardrails_config import GuardrailsConfig
from core.settings import Settings
from knowledge import KnowledgeBase
from tools.policy import Policy
from tools.policy.versions import PolicyStore
from tools.store import Store


class AgentState(TypedDict, total=False):
    """One conversation. Turn fields are reset by every new customer message; the rest persist."""

    messages: Annotated[list[AnyMessage], add_messages]
    # --- this turn ---
    intent: str
    route_score: float
    route_margin: float
    order_ids: list[str]
    sentiment: str
    input_flag: str | None
    """Input rule the message tripped; no tool runs in a flagged turn."""
    thinking_sent: bool
    """The customer was told the agent is reading (``thinking``): it is sent once a turn."""
    identity: dict[str, Any] | None
    """The verification the message's own facts got before planning (``agent.nodes.identify``)."""
    commands: list[dict[str, Any]]
    """What this message asks for (``agent.commands``), from the fast path, the planner or the router."""
    plan_path: str
    """How the commands were found: ``fast``, ``planner``, ``router`` or ``fallback: <why>``."""
    plan_seconds: float
    question: str
    """The help-center question this turn answers (empty: none)."""
    passages: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    say: str
    """Text the act node decided to say (facts and receipts written by code)."""
    ask: str
    """The question the task in progress waits on, said after everything else."""
    needs_person: bool
    """A call outside policy was recorded and waits for a person's approval."""
    retrieved: bool
    """The help center was searched this turn (with ``passages`` empty: it had no answer)."""
    escalation_reason: str | None
    """Why this turn hands the conversation to a person (see ``agent.escalation``)."""
    hand_over_after_lookups: str | None
    """Why this turn hands the conversation to a person once its order lookups are said (nothing else runs)."""
    handoff_tried: bool
    handoff: dict[str, Any] | None
    reply: str
    """The reply as the customer saw it (in their language)."""
    reply_english: str
    """The reply as written and checked (English)."""
    citations: list[dict[str, Any]]
    rail_trips: list[str]
    """The rule that stopped each reply the output rails withdrew this turn."""
    worded_sentences: int
    """Sentences of this turn's reply the model wrote."""
    replaced_sentences: list[str]
    """The rule each model sentence broke that the customer did not get as written (``GuardedWriter.replaced``)."""
    rewritten_sentences: list[str]
    """The rule each model sentence broke that the model wrote again before it was shown
    (``GuardedWriter.rewritten``)."""
    stuck: bool
    """The bot gave the same reply three times in a row."""
    # --- whole conversation ---
    task: dict[str, Any] | None
    """The customer task in progress (see ``agent.executor.flow.Task``)."""
    queue: list[dict[str, Any]]
    """Write commands (and a handoff asked for with them) waiting until the task in progress is over, in the
    order the customer asked."""
    refused: dict[str, Any] | None
    """The task the previous message's order or the policy ruled out (``agent.executor.flow.Step.refused``)."""
    refunds: list[float]
    """What each change done since the customer's requests began refunded, told as a total after the last one."""
    done_calls: list[dict[str, Any]]
    """Tool calls that succeeded in this conversation: the receipts a model sentence may rely on."""
    verified_customer_id: str | None
    """Customer verified in this conversation (anonymous sessions), checked by code against the store."""
    guardrail_trips: int
    escalated: bool
    angry_messages: int
    unanswered: int
    turns_without_progress: int
    language: str
    """The language replies are in (``core.language.LANGUAGES``; the last message that said clearly which)."""


TURN_RESET: dict[str, Any] = {
    "intent": "unknown",
    "route_score": 0.0,
    "route_margin": 0.0,
    "order_ids": [],
    "sentiment": "neutral",
    "input_flag": None,
    "thinking_sent": False,
    "identity": None,
    "commands": [],
    "plan_path": "",
    "plan_seconds": 0.0,
    "question": "",
    "passages": [],
    "tool_results": [],
    "say": "",
    "ask": "",
    "needs_person": False,
    "retrieved": False,
    "escalation_reason": None,
    "hand_over_after_lookups": None,
    "handoff_tried": False,
    "handoff": None,
    "reply": "",
    "reply_english": "",
    "citations": [],
    "rail_trips": [],
    "worded_sentences": 0,
    "replaced_sentences": [],
    "rewritten_sentences": [],
    "stuck": False,
}


@dataclass(frozen=True)
class AgentDeps:
    """Long-lived parts shared by every conversation."""

    settings: Settings
    model: BaseChatModel
    store: Store
    knowledge: KnowledgeBase
    router: IntentRouter
    policies: PolicyStore
    """The live, versioned policy (``policy`` reads the version in force)."""
    answer_style: Literal["model", "quote"] = "model"
    """Help-center answers worded by the model from the passages, or quoted from them."""
    reply_style: Literal["template", "model"] = "template"
    """Facts about orders and actions said as written by code, or reworded by the model (checked against them)."""
    planner: Literal["model", "router"] = "router"
    """Who reads messages the fast path does not settle: the model planner or the intent router."""
    translation_model: Callable[[], BaseChatModel | None] = field(default=lambda: None)
    """The model that translates replies into the customer's language, loaded on first use (None: replies stay
    English; a customer writing another language is told so and offered a person)."""
    writer_model: Callable[[], BaseChatModel | None] = field(default=lambda: None)
    """The model instance that words replies about orders from their facts, keeping the writer's fixed prompt in
    its KV state (None: ``model`` words them)."""
    escalation: EscalationConfig = field(default_factory=load_escalation_config)
    """When conversations go to a person."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The time of day for business hours (tests set it)."""

    @property
    def policy(self) -> Policy:
        """The policy version in force now (changes apply from the next call, in every process)."""
        return self.policies.current()


@dataclass(frozen=True)
class AgentContext:
    """What a node knows about the turn beyond the state: who is asking, and the shared parts."""

    deps: AgentDeps
    conversation_id: str
    customer_id: str | None
    """From the authenticated session; None for an anonymous customer."""
    client_address: str | None
    """Where the customer's request came from (None outside the HTTP API)."""
    guardrails: GuardrailsConfig
    """The guardrails of the policy version in force when the turn began (read once per turn)."""
