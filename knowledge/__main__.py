"""``python -m knowledge``: ingest documents into the knowledge base and try searches against it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from core.errors import SupportError
from core.settings import Settings
from knowledge.ingest import HELP_CENTER, ingest
from knowledge.store import KnowledgeBase, open_collection
from tools.policy import load_policy

app = typer.Typer(
    help="Ingest documents into the knowledge base and try searches.", add_completion=False, no_args_is_help=True
)


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Markdown, text or HTML files and folders.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Ingest the bundled help center too.")] = False,
) -> None:
    """Add, update and delete documents so the collection matches PATHS; exit 1 if a file failed."""
    targets = [*(paths or []), *([HELP_CENTER] if default else [])]
    if not targets:
        raise typer.BadParameter("give at least one PATH, or --default")
    with _errors_reported():
        settings = Settings()
        report = ingest(targets, open_collection(settings), policy=load_policy(), public_url=settings.public_url)
    typer.echo(report.summary())
    raise typer.Exit(1 if report.errors else 0)


@app.command("search")
def search_command(
    query: str,
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, help="Passages to show (default kb_top_k).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also show passages below kb_min_score.")] = False,
) -> None:
    """Print the passages that answer QUERY with their scores."""
    settings = Settings()
    with _errors_reported():
        kb = KnowledgeBase.from_settings(settings)
        passages = kb.nearest(query, k) if show_all else kb.search(query, k)
    if not passages:
        typer.echo(f"no passage scores {settings.kb_min_score} or more")
    for passage in passages:
        mark = "" if passage.score >= settings.kb_min_score else "  (below threshold)"
        heading = " > ".join(filter(None, (passage.title, passage.section)))
        typer.echo(f"{passage.score:.3f}  {heading}  [{passage.source}]{mark}")
        typer.echo(f"       {passage.text[:160].replace(chr(10), ' ')}")


@contextmanager
def _errors_reported() -> Iterator[None]:
    """Show a project error as one line on stderr and exit 2, instead of a traceback."""
    try:
        yield
    except SupportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
