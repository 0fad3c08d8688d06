"""Several API processes on one PostgreSQL database, and the model behind a model server against the model
in-process.

    .venv/bin/python scripts/bench_cluster.py [--processes 3] [--conversations 200] [--turns 3]
                                              [--with-model] [--model-conversations 20] [--json FILE]

1. Fast-path turns, no model. A throwaway PostgreSQL server (Debian's package, as the tests start it) and
   ``python server.py --port P`` processes on it: 1, then 2, then up to ``--processes`` (one more each round).
   Their model is a server that is not there (``SUPPORT_LLM_BACKEND=openai`` pointed nowhere), the intent router
   reads the messages and replies are said as code writes them (``SUPPORT_REPLY_STYLE=template``), so turns are
   answered from templates without a model ("Where is my order #W4821002?").
   Rate limits are raised and the turn queue widened (64 turns at once) for the benchmark. Each round starts
   ``--conversations`` conversations at once, spread over the processes: each is created on one process,
   followed (``GET .../events``) on the next, and its ``--turns`` turns are sent to each process in turn. Checked:
   no HTTP error or ``error`` event; every conversation's follower gets every stored event exactly once, its ids
   contiguous from 1, the same events each turn's own stream got. Reported: time from sending a message to its
   first event and to its first text (p50/p95), turns/s over the round, and the most connections PostgreSQL
   had open at once.
2. ``--with-model``: ``--model-conversations`` conversations at once asking help-center questions whose answers
   the default model writes (``SUPPORT_ANSWER_STYLE=model``, the router reading the questions). First, two API
   processes share the model behind one ``python -m llama_cpp.server`` (``SUPPORT_LLM_BACKEND=openai``); then one
   API process runs the model itself (the default backend: each more process would load another copy). Checked:
   no error and every turn streamed text. Reported: first text p50/p95, and the tokens of all the text streamed
   (a reply the output rails withdrew streams the quoted passage instead: counted apart) over the round's time.
   The model server is started with ``--interrupt_requests False``: by default it cuts a streaming answer short
   as soon as another request waits. Long: it keeps both cores busy for several minutes.

The benchmark client runs on the same machine as the servers and the database, and the machine's other load
shows in the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

import httpx
from sqlalchemy import create_engine, text

from agent.bootstrap import token_keys
from agent.llm.models import DEFAULT_MODEL, model_path
from core.auth import issue_token
from core.settings import Settings
from tests.postgres_server import postgres
from tests.server_processes import ServerProcess, server_processes
from tests.server_processes import api_environment as _api_environment
from tests.sse import aiter_events

API = [sys.executable, "server.py"]
CUSTOMER = "olivia_martin_4821"
FAST_TURN = "Where is my order #W4821002?"
"""Answered from a template after an order look-up: no model."""
QUESTIONS = ["how long does a refund take?", "do you ship internationally?", "how do I reset my password?",
             "how long do I have to return an item?", "can I pay with paypal?"]
"""Help-center questions whose answers the model writes."""
NOWHERE = "http://127.0.0.1:9/v1"
"""A model server that is not there: every turn of the fast-path rounds is answered without one."""
UNLIMITED = {"customer_turns_per_minute": "1000000", "ip_turns_per_minute": "1000000",
             "reads_per_minute": "1000000", "max_open_streams": "100000"}
"""Rate limits raised for the benchmark: one customer at one address sends every message."""
WIDE_QUEUE = {"max_concurrent_turns": "64", "max_queued_turns": "10000"}
"""The fast-path rounds' turn queue: as many turns at once as the setting allows, and room for the rest."""
CLIENT_LIMITS = httpx.Limits(max_connections=2000, max_keepalive_connections=0)
"""A connection per request: a kept-alive one the server closes meanwhile (idle for 5 s) would fail a request."""
FOLLOWER_GRACE_SECONDS = 30
"""How long after the last turn's ``done`` a follower may take to see it too."""


# --- one turn, one conversation, as the client sees them ------------------------------------------------------
@dataclass
class Turn:
    """One turn's own stream (``POST .../messages``), timed from the request."""

    events: list[dict[str, Any]] = field(default_factory=list)
    texts: list[tuple[float, str]] = field(default_factory=list)
    first_event: float | None = None
    error: str | None = None

    @property
    def first_text(self) -> float | None:
        return self.texts[0][0] if self.texts else None


