"""Compose the reply for a turn: facts by code from tool results, model wording only from passages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict

from agent.executor.wording import join, money
from agent.guardrails import Grounding, check_input, check_sentence
from agent.guardrails.evidence import Evidence
from agent.guardrails.grounding import receipts_from
from agent.guardrails.order_facts import OrderFacts, order_views
from agent.llm.prompt_states import PromptStart
from agent.prompts import prompt_data, prompt_text, replies
from agent.state import AgentState
from agent.translation import sentences
from tools.arguments import has_asked
from tools.option_wishes import rank

# requests the agent can't carry out itself: answered from the help center, with a person on offer
HELP_CENTER_INTENTS = {"billing_issue"}


class ReplyPlan(BaseModel):
    """How to say this turn's reply."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    ask: str = ""
    """The question the customer is asked, said last (written by code)."""
    said: str = ""
    """Facts and receipts written by code, said first (still through the rails, but trusted by the evidence
    check)."""
    text: str = ""
    """Text written by code (released as is, still through the rails)."""
    prompt: list[BaseMessage] | None = None
    """When set, the model writes the reply from this prompt, the writer's (:func:`writer_prompt`): on the model
    instance that keeps its fixed start (``writer_model``) when there is one."""
    again: Callable[[str], list[BaseMessage]] | None = None
    """The prompt of a second reply, written when the first got a fact wrong or answered nothing before anything of
    it was shown, given the rule it broke: the facts alone, without the customer's message (what in it led the first
    astray, an instruction or a claim it repeated, is not put to the model again)."""
    opening: str = ""
    """Code's acknowledgement of an upset customer, said before a second reply (whose job leaves out the message it
    would acknowledge)."""
    amend: Callable[[str, str], str] | None = None
    """Writes into each sentence of the model's reply, given its text before that sentence, facts it left out that
    code can place (an order's number after its first mention), before the rails read it."""
    stand_in: Callable[[str], list[str] | None] | None = None
    """Code's sentences said in place of the model's first sentence that gets a fact wrong and all after it, given
    the reply's text before it (:meth:`OrderFacts.stand_in`; for a help-center answer, nothing once a sentence of it
    was said); None: the sentence fails."""
    left_out: Callable[[str], list[str] | None] | None = None
    """Code's sentences that give what the model's whole reply left out, said after it; None when the reply answers
    nothing (it is then replaced)."""
    fallback: Callable[[], str] | None = None
    """Makes the safe text used when the reply fails a rail (only then: choosing quotable sentences takes longer
    than the model needs for its first token)."""
    grounding: Grounding = Grounding()
    citations: list[dict[str, str]] = []


