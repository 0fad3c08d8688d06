"""``python -m tools.store``: seed the demo data, show sample customers, import or export tau2-bench data.

Only results go to stdout (``sample --json`` prints nothing but JSON); logs and summaries go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter

from core.settings import Settings
from tools.store.db import Store
from tools.store.demo import ensure_demo_data, seed_demo_data
from tools.store.queries import SampleCustomer, sample_customers
from tools.store.tau2 import Tau2ImportError, export_tau2, import_tau2

log = logging.getLogger("tools.store")
app = typer.Typer(help="The store's demo data.", no_args_is_help=True, add_completion=False)


@app.callback()
def _main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def sample(
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    count: Annotated[int, typer.Option("--count", min=1, help="How many customers to show.")] = 5,
) -> None:
    """Show sample customers and their orders (the showcase customers first), seeding an empty store first."""
    settings = Settings()
    store = Store(settings.resolved_database_url)
    if settings.seed_demo_data:
        ensure_demo_data(store)
    rows = [] if store.is_empty() else sample_customers(store, count=count)
    if json:
        typer.echo(TypeAdapter(list[SampleCustomer]).dump_json(rows, indent=2).decode())
    else:
        typer.echo(_table(rows))


@app.command()
def seed() -> None:
    """Create the tables and the demo data unless the store already has customers."""
    store = Store(Settings().resolved_database_url)
    store.migrate()
    if not store.is_empty():
        log.info("the store already has customers; nothing seeded")
        return
    typer.echo(seed_demo_data(store).model_dump_json(indent=2), err=True)


@app.command("import-tau2")
def import_tau2_command(
    path: Annotated[Path, typer.Argument(help="tau2-bench retail db.json.")],
    replace: Annotated[bool, typer.Option("--replace", help="Wipe every table of the store first.")] = False,
) -> None:
    """Load tau2-bench's retail database into the store (refused if it has customers, unless --replace)."""
    store = Store(Settings().resolved_database_url)
    store.migrate()
    try:
        summary = import_tau2(store, path, replace=replace)
    except Tau2ImportError as exc:
        log.error("%s", exc)
        raise typer.Exit(1) from exc
    typer.echo(summary.model_dump_json(indent=2), err=True)


@app.command("export-tau2")
def export_tau2_command(
    out: Annotated[Path | None, typer.Argument(help="File to write (default: stdout).")] = None,
) -> None:
    """Write the store as a tau2-bench retail database (users, products, orders)."""
    store = Store(Settings().resolved_database_url)
    store.migrate()
    text = json.dumps(export_tau2(store), indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        log.info("wrote %s", out)


def _table(customers: list[SampleCustomer]) -> str:
    lines = []
    for customer in customers:
        lines.append(f"{customer.id:<24} {customer.name:<20} {customer.email:<36} {customer.zip}")
        lines += [
            f"  {o.id}  {o.status:<16} {o.total:>9.2f}  {(o.placed_at or '')[:10]}  {', '.join(o.items)}"
            for o in customer.orders
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    app()
