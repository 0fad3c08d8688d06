"""Chat speed benchmark: the same final prompt through raw llama-cpp-python and through the HTTP API, in one run.

    .venv/bin/python scripts/bench_chat.py [--runs 8] [--concurrent 20] [--slots N] [--data-dir DIR] [--json FILE]

1. A help-center question goes through the server; the prompt the graph gives the model is recorded. The first
   candidate question whose model-written answer the guardrails release unchanged is used (with a weak model they
   may withdraw every answer: then the client gets the quoted passage and only the in-server numbers compare).
2. That prompt runs through the server's own ``Llama`` object directly (raw), alternating with the question over
   HTTP (``POST /v1/chat``), so both see the same KV cache: ``warm`` repeats the previous prompt (llama.cpp reuses
   the matching prefix), ``cold`` resets the cache first. For the HTTP path a callback inside the server times the
   model's tokens, and the client times the text it receives. Reported: time to the first token, to the first
   sentence (the guardrails release whole sentences, so that is the first text the API can send), tokens/s.
3. Typical customer turns (orders, help center, handoff, small talk), one at a time: time to the first text.
4. ``--concurrent`` conversations at once: errors, p50/p95 time to the first text, total time.

The server runs in this process (uvicorn on loopback) on a temporary data folder unless ``--data-dir`` is given;
rate limits are lifted for the benchmark, and the model words help-center answers (``SUPPORT_ANSWER_STYLE=model``,
the slower path; with the bundled model a server quotes them by default). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

import httpx
import uvicorn
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage

from agent.bootstrap import build_deps, token_keys
from agent.guardrails import SentenceGate
from agent.llm import ChatLlamaCpp
from agent.nodes.respond import ANSWER_MAX_TOKENS, ANSWER_STOP
from core.auth import issue_token
from core.settings import Settings
from server import create_app

CANDIDATES = [
    "how long does a refund take?",
    "do you ship internationally?",
    "how do I reset my password?",
    "how long do I have to return an item?",
    "how long does standard shipping take?",
    "can I pay with paypal?",
]
"""Help-center questions the model words an answer to; the comparison uses the first whose answer is released."""
TYPICAL = [
    "hi",
    "Where is my order #W4821002?",
    "how long do I have to return an item?",
    "has my order shipped yet?",
    "how long does standard shipping take?",
    "can I pay with paypal?",
    "I want to talk to a human",
    "do you ship internationally?",
    "where is my order #W4821001",
    "thanks, bye",
]
CUSTOMER = "olivia_martin_4821"


@dataclass
class Run:
    """Text pieces with their arrival times (seconds after the request)."""

    marks: list[tuple[float, str]] = field(default_factory=list)
    error: str | None = None
    replaced: bool = False
    """The guardrails withdrew the model's reply (a quoted passage was sent instead)."""
    started: float = 0.0
    accepted: float | None = None
    """When the first event (``customer_message``) arrived: the HTTP layer's share before the agent starts."""

    @property
    def first(self) -> float:
        return self.marks[0][0]

    @property
    def text(self) -> str:
        return "".join(piece for _, piece in self.marks)

    def first_sentence(self) -> float:
        """When the sentence gate would have released the first sentence."""
        gate = SentenceGate()
        for at, piece in self.marks:
            if gate.feed(piece):
                return at
        return self.marks[-1][0]

    def tokens_per_second(self, count: Callable[[str], int]) -> float | None:
        """Tokens after the first piece, over the time from the first piece to the last."""
        span = self.marks[-1][0] - self.marks[0][0]
        after = count(self.text) - count(self.marks[0][1])
        return after / span if span > 0 and after > 0 else None