def _day(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%b %-d, %Y") if value else "unknown"


def item_count(n: int) -> str:
    """"1 item", "3 items"."""
    counts = replies()["item_count"]
    return counts["one"] if n == 1 else counts["other"].format(n=n)


def _item(item: dict[str, Any], options: bool) -> str:
    values = ", ".join(str(v) for v in item["options"].values()) if options else ""
    return f"{item['name']} ({values})" if values else str(item["name"])


def describe_order(order: dict[str, Any], *, refund_days: int, options: bool = False) -> str:
    """The order's facts as sentences, in the store's own status words, each status said with what it means;
    ``options``: each item with its option values ("T-Shirt (blue, M, cotton)")."""
    r = replies()
    meaning = r["status_meaning"].get(order["status"].split(" (")[0], "").format(refund_days=refund_days)
    parts = [
        r["order_status"].format(order_id=order["order_id"], status=order["status"]),
        *([meaning] if meaning else []),
        r["order_items" if order["placed_at"] else "order_items_undated"].format(
            count=item_count(len(order["items"])), items=join([_item(i, options) for i in order["items"]]),
            total=order["total"], placed=_day(order["placed_at"])),
    ]
    parts.extend(_changing(order, r))
    for t in order["tracking"]:
        if order["shipped_at"]:
            parts.append(r["order_shipped"].format(
                shipped=_day(order["shipped_at"]), carrier=t["carrier"] or "our carrier", tracking_id=t["tracking_id"],
                last_event=t["last_event"] or "none yet", last_event_at=_day(t["last_event_at"])))
        elif order["status"].split(" (")[0] not in _NOT_SHIPPED:  # a shipment with no date on record
            parts.append(r["order_tracking"].format(carrier=t["carrier"] or "our carrier",
                                                    tracking_id=t["tracking_id"]))
    if order["delivered_at"]:
        parts.append(r["order_delivered"].format(delivered=_day(order["delivered_at"])))
    return " ".join(parts)


_NOT_SHIPPED = ("pending", "processed")
"""Statuses whose tracking number (a label printed ahead) is not said: nothing has shipped."""


def _changing(order: dict[str, Any], r: dict[str, Any]) -> list[str]:
    """The items of ``order`` being returned (their refund, and what the items kept come to) or exchanged."""
    said = []
    for key, template in (("return_items", "order_returning"), ("exchange_items", "order_exchanging")):
        left, changing = list(order["items"]), []
        for item_id in (order.get("details") or {}).get(key) or []:
            if found := next((i for i in left if i["item_id"] == item_id), None):
                left.remove(found)
                changing.append(found)
        if not changing:
            continue
        said.append(r[template].format(items=join([str(i["name"]) for i in changing]),
                                       amount=f"{sum(float(i['price']) for i in changing):.2f}"))
        if key == "return_items" and left:
            said.append(r["order_kept"].format(kept=f"{sum(float(i['price']) for i in left):.2f}"))
    return said


def describe_orders(orders: list[dict[str, Any]]) -> str:
    """A short list of recent orders."""
    r = replies()
    if not orders:
        return r["no_orders"]
    lines = [r["recent_order_line" if o["placed_at"] else "recent_order_line_undated"].format(
        order_id=o["order_id"], status=o["status"], placed=_day(o["placed_at"]), count=item_count(len(o["items"])),
        total=o["total"]) for o in orders]
    return "\n".join([r["recent_orders_intro"], *lines, r["recent_orders_outro"]])


LISTED_VARIANTS = 6
"""Options a product answer lists one by one (more: only counted)."""


def _values(values: Iterable[Any]) -> str:
    """An option's values in their natural order (sizes small to large), "S, M or L"."""
    ordered = sorted({str(v) for v in values}, key=lambda v: (rank(v) is None, rank(v) or 0, v.lower()))
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


def describe_product(product: dict[str, Any], asked: dict[str, list[str]]) -> str:
    """What is in stock of a product: how many options, their prices and values, and which of them have the
    option values the customer ``asked`` about."""
    r, name = replies()["product"], product["name"]
    in_stock = [v for v in product["variants"] if v["available"]]
    sold_out = len(product["variants"]) - len(in_stock)
    if not in_stock:
        return str(r["none_in_stock"].format(product=name))
    prices = sorted(float(v["price"]) for v in in_stock)
    parts = [r["in_stock_one" if len(in_stock) == 1 else "in_stock"].format(
        count=len(in_stock), product=name, low=f"{prices[0]:.2f}", high=f"{prices[-1]:.2f}")]
    if sold_out:
        parts.append(r["sold_out_one" if sold_out == 1 else "sold_out"].format(count=sold_out))
    keys = list(dict.fromkeys(k for v in in_stock for k in v["options"]))
    if len(in_stock) > 1:
        values = (f"{k} {_values(v['options'][k] for v in in_stock if k in v['options'])}" for k in keys)
        parts.append(r["values"].format(values="; ".join(values)))
    if asked:
        matching = [v for v in in_stock if has_asked(v["options"], asked)]
        wanted = join([_values(values) for values in asked.values()])
        listed = "; ".join(f"{', '.join(str(x) for x in v['options'].values())} ({money(float(v['price']))})"
                           for v in matching)
        key = ("matching_none" if not matching else "matching_one" if len(matching) == 1
               else "matching" if len(matching) <= LISTED_VARIANTS else "matching_many")
        parts.append(r[key].format(count=len(matching), asked=wanted, variants=listed))
    return " ".join(parts)


def describe(result: dict[str, Any], *, refund_days: int, options: bool = False) -> str:
    """A read tool's result in words (its customer-safe message when it did not succeed); ``options``: an order's
    items with their option values."""
    if result["outcome"] != "done":
        return str(result["message"])
    data = result["data"]
    if "orders" in data:
        return describe_orders(data["orders"])
    return describe_order(data, refund_days=refund_days, options=options)


def _citations(passages: list[dict[str, Any]]) -> list[dict[str, str]]:
    seen = {(p["title"], p["section"]): {k: p[k] for k in ("title", "section", "source")} for p in passages}
    return list(seen.values())


def quotable(sentences: list[str], context: str) -> list[str]:
    """Help-center sentences safe to quote verbatim: retrieved text is data, so a sentence that reads like an
    instruction to the assistant (the input rules; the classifier reads customers' messages), or that would break
    an output rule, is never quoted."""
    return [s for s in sentences
            if check_input(s, classify=False) is None and check_sentence(s, Grounding(facts=context)) is None]


def passages_text(passages: list[dict[str, Any]]) -> str:
    """Retrieved passages as the answer prompt shows them, each under its article and section."""
    return "\n\n".join(f"[{p['title']} / {p['section']}]\n{p['text']}" for p in passages)


ANSWER_SENTENCES = 5
"""Help-center sentences the answer job shows the model: those closest to the question. A small model given whole
passages echoed the question ("Yes, you can exchange a final sale item") whatever they said; given the sentences
that answer it, it rewords them."""


def answer_sentences(evidence: Evidence, question: str, context: str) -> list[str]:
    """The quotable passage sentences closest to ``question``, closest first: the answer job shows them to the
    model (in the passages' order), the quote says the first two."""
    return quotable(evidence.closest_to(question, count=ANSWER_SENTENCES + 4), context)[:ANSWER_SENTENCES]


def answer_request(passages: list[dict[str, Any]], question: str, evidence: Evidence | None = None) -> str:
    """The job of wording a help-center answer to ``question`` from the passage sentences closest to it (after the
    fixed prompt start); ``evidence``: the passages' sentences, when already embedded."""
    evidence = evidence or Evidence([p["text"] for p in passages])
    shown = evidence.in_order(answer_sentences(evidence, question, passages_text(passages)))
    return prompt_text("answer.md").format(sentences="\n".join(f"- {s}" for s in shown), question=question)


def answer_grounding(passages: list[dict[str, Any]], question: str,
                     done_calls: Iterable[dict[str, Any]] = ()) -> Grounding:
    """What a model-worded answer is checked against: every sentence supported by a passage, numbers and ids
    from the passages, the question and this conversation's receipts."""
    return Grounding(facts=f"{passages_text(passages)}\n{question}",
                     evidence=Evidence([p["text"] for p in passages], question),
                     receipts=receipts_from(done_calls))


def writer_prompt(job: str) -> list[BaseMessage]:
    """A reply job for the writer: its fixed instructions (``writer.md``), then ``job``. The writer's prompt does
    not extend the planner's: on two cores the 200 tokens of a reply job after the planner's 2,000 took 2.5 s to
    evaluate, while a model instance that keeps the writer's instructions evaluates only the facts and the message
    (about 80 tokens, after 150)."""
    return [SystemMessage(prompt_text("writer.md")), HumanMessage(job)]


def writer_start() -> PromptStart:
    """The writer's fixed start: its instructions, up to the job's facts (every job starts with them)."""
    return PromptStart("writer", writer_prompt("Facts:"), "Facts")


def _answer_plan(state: AgentState, question: str, *, quote: bool, said: str) -> ReplyPlan:
    r = replies()
    passages = state.get("passages") or []
    if not passages:
        return ReplyPlan(said=said, text=r["unknown"], grounding=Grounding(trusted=True))
    context = passages_text(passages)
    prefix = f"{r['not_yet_able']} " if state["intent"] in HELP_CENTER_INTENTS else ""
    suffix = f" {r['offer_human']}" if prefix else ""
    grounding = answer_grounding(passages, question, state.get("done_calls", []))
    evidence = cast(Evidence, grounding.evidence)

    def quoted() -> str:
        best = answer_sentences(evidence, question, context)[:2]
        extract = " ".join(evidence.in_order(best))
        return f"{prefix}{extract}{suffix}" if extract else r["unknown"]

    if quote:
        return ReplyPlan(said=said, text=quoted(), fallback=lambda: r["unknown"],
                         grounding=grounding.model_copy(update={"quoted": True}), citations=_citations(passages))
    return ReplyPlan(
        said=said,
        text=prefix,
        prompt=writer_prompt(answer_request(passages, question, evidence)),
        stand_in=lambda before: [] if before.strip() else None,
        fallback=quoted,
        grounding=grounding,
        citations=_citations(passages),
    )


WORDED_TOOLS = frozenset({"get_order_details"})
"""Tools whose results the model may reword: one order read. A change's receipt, the answer to the customer's yes,
is said as written: at once (the model would take seconds to word it), with every amount as the policy computed
it, and translated by hand into each language (model-worded receipts translated by the model failed their checks
and came back in English). A list of orders, a handoff or anything else is said as written too."""


def _wordable(state: AgentState) -> bool:
    results = state.get("tool_results") or []
    return (bool(results) and not state.get("handoff") and all(r.get("tool") in WORDED_TOOLS for r in results)
            and any(order_views(results)))


FIRST_REPLY = "Reply (plain sentences):"
"""The end of the writer's first reply job (``reply.md``). A second reply's (``reply_again.md``) says what the
first got wrong (``reply_again.yaml``): asked for the facts every time, the writer invents ship dates more often;
asked only for plain sentences, it refuses or gives sympathy alone now and then."""


def _worded_plan(state: AgentState, question: str, *, said: str, ask: str, items: Iterable[str],
                 opening: str) -> ReplyPlan:
    """The model rewords this turn's facts (``said``, written by code from the tool results) for the customer; every
    sentence must keep to them (numbers and ids, and each order's status, items and counts): code's sentences take
    the place of the first that does not and all after it (after ``opening``, code's acknowledgement of an upset
    customer, when nothing came before), and the facts as written (after ``opening``) that of a reply that breaks
    any other rule or answers nothing. A reply wrong or answering nothing before any of it was shown is written once
    more from the facts alone, the job saying what the first got wrong. Code writes in an order number the model
    left out, and says after the reply its own sentence for what the model did not give: an order's status, its
    items, an item named."""
    upset = state.get("sentiment", "neutral") != "neutral"
    english = in_english(state, question)
    tone = prompt_text("reply_upset.md") if upset else ""

    def job_again(rule: str) -> list[BaseMessage]:
        reply = prompt_data("reply_again.yaml")[rule]
        return writer_prompt(prompt_text("reply_again.md").format(facts=said, reply=reply))

    facts = OrderFacts.of(state.get("tool_results") or [], facts=said, vocabulary=items, message=english)
    said_sentences = sentences(said)  # split once: left_out reads them at every streamed sentence until one answers
    return ReplyPlan(
        prompt=writer_prompt(prompt_text("reply.md").format(facts=said, question=english, tone=tone,
                                                            reply=FIRST_REPLY)),
        again=job_again,
        opening=opening,
        amend=facts.numbered_next,
        stand_in=lambda before: [*([opening] if opening and not before.strip() else []),
                                 *facts.stand_in(before, said_sentences)],
        left_out=lambda reply: facts.left_out(reply, said_sentences),
        fallback=lambda: " ".join(p for p in (opening, said) if p),
        grounding=Grounding(facts=said, receipts=receipts_from(state.get("done_calls", [])), order_facts=facts),
        ask=ask,
    )


def plan_reply(state: AgentState, question: str, *, quote: bool = False,
               items: Callable[[], Iterable[str]] | None = None) -> ReplyPlan:
    """The reply plan for this turn's state; ``quote``: help-center answers quote the passages instead of
    being worded by the model; ``items`` (the names of every item a reply could mention): facts from this
    turn's tool results are reworded by the model instead of said as written."""
    r = replies()
    trusted = Grounding(trusted=True)
    if state.get("input_flag") and not state.get("handoff"):
        return ReplyPlan(text=r["declined"][state["input_flag"]], grounding=trusted)
    said, ask = state.get("say", ""), state.get("ask", "")
    opening = acknowledgement(in_english(state, question)) if _acknowledges(state, said, ask) else ""
    if items is not None and said and _wordable(state) and not state.get("retrieved"):  # the model acknowledges
        return _worded_plan(state, question, said=said, ask=ask, items=items(), opening=opening)
    said = " ".join(p for p in (opening, said) if p)
    if state.get("retrieved"):
        plan = _answer_plan(state, state.get("question") or question, quote=quote, said=said)
        return plan.model_copy(update={"ask": ask})
    return ReplyPlan(said=" ".join(p for p in (said, ask) if p) or r["ask_request"], grounding=trusted)


_COMPLAINTS = {
    "late": re.compile(r"\b(late|delay\w*|waiting|still (not|hasn'?t|has not|haven'?t)|(hasn'?t|has not|not|never) "
                       r"(arrived|come|shipped|here)|taking (so|this|too) long|where (is|'s)|"
                       r"supposed to (arrive|come|ship|be here)|should have (arrived|come|shipped))\b", re.IGNORECASE),
    "damaged": re.compile(r"\b(damaged|broken|broke|cracked|defective|faulty|stopped working|doesn'?t work|leaks?)\b",
                          re.IGNORECASE),
    "payment": re.compile(r"\b(charged?|billed|double|twice|overcharged|payment|refund)\b", re.IGNORECASE),
}


def _acknowledges(state: AgentState, said: str, ask: str) -> bool:
    """Whether the reply starts with an acknowledgement: the customer is upset and it answers them (facts, a
    proposal, a help-center answer or a question back), unless what it says is already one (the care and
    complaint replies, a handoff's)."""
    upset = state.get("sentiment", "neutral") != "neutral"
    answers = bool(said or ask or state.get("retrieved"))
    return upset and answers and not _APOLOGY.search(said)


_APOLOGY = re.compile(r"\b(sorry|apologi[sz]e)\b", re.IGNORECASE)


def in_english(state: AgentState, message: str) -> str:
    """``message`` (one of the customer's messages, usually the newest), or its English translation when it had
    one."""
    said = next((m for m in reversed(state["messages"]) if m.type == "human" and str(m.content) == message), None)
    return str(said.additional_kwargs.get("english", message)) if said is not None else message


def acknowledgement(message: str) -> str:
    """The sentence said first to an upset customer, by what they complain about (``message`` in English)."""
    kind = next((k for k, pattern in _COMPLAINTS.items() if pattern.search(message)), "other")
    return str(replies()["acknowledge"][kind])