async def send(client: httpx.AsyncClient, base: str, conversation: str, headers: dict[str, str],
               message: str) -> Turn:
    turn, started = Turn(), time.perf_counter()
    try:
        async with client.stream("POST", f"{base}/v1/conversations/{conversation}/messages",
                                 json={"message": message}, headers=headers) as response:
            if response.status_code != 200:
                turn.error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
                return turn
            async for event in aiter_events(response):
                turn.events.append(event)
                at = time.perf_counter() - started
                turn.first_event = turn.first_event or at
                if event["type"] == "text_delta":
                    turn.texts.append((at, event["text"]))
                elif event["type"] == "error":
                    turn.error = f"error event: {event['message']}"
    except httpx.HTTPError as exc:
        turn.error = f"{type(exc).__name__}: {exc}"
    return turn


async def new_conversation(client: httpx.AsyncClient, base: str, headers: dict[str, str]) -> str:
    response = await client.post(f"{base}/v1/conversations", headers=headers)
    response.raise_for_status()
    return response.json()["id"]


@dataclass
class Follower:
    """A client following a conversation's events on one process until its ``dones``-th ``done``."""

    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, client: httpx.AsyncClient, base: str, conversation: str, headers: dict[str, str], *,
                     dones: int) -> None:
        try:
            async with client.stream("GET", f"{base}/v1/conversations/{conversation}/events",
                                     headers=headers) as response:
                if response.status_code != 200:
                    self.error = f"follower HTTP {response.status_code}"
                    return
                self.opened.set()
                async for event in aiter_events(response):
                    self.events.append(event)
                    dones -= event["type"] == "done"
                    if not dones:
                        return
        except httpx.HTTPError as exc:
            self.error = f"follower {type(exc).__name__}: {exc}"
        except asyncio.CancelledError:
            self.error = f"follower still waiting for {dones} done(s) after the last turn ended"
            self.error += f" ({len(self.events)} events seen)"
            raise
        finally:
            self.opened.set()


def seq(event: dict[str, Any]) -> int:
    return int(event["id"].rsplit(":", 1)[1])


def check_conversation(turns: list[Turn], follower: Follower, stored: int) -> tuple[int, int, bool]:
    """``(lost, duplicated, out of order)`` of one conversation's events: the follower must get each of the
    ``stored`` events once, numbered 1, 2, 3..., and each turn's own stream the same events, up to ``done``."""
    followed = [seq(e) for e in follower.events]
    lost = len(set(range(1, stored + 1)) - set(followed))
    duplicated = len(followed) - len(set(followed))
    by_seq = {seq(e): e for e in follower.events}
    for turn in turns:
        own = [seq(e) for e in turn.events]
        lost += sum(by_seq.get(s) != e for s, e in zip(own, turn.events, strict=True))
        lost += not turn.error and (not turn.events or turn.events[-1]["type"] != "done")  # stopped short
        duplicated += len(own) - len(set(own))
    in_order = followed == sorted(followed) and all(
        [seq(e) for e in t.events] == sorted(seq(e) for e in t.events) for t in turns)
    return lost, duplicated, not in_order