class ModelClock(BaseCallbackHandler):
    """Inside the server: the messages of every chat-model call and when each streamed token came out."""

    def __init__(self) -> None:
        self.prompts: list[list[BaseMessage]] = []
        self.tokens: list[tuple[float, str]] = []

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **_: Any) -> None:
        self.prompts.append(messages[0])
        self.tokens = []

    def on_llm_new_token(self, token: str, **_: Any) -> None:
        self.tokens.append((time.perf_counter(), token))

    def since(self, started: float) -> Run:
        """The last call's tokens, timed from ``started``."""
        return Run([(at - started, token) for at, token in self.tokens])


# --- the two paths ---------------------------------------------------------------------------------
def raw_run(model: ChatLlamaCpp, prompt: list[BaseMessage], *, cold: bool) -> Run:
    """The recorded prompt straight through llama-cpp-python, with the graph's generation parameters."""
    params = model._params(prompt, ANSWER_STOP, max_tokens=ANSWER_MAX_TOKENS)
    llama, run = model._llama, Run()
    with model._lock:
        if cold:
            llama.reset()
        started = time.perf_counter()
        for part in llama.create_chat_completion(stream=True, **params):
            piece = part["choices"][0]["delta"].get("content") or ""
            if piece:
                run.marks.append((time.perf_counter() - started, piece))
    return run


def _sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    data: list[str] = []
    for line in response.iter_lines():
        if not line and data:
            yield json.loads("\n".join(data))
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def http_run(client: httpx.Client, question: str, headers: dict[str, str]) -> Run:
    """One turn over ``POST /v1/chat`` in a new conversation: the text deltas as they arrive. The client is
    made once: making one per request (its TLS context) costs more CPU than the server's whole overhead."""
    run = Run(started=time.perf_counter())
    with client.stream("POST", "/v1/chat", json={"message": question}, headers=headers) as response:
        if response.status_code != 200:
            return Run(error=f"HTTP {response.status_code}")
        for event in _sse(response):
            if event["type"] == "customer_message":
                run.accepted = time.perf_counter() - run.started
            elif event["type"] == "text_delta":
                run.marks.append((time.perf_counter() - run.started, event["text"]))
            elif event["type"] == "reply_replaced":
                run.replaced = True
            elif event["type"] == "error":
                run.error = event["message"]
    return run


async def http_run_async(client: httpx.AsyncClient, question: str, headers: dict[str, str]) -> Run:
    run, started = Run(), time.perf_counter()
    async with client.stream("POST", "/v1/chat", json={"message": question}, headers=headers) as response:
        if response.status_code != 200:
            return Run(error=f"HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"type":"text_delta"' in line:
                run.marks.append((time.perf_counter() - started, json.loads(line[5:])["text"]))
            elif line.startswith("data:") and '"type":"error"' in line:
                run.error = json.loads(line[5:])["message"]
    if not run.marks and run.error is None:
        run.error = "no text"
    return run


# --- the server ------------------------------------------------------------------------------------
def start_server(settings: Settings, deps: Any) -> tuple[str, Callable[[], None]]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings, deps_factory=lambda _: deps), host="127.0.0.1",
                                           port=0, log_level="warning", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    while httpx.get(f"{base}/healthz").status_code != 200:
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return base, stop


