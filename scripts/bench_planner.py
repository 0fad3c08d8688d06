"""How a turn is read, and how long it takes, by path: the fast path, the model planner, the router floor and
the planner's fallbacks. Runs eval scenarios in-process on the configured model (the default model unless
``--model`` names another GGUF), one conversation at a time, and prints per path: share of turns, time to
read the message (the plan), time to the first event and to the first text, p50 and p95. Planned turns are
split into the first planned turn of a conversation (its customer context not yet evaluated) and later ones. Turns
whose reply follows a tool result also give the time from that result to the reply's first text (with
the default model, the model's wording of an order's facts; ``--reply-style template``: code's).

    .venv/bin/python scripts/bench_planner.py [SUITE ...] [--limit N] [--model GGUF] [--draft-tokens N]
        [--pause S] [--no-prepare] [--reply-style auto|template|model]
    .venv/bin/python scripts/bench_planner.py --report reports/mine     (the turns of an eval run's report)

With ``--pause`` the next planning prompt's start is evaluated in the background between turns, as it is while a
person reads and writes; ``--no-prepare`` measures the same turns without that.
Run it with nothing else loading the machine: the timings are the point.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from agent.llm.grammar_sampling import GrammarFirstLlama
from evals.cases import load_paths
from evals.report import load
from evals.runner import RunOptions, run_cases

DEFAULT_SUITES = [Path("evals/suites/understanding")]


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"p50 {np.percentile(values, 50):.2f} s / p95 {np.percentile(values, 95):.2f} s"


def main(
    suites: Annotated[list[Path] | None, typer.Argument(help="Suite files or folders.")] = None,
    limit: Annotated[int, typer.Option(help="Scenarios at most (0: all).")] = 0,
    model: Annotated[Path | None, typer.Option(help="GGUF to run instead of the configured model.")] = None,
    report: Annotated[Path | None, typer.Option(help="Read the turns of this eval report instead of running.")] = None,
    draft_tokens: Annotated[int, typer.Option(help="Plan tokens guessed and checked in one batch with the next "
                                              "(speculative decoding; 0: none).")] = GrammarFirstLlama.draft_tokens,
    pause: Annotated[float, typer.Option(help="Seconds a customer reads each reply before writing again.")] = 0.0,
    prepare: Annotated[bool, typer.Option(help="Prepare the next planning prompt during the pause.")] = True,
    reply_style: Annotated[str, typer.Option(
        help="How replies about orders are worded (auto: as the server would, template, model).")] = "auto",
) -> None:
    GrammarFirstLlama.draft_tokens = draft_tokens
    if report is not None:
        results = load(report).results
    else:
        cases = [c for c in load_paths(suites or DEFAULT_SUITES) if c.scenario is not None]
        cases = cases[:limit] if limit else cases
        options = RunOptions(model=model, workers=1, pause_seconds=pause, prepare_next_turn=prepare,
                             reply_style=reply_style)  # type: ignore[arg-type]
        results = run_cases(cases, options, progress=True)
    by_path: dict[str, list] = defaultdict(list)
    first_planned, later_planned = [], []
    for result in results:
        planned_before = False
        for turn in result.turns:
            path = turn.plan_path.split(":")[0] or "(none)"
            by_path[path].append(turn)
            if path == "planner" and turn.plan_s is not None:
                (later_planned if planned_before else first_planned).append(turn.plan_s)
                planned_before = True
    total = sum(len(turns) for turns in by_path.values())
    typer.echo(f"{len(results)} conversations, {total} turns")
    for path, turns in sorted(by_path.items(), key=lambda kv: -len(kv[1])):
        plan = [t.plan_s for t in turns if t.plan_s is not None]
        first_event = [t.first_event_s for t in turns if t.first_event_s is not None]
        first_text = [t.ttft_s for t in turns if t.ttft_s is not None]
        typer.echo(f"- {path}: {len(turns)} turns ({len(turns) / total:.0%}); plan {_stats(plan)}; "
                   f"first event {_stats(first_event)}; first text {_stats(first_text)}")
    typer.echo(f"planned turns, first of a conversation: {_stats(first_planned)} ({len(first_planned)} turns)")
    typer.echo(f"planned turns, later ones: {_stats(later_planned)} ({len(later_planned)} turns)")
    after_tools = [t.after_tools_s for ts in by_path.values() for t in ts if t.after_tools_s is not None]
    typer.echo(f"first text after the last tool result: {_stats(after_tools)} ({len(after_tools)} turns)")


if __name__ == "__main__":
    typer.run(main)
