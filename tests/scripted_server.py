"""A real server process whose turns are scripted instead of asking a model, for multi-process tests:

    python -m tests.scripted_server --port P      (settings from ``SUPPORT_*``, as ``server.py`` reads them)

The message says what the turn does: ``hold`` announces a tool and then waits ten minutes (a turn to kill
mid-way); a number ``n`` streams ``n`` text deltas; anything else streams three.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator

import uvicorn

from agent.bootstrap import build_deps
from agent.events import BaseEvent, Done, MessageCompleted, TextDelta, ToolStarted
from agent.llm.fake import ScriptedChatModel
from agent.service import SupportAgent
from core.settings import Settings
from server import create_app

HOLD = "hold"


async def scripted_turn(self: SupportAgent, conversation_id: str, customer_id: str | None, text: str,
                        **_: object) -> AsyncIterator[BaseEvent]:
    yield ToolStarted(tool="get_order_details", description="Looking up your order")
    if text == HOLD:
        await asyncio.sleep(600)
    parts = [f"Part {n}. " for n in range(int(text) if text.isdigit() else 3)]
    for part in parts:
        await asyncio.sleep(0.005)
        yield TextDelta(text=part)
    yield MessageCompleted(text="".join(parts))
    yield Done()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    SupportAgent.turn = scripted_turn  # type: ignore[method-assign]
    app = create_app(Settings(), deps_factory=lambda settings: build_deps(settings, model=ScriptedChatModel()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