# --- reporting -------------------------------------------------------------------------------------
def say(text: str, *, flush: bool = False) -> None:
    sys.stdout.write(text + "\n")
    if flush:
        sys.stdout.flush()


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:7.1f} ms"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def compare(model: ChatLlamaCpp, clock: ModelClock, *, question: str, client: httpx.Client, headers: dict[str, str],
            runs: int, cold: bool) -> dict[str, Any]:
    """The recorded prompt raw, then ``question`` over HTTP, alternately, ``runs`` times."""
    prompt = clock.prompts[-1]
    count = _counter(model)
    raw, api, inside = [], [], []
    for _ in range(runs):
        raw.append(raw_run(model, prompt, cold=cold))
        if cold:
            with model._lock:
                model._llama.reset()
        clock.tokens = []
        api.append(http_run(client, question, headers))
        inside.append(clock.since(api[-1].started))
        if not inside[-1].marks:
            raise SystemExit(f"{question!r} did not reach the model this time")
    return {
        "runs": runs,
        "raw_first_token": median([r.first for r in raw]),
        "raw_first_sentence": median([r.first_sentence() for r in raw]),
        "raw_tokens_per_s": median([r.tokens_per_second(count) for r in raw]),
        "api_model_first_token": median([r.first for r in inside]),
        "api_model_first_sentence": median([r.first_sentence() for r in inside]),
        "api_model_tokens_per_s": median([r.tokens_per_second(count) for r in inside]),
        "api_first_text": median([r.first for r in api if r.marks]),
        "api_delivered_tokens_per_s": median([_delivered_rate(a, i, count) for a, i in zip(api, inside, strict=True)]),
        "same_text": sum(r.text == i.text for r, i in zip(raw, inside, strict=True)),
        "replaced": sum(r.replaced for r in api),
    }


def _delivered_rate(api: Run, inside: Run, count: Callable[[str], int]) -> float | None:
    """Tokens the client received per second, from the model's first token to the last text received."""
    if not api.marks or not inside.marks or api.replaced:
        return None
    span = api.marks[-1][0] - inside.marks[0][0]
    return count(api.text) / span if span > 0 else None


def pick_question(client: httpx.Client, headers: dict[str, str], clock: ModelClock) -> str:
    """The first help-center question whose model-written answer the guardrails release as it is (else the first
    that reaches the model: then the client sees the quoted passage instead, and only the in-server numbers
    compare with raw)."""
    reaching = []
    for question in CANDIDATES:
        clock.tokens = []
        run = http_run(client, question, headers)
        if clock.tokens and run.marks and not run.replaced:
            return question
        if clock.tokens:
            reaching.append(question)
    if not reaching:
        raise SystemExit("no candidate question reached the model")
    return reaching[0]


def _counter(model: ChatLlamaCpp) -> Callable[[str], int]:
    return lambda text: len(model._llama.tokenize(text.encode(), add_bos=False, special=False))


def typical(client: httpx.Client, headers: dict[str, str], rounds: int) -> dict[str, Any]:
    firsts: dict[str, list[float]] = {question: [] for question in TYPICAL}
    accepted = []
    for _ in range(rounds):
        for question in TYPICAL:
            run = http_run(client, question, headers)
            if run.marks:
                firsts[question].append(run.first)
            if run.accepted is not None:
                accepted.append(run.accepted)
    every = [t for times in firsts.values() for t in times]
    return {"p50": statistics.median(every), "p95": pct(every, 0.95), "accepted_p50": statistics.median(accepted),
            "by_question": {q: statistics.median(t) for q, t in firsts.items() if t}}


async def concurrent(base: str, settings: Settings, conversations: int) -> dict[str, Any]:
    headers = [{"Authorization": f"Bearer {issue_token(token_keys(settings), role='customer', subject=f'bench-{n}')}"}
               for n in range(conversations)]
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=httpx.Limits(max_connections=100)) as client:
        runs = await asyncio.gather(*(http_run_async(client, TYPICAL[n % len(TYPICAL)], headers[n])
                                      for n in range(conversations)))
    firsts = [r.first for r in runs if r.marks]
    return {"conversations": conversations, "errors": [r.error for r in runs if r.error], "p50": pct(firsts, 0.5),
            "p95": pct(firsts, 0.95), "total_s": time.perf_counter() - started}


