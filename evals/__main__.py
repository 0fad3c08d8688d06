"""Offline evaluations: ``python -m evals routing`` (more suites arrive with the eval-suite work)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from evals.routing import DEFAULT_BITEXT, evaluate, load_cases

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


if __name__ == "__main__":
    cli()
