"""Offline evaluations: ``python -m evals routing`` and ``python -m evals retrieval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from evals import retrieval as retrieval_eval
from evals.routing import DEFAULT_BITEXT, evaluate, load_cases
from evals.tau2 import replay_file
from evals.tau2.report import render
from evals.tau2.tasks import DEFAULT_TASKS

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.callback()
def main() -> None:
    """Offline evaluations of the support agent."""


@cli.command()
def routing(
    data: Annotated[Path, typer.Option(help="Bitext customer-support CSV.")] = DEFAULT_BITEXT,
    per_intent: Annotated[int | None, typer.Option(help="Cap rows per intent (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    min_accuracy: Annotated[float, typer.Option(help="Exit 1 below this accuracy.")] = 0.0,
) -> None:
    """Intent-routing accuracy on real customer phrasings."""
    if not data.is_file():
        raise typer.BadParameter(f"{data} not found (the shared data sets live in ../shared/external)")
    report = evaluate(load_cases(data, per_intent=per_intent))
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        for row in report.per_intent:
            worst = json.dumps(dict(sorted(row.confusions.items(), key=lambda kv: -kv[1])[:3]))
            share = row.correct / row.total
            sys.stdout.write(f"{row.intent:28} {row.correct:4}/{row.total:<4} {share:6.1%}  {worst}\n")
        sys.stdout.write(f"{'overall':28} {report.correct:4}/{report.total:<4} {report.accuracy:6.1%}\n")
    if report.accuracy < min_accuracy:
        raise typer.Exit(1)


@cli.command()
def retrieval(
    k: Annotated[int, typer.Option("--k", min=1, help="Passages that count as found (recall@k).")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    min_recall: Annotated[float, typer.Option(help="Exit 1 below this recall@k.")] = 0.0,
) -> None:
    """Knowledge-base recall@1, recall@k and MRR on labelled customer questions."""
    with retrieval_eval.help_center_kb() as kb:
        report = retrieval_eval.evaluate(retrieval_eval.load_cases(), kb, k=k)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        for miss in report.misses:
            rank = f"rank {miss.rank}" if miss.rank else "not found"
            sys.stdout.write(f"miss  {miss.question!r} -> {miss.article} ({rank}); got {', '.join(miss.found)}\n")
        at_k = f"  recall@{report.k} {report.recall_at_k:.1%}" if report.k > 1 else ""
        sys.stdout.write(f"questions {report.total}  recall@1 {report.recall_at_1:.1%}{at_k}  MRR {report.mrr:.3f}\n")
    if report.recall_at_k < min_recall:
        raise typer.Exit(1)


@cli.command("tau2-replay")
def tau2_replay(
    tasks: Annotated[Path, typer.Option(help="tau2 retail tasks file, db.json beside it.")] = DEFAULT_TASKS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Replay tau2-bench's gold actions through our tools and compare the store with tau2's database."""
    if not tasks.is_file() or not (tasks.parent / "db.json").is_file():
        raise typer.BadParameter(f"{tasks} or the db.json beside it not found (shared data is in ../shared/external)")
    report = replay_file(tasks)
    sys.stdout.write((report.model_dump_json(indent=2) if as_json else render(report)) + "\n")


if __name__ == "__main__":
    cli()