def report(results: dict[str, Any]) -> None:
    say(f"\nquestion: {results['question']!r}")
    for mode in ("warm", "cold"):
        r = results[mode]
        say(f"\n== the same final prompt, {mode} KV cache ({r['runs']} runs of each path, medians) ==")
        say(f"  raw llama-cpp-python: first token {ms(r['raw_first_token'])}, first sentence "
            f"{ms(r['raw_first_sentence'])}, {r['raw_tokens_per_s']:.1f} tokens/s")
        say(f"  HTTP, in the server:  first token {ms(r['api_model_first_token'])}, first sentence "
            f"{ms(r['api_model_first_sentence'])}, {r['api_model_tokens_per_s']:.1f} tokens/s "
            f"(same tokens as raw in {r['same_text']}/{r['runs']})")
        say(f"  HTTP, at the client:  first text  {ms(r['api_first_text'])}, "
            f"{r['api_delivered_tokens_per_s'] or 0:.1f} tokens/s delivered ({r['replaced']} replies withdrawn)")
        say(f"  -> first token: {ms(r['api_model_first_token'] - r['raw_first_token'])} over raw (target <= 30 ms); "
            f"first text: {ms(r['api_first_text'] - r['raw_first_sentence'])} over raw's first sentence")
        if r["api_delivered_tokens_per_s"]:
            say(f"  -> streamed tokens/s: {100 * r['api_delivered_tokens_per_s'] / r['raw_tokens_per_s']:.0f}% of raw "
                "(target >= 95%)")
    t = results["typical"]
    say(f"\n== typical turns, one at a time: first text p50 {ms(t['p50'])} (target <= 300 ms), p95 {ms(t['p95'])}; "
        f"request to the echoed customer_message p50 {ms(t['accepted_p50'])}")
    for question, first in t["by_question"].items():
        say(f"  {ms(first)}  {question}")
    c = results["concurrent"]
    say(f"\n== {c['conversations']} concurrent conversations: {len(c['errors'])} errors, first text "
        f"p50 {ms(c['p50'])}, p95 {ms(c['p95'])}, all done in {c['total_s']:.1f} s")
    if c["errors"]:
        say(f"  errors: {c['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="runs of each path per cache mode")
    parser.add_argument("--typical-rounds", type=int, default=3, help="rounds over the typical turns")
    parser.add_argument("--concurrent", type=int, default=20, help="conversations streaming at once")
    parser.add_argument("--slots", type=int, help="SUPPORT_MAX_CONCURRENT_TURNS for this run (default: setting)")
    parser.add_argument("--data-dir", type=Path, help="data folder (default: a new temporary one)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-chat-"))
    overrides = {"max_concurrent_turns": args.slots} if args.slots else {}
    settings = Settings(data_dir=data_dir, customer_turns_per_minute=100_000, ip_turns_per_minute=100_000,
                        max_queued_turns=max(32, args.concurrent), answer_style="model", **overrides)
    say(f"data: {data_dir}; preparing store, knowledge base and model...", flush=True)
    deps = build_deps(settings)
    model = deps.model
    if not isinstance(model, ChatLlamaCpp):
        raise SystemExit("the benchmark compares against llama-cpp-python: use SUPPORT_LLM_BACKEND=llama_cpp")
    clock = ModelClock()
    model.callbacks = [clock]
    base, stop = start_server(settings, deps)
    client = httpx.Client(base_url=base, timeout=300)
    try:
        headers = {"Authorization": f"Bearer {issue_token(token_keys(settings), role='customer', subject=CUSTOMER)}"}
        question = pick_question(client, headers, clock)
        http_run(client, question, headers)  # records this question's final prompt
        say(f"model: {model.model_path.name}, {model.n_threads or os.cpu_count()} threads; "
            f"{settings.max_concurrent_turns} turn(s) at once", flush=True)
        results = {
            "question": question,
            "warm": compare(model, clock, question=question, client=client, headers=headers, runs=args.runs,
                            cold=False),
            "cold": compare(model, clock, question=question, client=client, headers=headers, runs=args.runs,
                            cold=True),
            "typical": typical(client, headers, args.typical_rounds),
            "concurrent": asyncio.run(concurrent(base, settings, args.concurrent)),
        }
    finally:
        client.close()
        stop()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=lambda o: asdict(o)))


if __name__ == "__main__":
    main()
