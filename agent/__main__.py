"""Terminal chat: ``python -m agent chat [--customer ID]`` streams replies token by token."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from typing import Annotated

import typer

from agent.bootstrap import build_deps, open_checkpointer
from agent.events import Citation, ErrorEvent, HandoffStarted, ReplyReplaced, TextDelta, ToolStarted
from agent.service import SupportAgent
from core.errors import SupportError
from core.settings import Settings
from tools.store.models import Conversation

cli = typer.Typer(add_completion=False, help="The support agent's command line.")


@cli.callback()
def main() -> None:
    """The support agent's command line."""


def _show(event: object) -> None:
    match event:
        case TextDelta(text=text):
            sys.stdout.write(text)
        case ToolStarted(description=description):
            sys.stdout.write(f"\n  [{description}...]\n")
        case Citation(title=title, section=section):
            sys.stdout.write(f"\n  [source: {title} / {section}]")
        case ReplyReplaced():
            sys.stdout.write("\n  [reply withdrawn by the guardrails]\n")
        case HandoffStarted(queue=queue, position=position):
            sys.stdout.write(f"\n  [handed to a person: {queue} queue, position {position}]\n")
        case ErrorEvent(message=message):
            sys.stdout.write(f"\n  [error: {message}]\n")
    sys.stdout.flush()


async def _chat(settings: Settings, customer: str | None) -> None:
    deps = build_deps(settings)
    conversation_id = secrets.token_hex(16)
    with deps.store.session() as session:
        owner = f"customer:{customer}" if customer else f"anon:{conversation_id}"
        session.add(Conversation(id=conversation_id, owner=owner))
    async with open_checkpointer(settings) as checkpointer:
        agent = SupportAgent(deps, checkpointer)
        sys.stdout.write(f"Chatting as {customer or 'an anonymous customer'}. Empty line or Ctrl-D quits.\n")
        while True:
            try:
                text = await asyncio.to_thread(input, "\nyou> ")
            except EOFError:
                break
            if not text.strip():
                break
            sys.stdout.write("bot> ")
            async for event in agent.turn(conversation_id, customer, text):
                _show(event)
            sys.stdout.write("\n")


@cli.command()
def chat(
    customer: Annotated[str | None, typer.Option(help="Chat as this signed-in customer id (demo: see "
                                                 "`python -m tools.store sample`).")] = None,
) -> None:
    """Chat with the agent in the terminal."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(_chat(Settings(), customer))
    except SupportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    cli()