# --- the fast-path rounds --------------------------------------------------------------------------------------
async def fast_round(bases: list[str], headers: dict[str, str], url: str, *, conversations: int,
                     turns: int) -> dict[str, Any]:
    """``conversations`` at once over ``bases``, each of ``turns`` turns, with a follower on another process."""
    async with httpx.AsyncClient(timeout=300, limits=CLIENT_LIMITS) as client:
        ids = await asyncio.gather(*(new_conversation(client, bases[n % len(bases)], headers)
                                     for n in range(conversations)))
        followers = [Follower() for _ in ids]
        following = [asyncio.create_task(f.follow(client, bases[(n + 1) % len(bases)], c, headers, dones=turns))
                     for n, (f, c) in enumerate(zip(followers, ids, strict=True))]
        await asyncio.gather(*(f.opened.wait() for f in followers))

        async def converse(n: int, conversation: str) -> list[Turn]:
            return [await send(client, bases[(n + t) % len(bases)], conversation, headers, FAST_TURN)
                    for t in range(turns)]

        started = time.perf_counter()
        runs = await asyncio.gather(*(converse(n, c) for n, c in enumerate(ids)))
        elapsed = time.perf_counter() - started
        _, late = await asyncio.wait(following, timeout=FOLLOWER_GRACE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    stored = stored_events(url, ids)
    checked = [check_conversation(r, f, stored.get(c, 0)) for r, f, c in zip(runs, followers, ids, strict=True)]
    every = [turn for run in runs for turn in run]
    errors = [t.error for t in every if t.error] + [f.error for f in followers if f.error]
    return {"processes": len(bases), "conversations": conversations, "turns": len(every), "errors": len(errors),
            "error_samples": Counter(errors).most_common(5), "lost_events": sum(c[0] for c in checked),
            "duplicated_events": sum(c[1] for c in checked), "out_of_order_conversations": sum(c[2] for c in checked),
            "events": sum(stored.values()),
            "first_event": percentiles([t.first_event for t in every]),
            "first_text": percentiles([t.first_text for t in every]),
            "seconds": round(elapsed, 2), "turns_per_s": round(len(every) / elapsed, 1)}


def stored_events(url: str, conversations: list[str]) -> dict[str, int]:
    """How many events each conversation has in the table (checked gap-free: as many as its last number)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT conversation_id, count(*), max(seq) FROM conversation_events"
                                       " WHERE conversation_id = ANY(:ids) GROUP BY conversation_id"),
                                  {"ids": conversations}).all()
    engine.dispose()
    assert all(count == last for _, count, last in rows), "the table has a gap in a conversation's numbers"
    return {conversation: count for conversation, count, _ in rows}


def percentiles(seconds: list[float | None]) -> dict[str, float | None]:
    """p50 and p95 in milliseconds of the values present."""
    present = sorted(s for s in seconds if s is not None)
    if not present:
        return {"p50_ms": None, "p95_ms": None}
    cut = present[min(len(present) - 1, round(0.95 * (len(present) - 1)))]
    return {"p50_ms": round(statistics.median(present) * 1000, 1), "p95_ms": round(cut * 1000, 1)}


class ConnectionPeak:
    """The most client connections PostgreSQL had open at once, sampled every 0.2 s while running."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak = 0
        with self._engine.connect() as connection:
            self.max_connections = int(connection.scalar(text("SHOW max_connections")))

    def _sample(self) -> None:
        with self._engine.connect() as connection:
            while not self._stop.wait(0.2):
                count = connection.scalar(text("SELECT count(*) FROM pg_stat_activity"
                                               " WHERE backend_type = 'client backend'"))
                self.peak = max(self.peak, int(count))

    @contextmanager
    def running(self) -> Iterator[ConnectionPeak]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._engine.dispose()


def api_environment(url: str, data_dir: Path, secret: str, **settings: str) -> dict[str, str]:
    """The environment of one API process on the database, rate limits raised (:data:`UNLIMITED`) unless
    ``settings`` (``SUPPORT_<NAME>`` values) say otherwise."""
    return _api_environment(url, data_dir, secret, **{**UNLIMITED, **settings})


def fast_path(url: str, folder: Path, secret: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    headers = customer_headers(secret)
    rounds = []
    with ExitStack() as stack:
        bases: list[str] = []
        for n in range(1, args.processes + 1):
            env = api_environment(url, folder / f"api-{n}", secret, llm_backend="openai", openai_base_url=NOWHERE,
                                  planner="router", reply_style="template", **WIDE_QUEUE)
            [server] = stack.enter_context(server_processes(API, [env], log_folder=folder))
            bases.append(server.base)
            asyncio.run(fast_round(bases, headers, url, conversations=4 * n, turns=args.turns))  # warm-up
            with ConnectionPeak(url).running() as connections:
                measured = asyncio.run(fast_round(bases, headers, url, conversations=args.conversations,
                                                  turns=args.turns))
            rounds.append({**measured, "peak_connections": connections.peak,
                           "max_connections": connections.max_connections})
            say(format_fast(rounds[-1]))
    return rounds


# --- the model rounds ------------------------------------------------------------------------------------------
async def model_round(bases: list[str], headers: dict[str, str], conversations: int,
                      count: Callable[[str], int]) -> dict[str, Any]:
    """``conversations`` at once over ``bases``, one help-center question each."""
    async with httpx.AsyncClient(timeout=1800, limits=CLIENT_LIMITS) as client:

        async def ask(n: int) -> Turn:
            base = bases[n % len(bases)]
            return await send(client, base, await new_conversation(client, base, headers), headers,
                              QUESTIONS[n % len(QUESTIONS)])

        started = time.perf_counter()
        turns = await asyncio.gather(*(ask(n) for n in range(conversations)))
        elapsed = time.perf_counter() - started
    errors = [t.error for t in turns if t.error] + ["no text" for t in turns if not t.texts and not t.error]
    tokens = [count("".join(piece for _, piece in t.texts)) for t in turns]
    replaced = sum(any(e["type"] == "reply_replaced" for e in t.events) for t in turns)
    return {"api_processes": len(bases), "conversations": conversations, "errors": len(errors),
            "error_samples": Counter(errors).most_common(5), "replies_replaced": replaced,
            "first_text": percentiles([t.first_text for t in turns]), "tokens": sum(tokens),
            "seconds": round(elapsed, 1), "tokens_per_s": round(sum(tokens) / elapsed, 1)}


def model_comparison(url: str, folder: Path, secret: str, args: argparse.Namespace) -> dict[str, Any]:
    from llama_cpp import Llama

    model = model_path(DEFAULT_MODEL)
    if not model.is_file():
        raise SystemExit(f"{model} is missing: run `make setup` first")
    vocabulary = Llama(model_path=str(model), vocab_only=True, verbose=False)

    def count(written: str) -> int:
        return len(vocabulary.tokenize(written.encode(), add_bos=False, special=False)) if written else 0

    headers = customer_headers(secret)
    wording = {"answer_style": "model", "planner": "router"}
    model_server = [sys.executable, "-m", "agent.llm.model_server", "--model", str(model), "--host", "127.0.0.1",
                    "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 2), "--interrupt_requests", "False",
                    "--verbose", "False"]
    results = {}
    with server_processes(model_server, [dict(os.environ)], health="/v1/models", log_folder=folder) as [server]:
        envs = [api_environment(url, folder / f"model-api-{n}", secret, llm_backend="openai",
                                openai_base_url=f"{server.base}/v1", openai_timeout_seconds="600", **wording)
                for n in (1, 2)]
        with server_processes(API, envs, log_folder=folder) as api:
            results["model_server"] = measure_model(api, headers, args.model_conversations, count)
    in_process = api_environment(url, folder / "model-api-in-process", secret, **wording)
    with server_processes(API, [in_process], log_folder=folder) as api:
        results["in_process"] = measure_model(api, headers, args.model_conversations, count)
    return results


def measure_model(api: list[ServerProcess], headers: dict[str, str], conversations: int,
                  count: Callable[[str], int]) -> dict[str, Any]:
    bases = [server.base for server in api]
    for base in bases:  # the first prompt evaluates the fixed instructions once: not measured
        asyncio.run(model_round([base], headers, 1, count))
    measured = asyncio.run(model_round(bases, headers, conversations, count))
    say(format_model(measured))
    return measured


# --- the run ---------------------------------------------------------------------------------------------------
def customer_headers(secret: str) -> dict[str, str]:
    keys = token_keys(Settings(_env_file=None, jwt_secret=secret))  # type: ignore[call-arg]
    return {"Authorization": f"Bearer {issue_token(keys, role='customer', subject=CUSTOMER)}"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def format_fast(r: dict[str, Any]) -> str:
    return (f"{r['processes']} process(es): {r['turns']} turns in {r['conversations']} conversations, "
            f"{r['errors']} errors, {r['lost_events']} lost and {r['duplicated_events']} duplicated of "
            f"{r['events']} events ({r['out_of_order_conversations']} conversations out of order); "
            f"first event p50 {r['first_event']['p50_ms']} ms, p95 {r['first_event']['p95_ms']} ms; "
            f"first text p50 {r['first_text']['p50_ms']} ms, p95 {r['first_text']['p95_ms']} ms; "
            f"{r['turns_per_s']} turns/s; PostgreSQL connections at most "
            f"{r['peak_connections']} of {r['max_connections']}" + _samples(r))


def format_model(r: dict[str, Any]) -> str:
    return (f"{r['conversations']} conversations on {r['api_processes']} API process(es): {r['errors']} errors, "
            f"{r['replies_replaced']} replies replaced by the quoted passage; first text p50 "
            f"{r['first_text']['p50_ms']} ms, p95 {r['first_text']['p95_ms']} ms; {r['tokens']} tokens streamed in "
            f"{r['seconds']} s = {r['tokens_per_s']} tokens/s" + _samples(r))


def _samples(r: dict[str, Any]) -> str:
    return f"\n  errors: {r['error_samples']}" if r["error_samples"] else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=3, help="API processes in the last fast-path round (0: none)")
    parser.add_argument("--conversations", type=int, default=200, help="conversations at once per round")
    parser.add_argument("--turns", type=int, default=3, help="turns per conversation")
    parser.add_argument("--with-model", action="store_true", help="also compare the model server with in-process")
    parser.add_argument("--model-conversations", type=int, default=20, help="conversations at once with the model")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    secret = secrets.token_urlsafe(32)
    results: dict[str, Any] = {"cpus": os.cpu_count()}
    with postgres() as started:
        url = started.replace("postgresql://", "postgresql+psycopg://")
        say(f"PostgreSQL at {url}; data and server logs in {folder}")
        results["fast_path"] = fast_path(url, folder, secret, args)
        if args.with_model:
            results["model"] = model_comparison(url, folder, secret, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
