"""Run cases: each conversation on a fresh copy of the store (in-process) or against a running server, with
repeats, worker processes and a progress bar; every run is judged by the evaluators."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel
from tqdm import tqdm

from agent.bootstrap import token_keys
from agent.llm.fake import ScriptedChatModel
from core.auth import issue_token
from core.settings import Settings
from evals.cases import Case
from evals.customer import ScriptedCustomer, Simulator
from evals.evaluators import (
    CallRecord,
    Counts,
    Miss,
    Observation,
    audit_calls,
    event_calls,
    judge,
    store_digest,
)
from evals.tau2.run import Tau2Agent, db_path, gold_agent, grade
from evals.tau2.user import LlmUser, ScriptedUser
from evals.transport import Chat, HttpChat, InProcessChat, TokenMeter, TurnRecord
from evals.world import CLOCKS, World, WorldSpec, build_template
from tools.store.tau2 import export_tau2


class RunOptions(BaseModel):
    """How to run (the command line's options)."""

    model: Path | None = None
    """GGUF to run in-process (None: the configured model, the default Qwen2.5-Coder-1.5B unless
    ``SUPPORT_MODEL`` says otherwise)."""
    repeat: int = 1
    workers: int = 1
    url: str | None = None
    """A running server to talk to instead of an in-process agent."""
    seed: int = 7
    """Sampling seed of the first repeat; repeat ``r`` uses ``seed + r``."""
    user_llm_url: str | None = None
    """OpenAI-compatible server that plays tau2 customers (None: the scripted customer)."""
    user_llm_model: str = "default"
    tau2_agent: Tau2Agent = "ours"
    reply_style: Literal["auto", "template", "model"] = "auto"
    """How replies about orders are worded (``SUPPORT_REPLY_STYLE``; ``auto``: as the server would)."""
    pause_seconds: float = 0.0
    """Time a customer takes to read each reply and write the next message."""
    prepare_next_turn: bool = True
    """Prepare the next planning prompt during the pause (``SUPPORT_PREPARE_NEXT_TURN``; only with a pause)."""


class RunResult(BaseModel):
    """One conversation's outcome."""

    id: str
    suite: str
    kind: str
    """``task``, ``attack``, ``benign`` or ``tau2``."""
    tags: list[str] = []
    description: str = ""
    repeat: int = 0
    passed: bool
    misses: list[Miss] = []
    notes: list[str] = []
    counts: Counts = Counts()
    turns: list[TurnRecord] = []
    calls: list[CallRecord] = []
    seconds: float = 0.0


# --- one run -------------------------------------------------------------------------------------------------

_WORLD: World | None = None


def _init_worker(spec: WorldSpec) -> None:
    global _WORLD
    _WORLD = World(spec)


def _close_world() -> None:
    global _WORLD
    if _WORLD is not None:
        _WORLD.close()
        _WORLD = None


def _world() -> World:
    assert _WORLD is not None, "worker world not initialised"
    return _WORLD


async def converse(chat: Chat, customer: Simulator, *, pause_seconds: float = 0.0) -> list[TurnRecord]:
    """Let the simulated customer and the agent talk until the customer has nothing more to say, reading each
    reply for ``pause_seconds``."""
    turns: list[TurnRecord] = []
    reply: str | None = None
    while (message := await asyncio.to_thread(customer.next_message, reply)) is not None:
        turn = await chat.say(message)
        turns.append(turn)
        reply = turn.reply
        await asyncio.sleep(pause_seconds)
    return turns


def _metered(model: Any, seed: int) -> TokenMeter:
    meter = TokenMeter()
    model.callbacks = [meter]
    if hasattr(model, "seed"):
        model.seed = seed
    return meter


def _customer(case: Case) -> ScriptedCustomer:
    s = case.scenario
    assert s is not None
    return ScriptedCustomer(s.turns, s.answers, customer=s.customer, max_turns=s.max_turns)


async def _scenario(case: Case, repeat: int, options: RunOptions) -> RunResult:
    world, s = _world(), case.scenario
    assert s is not None
    scripted = ScriptedChatModel(steps=list(s.model_script)) if s.model_script else None
    meter = _metered(scripted or world.model, options.seed + repeat)
    with world.deps(model=scripted, clock=CLOCKS[s.clock]) as deps:
        unchanged = s.expect.state is not None and s.expect.state.unchanged
        before = store_digest(deps.store) if unchanged else None
        chat = InProcessChat(deps, s.customer.id, meter=meter)
        turns = await converse(chat, _customer(case), pause_seconds=options.pause_seconds)
        cid = chat.conversation_id or ""
        obs = Observation(s, turns, audit_calls(deps.store, cid), cid, deps.store, before)
        misses = judge(obs)
    return _result(case, repeat, obs, misses)


async def _scenario_http(case: Case, repeat: int, options: RunOptions) -> RunResult:
    s = case.scenario
    assert s is not None and options.url is not None
    token = issue_token(token_keys(Settings()), role="customer", subject=s.customer.id) if s.customer.id else None
    async with httpx.AsyncClient(base_url=options.url, timeout=600) as client:
        chat = HttpChat(client, token=token)
        turns = await converse(chat, _customer(case), pause_seconds=options.pause_seconds)
    obs = Observation(s, turns, event_calls(turns), chat.conversation_id)
    if s.model_script:
        obs.notes.append("the server's own model answered (scripted models run in-process only)")
    if s.clock != "office_hours":
        obs.notes.append(f"the server's own clock ran ({s.clock} is set in-process only)")
    misses = judge(obs)
    return _result(case, repeat, obs, misses)


async def _tau2(case: Case, repeat: int, options: RunOptions) -> RunResult:
    world, task = _world(), case.tau2
    assert task is not None
    gold = options.tau2_agent == "gold"
    scripted = ScriptedChatModel() if gold else None  # None: the world's own model, planning as configured
    meter = _metered(scripted or world.model, options.seed + repeat)
    calls: list[CallRecord] = []
    with world.deps(store="tau2", model=scripted) as deps:
        if gold:
            agent_db, said = gold_agent(task, deps.store)
            turns = [TurnRecord(customer="(gold actions replayed)", reply=info) for info in said]
        else:
            customer: Simulator = (LlmUser(task.user_scenario, url=options.user_llm_url, model=options.user_llm_model,
                                           seed=options.seed + repeat) if options.user_llm_url
                                   else ScriptedUser(task.user_scenario))
            chat = InProcessChat(deps, None, meter=meter)
            turns = await converse(chat, customer, pause_seconds=options.pause_seconds)
            agent_db, said = export_tau2(deps.store), [t.reply for t in turns]
            calls = audit_calls(deps.store, chat.conversation_id or "")
    graded = grade(task, agent_db, said=said)
    misses = [Miss(check="tau2 database", expected="as after the gold actions", got=line) for line in graded.diff]
    misses += [Miss(check="tau2 information", expected=f"says {info!r}", got="never said")
               for info in graded.missing_info]
    return RunResult(id=case.id, suite=case.suite, kind="tau2", tags=case.tags, repeat=repeat,
                     passed=graded.passed, misses=misses, turns=_slim(turns), calls=calls,
                     description=str(task.user_scenario.get("instructions", ""))[:400])


def _result(case: Case, repeat: int, obs: Observation, misses: list[Miss]) -> RunResult:
    s = case.scenario
    assert s is not None
    return RunResult(id=case.id, suite=case.suite, kind=s.kind, tags=s.tags, description=s.description,
                     repeat=repeat, passed=not misses, misses=misses, notes=obs.notes, counts=obs.counts,
                     turns=_slim(obs.turns), calls=obs.calls)


def _slim(turns: list[TurnRecord]) -> list[TurnRecord]:
    """Turns without their text deltas (the reply and the shown text keep the words)."""
    return [t.model_copy(update={"events": [e for e in t.events if e["type"] != "text_delta"]}) for t in turns]


def run_one(case: Case, repeat: int, options: RunOptions) -> RunResult:
    """Run one case once (in a worker, or in this process after :func:`open_world`)."""
    started = time.perf_counter()
    try:
        if case.tau2 is not None:
            result = asyncio.run(_tau2(case, repeat, options))
        elif options.url:
            result = asyncio.run(_scenario_http(case, repeat, options))
        else:
            result = asyncio.run(_scenario(case, repeat, options))
    except Exception as exc:  # one broken run must not stop the suite; it fails with the reason
        result = RunResult(id=case.id, suite=case.suite, kind="tau2" if case.tau2 else case.scenario.kind,  # type: ignore[union-attr]
                           tags=case.tags, repeat=repeat, passed=False,
                           misses=[Miss(check="run", expected="the conversation runs", got=f"{type(exc).__name__}: "
                                                                                              f"{exc}"[:500])])
    result.seconds = round(time.perf_counter() - started, 3)
    if result.passed:
        result.turns = passing_turns(result.turns)
    return result


def passing_turns(turns: list[TurnRecord]) -> list[TurnRecord]:
    """A passing run's turns as the report keeps them: without events (they are not shown, and the report stays
    small), except the withdrawals, which the metrics count."""
    return [t.model_copy(update={"events": [e for e in t.events if e["type"] == "reply_replaced"]}) for t in turns]


# --- many runs -----------------------------------------------------------------------------------------------


def prepare(cases: list[Case], options: RunOptions, folder: Path) -> WorldSpec:
    """Build the template world the runs copy from."""
    tau2_dbs = sorted({db_path(c.tau2) for c in cases if c.tau2 is not None})
    if len(tau2_dbs) > 1:
        raise ValueError(f"one tau2 database per run, got {', '.join(map(str, tau2_dbs))}")
    if tau2_dbs and options.url:
        raise ValueError("tau2 tasks run in-process only: the store must be the task's database")
    build_template(folder, tau2_db=tau2_dbs[0] if tau2_dbs else None)
    threads = max(1, (os.cpu_count() or 1) // max(1, options.workers))
    return WorldSpec(template=folder, model_path=options.model, n_threads=threads, seed=options.seed,
                     reply_style=options.reply_style,
                     prepare_next_turn=options.prepare_next_turn and options.pause_seconds > 0)


def run_cases(cases: list[Case], options: RunOptions, *, progress: bool = True) -> list[RunResult]:
    """Every case ``options.repeat`` times; results in case order, then repeat."""
    jobs = [(case, repeat) for repeat in range(options.repeat) for case in cases]
    folder = Path(tempfile.mkdtemp(prefix="evals-template-"))
    try:
        spec = WorldSpec(template=folder) if options.url else prepare(cases, options, folder)
        results = list(_execute(jobs, options, spec, progress=progress))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    order = {(case.id, repeat): i for i, (case, repeat) in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r.id, r.repeat)])


def _execute(jobs: list[tuple[Case, int]], options: RunOptions, spec: WorldSpec, *,
             progress: bool) -> Iterator[RunResult]:
    bar = tqdm(total=len(jobs), desc="evals", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        if options.workers <= 1 and not options.url:
            _init_worker(spec)
            for case, repeat in jobs:
                yield _tick(bar, run_one(case, repeat, options))
            return
        pool: Executor
        if options.url and not any(case.tau2 for case, _ in jobs):
            pool = ThreadPoolExecutor(max_workers=options.workers)
        else:
            pool = ProcessPoolExecutor(max_workers=options.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_worker, initargs=(spec,))
        with pool:
            futures = [pool.submit(run_one, case, repeat, options) for case, repeat in jobs]
            for future in as_completed(futures):
                yield _tick(bar, future.result())
    finally:
        bar.close()
        _close_world()


def _tick(bar: tqdm[Any], result: RunResult) -> RunResult:
    bar.update(1)
    bar.set_postfix_str(f"{result.id} {'ok' if result.passed else 'FAIL'}"[:60], refresh=False)
    return result
