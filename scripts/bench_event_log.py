"""Event-log benchmark: events/s the conversation hub numbers and stores, on SQLite and PostgreSQL.

    .venv/bin/python scripts/bench_event_log.py [--events 2000] [--conversations 8] [--postgres URL] [--json]

Two shapes: one turn streaming, and ``--conversations`` turns streaming at once. Events/s: deltas submitted as
fast as they come (``submit``, as a turn does: it never waits for a commit, so deltas that arrive during one
commit share the next). Follower latency: the time from ``submit`` to a follower in the same process holding
the record (p50/p95), with each turn streaming ``--rate`` deltas/s for 3 s (a model's pace).
SQLite runs on a temporary file; PostgreSQL on ``--postgres`` (a SQLAlchemy URL) or, without it, on a
throwaway local server (``tests/postgres_server.py``, needs Debian's ``postgresql`` package). The machine's
other load shows in the numbers: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

from agent.events import TextDelta
from api.hub import ConversationHub
from tools.store import Store
from tools.store.models import Conversation


def _conversations(store: Store, count: int) -> list[str]:
    ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    with store.session() as session:
        session.add_all(Conversation(id=c, owner="anon:bench") for c in ids)
    return ids


async def _stream(hub: ConversationHub, conversation_id: str, events: int, delays: list[float], *,
                  pause: float) -> None:
    """Submit ``events`` deltas, ``pause`` s apart, while a follower reads them; latencies into ``delays``."""
    sent: dict[int, float] = {}
    follower = asyncio.create_task(_follow(hub, conversation_id, events, sent, delays))
    await asyncio.sleep(0.05)  # the follower is live before the first event
    stored = []
    for n in range(1, events + 1):
        sent[n] = time.perf_counter()
        stored.append(hub.submit(conversation_id, TextDelta(text=f"token {n} ")))  # as a turn streams its deltas
        await asyncio.sleep(pause)
    await asyncio.gather(*stored)
    await follower


async def _follow(hub: ConversationHub, conversation_id: str, events: int, sent: dict[int, float],
                  delays: list[float]) -> None:
    async for record in hub.follow(conversation_id, after=0):
        delays.append(time.perf_counter() - sent[record.seq])
        if record.seq == events:
            return


async def _run(hub: ConversationHub, store: Store, *, turns: int, events: int,
               pause: float) -> tuple[float, list[float]]:
    """``turns`` turns of ``events`` each at once: (events/s, follower delays)."""
    delays: list[float] = []
    ids = _conversations(store, turns)
    started = time.perf_counter()
    await asyncio.gather(*(_stream(hub, c, events, delays, pause=pause) for c in ids))
    return turns * events / (time.perf_counter() - started - 0.05), delays


async def _measure(store: Store, *, events: int, conversations: int, rate: float) -> dict[str, float]:
    hub = ConversationHub(store)
    result: dict[str, float] = {}
    for label, turns in (("one_turn", 1), ("concurrent_turns", conversations)):
        per_s, _ = await _run(hub, store, turns=turns, events=events // turns, pause=0)
        result[f"{label}_events_per_s"] = round(per_s)
        _, delays = await _run(hub, store, turns=turns, events=int(rate * 3), pause=1 / rate)
        result[f"{label}_at_{rate:g}_per_s_follower_p50_ms"] = round(statistics.median(delays) * 1000, 2)
        result[f"{label}_at_{rate:g}_per_s_follower_p95_ms"] = round(statistics.quantiles(delays, n=20)[18] * 1000, 2)
    await hub.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50.0, help="events/s of each turn when timing followers")
    parser.add_argument("--postgres", help="SQLAlchemy URL of a PostgreSQL database to write to")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        urls = {"sqlite": f"sqlite:///{folder / 'bench.db'}", "postgresql": args.postgres}
        if urls["postgresql"] is None:
            from tests.postgres_server import postgres

            urls["postgresql"] = stack.enter_context(postgres()).replace("postgresql://", "postgresql+psycopg://")
        for name, url in urls.items():
            store = Store(url)
            store.migrate()
            report[name] = asyncio.run(_measure(store, events=args.events, conversations=args.conversations,
                                                   rate=args.rate))
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    for name, numbers in report.items():
        sys.stdout.write(f"{name}:\n" + "".join(f"  {key:46} {value}\n" for key, value in numbers.items()))


if __name__ == "__main__":
    main()
