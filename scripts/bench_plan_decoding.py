"""How long the default model takes to decode six later-turn plans (their prompts already evaluated): with
llama.cpp's own sampler chain (one token a model step), and with :class:`agent.llm.grammar_sampling.GrammarFirstLlama`
(forced text written without the model, guesses checked in batches) by how many tokens are guessed at a time.
Each plan is planned once to evaluate its prompt, then timed; the best of ``--rounds`` rounds is kept. Plans that
differ from llama.cpp's are printed.

    .venv/bin/python scripts/bench_plan_decoding.py [--draft-tokens 0 --draft-tokens 3 ...] [--rounds 2]

Run it with nothing else loading the machine: the timings are the point."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from llama_cpp import Llama

from agent.commands import Plan
from agent.llm import build_chat_model
from agent.llm.grammar_sampling import GrammarFirstLlama
from agent.planner.prompt import customer_context, plan_prompt, warm_up
from core.settings import Settings

ORDERS = [
    {"order_id": "#W4821001", "status": "delivered", "items": [
        {"name": "Wireless Earbuds", "options": {"color": "black"}},
        {"name": "Running Shoes", "options": {"size": "9", "color": "white"}}]},
    {"order_id": "#W4821002", "status": "processed", "items": [
        {"name": "Coffee Maker", "options": {"capacity": "12 cups"}}]},
    {"order_id": "#W4821003", "status": "pending", "items": [
        {"name": "Desk Lamp", "options": {"finish": "brass"}}, {"name": "Hoodie", "options": {"size": "L"}}]},
    {"order_id": "#W4821004", "status": "delivered", "items": [
        {"name": "Water Bottle", "options": {"size": "750 ml"}}]},
]
EARLIER: list[BaseMessage] = [
    HumanMessage("hi, where is my coffee maker? it was supposed to be here by now"),
    AIMessage("Order #W4821002 is processed: it has not shipped yet. Shall I cancel order #W4821003 (Desk Lamp, "
              "Hoodie)? (yes/no)"),
]
NEXT_MESSAGES = ["ok. can i also return the earbuds, they crackle", "cancel the lamp order pls, bought by mistake",
                 "yes please", "ok", "and where is my water bottle",
                 "no. where are my shoes and how long do refunds take"]


def main(
    draft_tokens: Annotated[list[int] | None, typer.Option(help="Tokens guessed at a time (0: none).")] = None,
    rounds: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    sizes = [-1, *(draft_tokens or [0, 3, 8])]  # -1: llama.cpp's sampler chain
    model = build_chat_model(Settings(_env_file=None))  # type: ignore[call-arg]
    warm_up(model)
    planner = model.with_structured_output(Plan)
    prompts = [plan_prompt(customer_context(orders=ORDERS, messages=[*EARLIER, HumanMessage(text)], task=None))
               for text in NEXT_MESSAGES]
    best: dict[int, list[float]] = {size: [float("inf")] * len(prompts) for size in sizes}
    plans: dict[int, list[Plan]] = {size: [] for size in sizes}
    ours = GrammarFirstLlama._init_sampler
    for _ in range(rounds):
        for size in sizes:
            GrammarFirstLlama._init_sampler = Llama._init_sampler if size < 0 else ours  # type: ignore[method-assign]
            GrammarFirstLlama.draft_tokens = max(size, 0)
            for index, prompt in enumerate(prompts):
                planner.invoke(prompt)  # the prompt evaluated: what follows is the plan's decoding
                started = time.perf_counter()
                plans[size].append(planner.invoke(prompt))
                best[size][index] = min(best[size][index], time.perf_counter() - started)
    for size, seconds in best.items():
        label = "llama.cpp's sampler chain" if size < 0 else f"forced text, guessing {size} tokens"
        typer.echo(f"{label}: {sum(seconds):.1f} s for {len(seconds)} plans ({', '.join(f'{s:.2f}' for s in seconds)})")
        for text, plan, theirs in zip(NEXT_MESSAGES, plans[size], plans[-1], strict=False):
            if plan != theirs:
                typer.echo(f"  {text!r}: {plan.model_dump_json(exclude_defaults=True)} "
                           f"(llama.cpp: {theirs.model_dump_json(exclude_defaults=True)})")


if __name__ == "__main__":
    typer.run(main)
