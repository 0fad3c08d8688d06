"""Run tau2-bench retail tasks end to end and grade them the way tau2 does.

The store is the tau2 database imported into ours; the customer is simulated from ``user_scenario`` only, and
the agent sees only what the customer says (an anonymous chat: it must verify who it is talking to). Grading
uses only ``evaluation_criteria``: the gold actions are replayed with tau2's semantics (:mod:`evals.tau2.oracle`)
on a fresh copy of the database and compared with the store the agent left (users, orders, products, as
:mod:`evals.tau2.compare` does), and every ``communicate_info`` string must appear in an agent message
(lower-cased, commas removed). ``nl_assertions`` need an LLM judge and are not graded.

The ``gold`` agent replays the gold actions on its fresh store (exported to tau2's shape) and says the
``communicate_info`` strings: it must score 100%, which proves the grader and the import/export round trip.
"""

from __future__ import annotations

import json
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from evals.tau2 import oracle
from evals.tau2.compare import diff
from evals.tau2.replay import oracle_side
from evals.tau2.tasks import Task
from tools.store import Store
from tools.store.tau2 import export_tau2

Tau2Agent = Literal["ours", "gold"]


class Tau2Case(BaseModel):
    """A task as the runner carries it: the simulated customer's instructions and where the task lives."""

    id: str
    tasks_file: Path
    user_scenario: dict[str, Any]
    """The only part of the task the simulated customer is built from."""


class Tau2Grade(BaseModel):
    db_match: bool
    diff: list[str] = []
    missing_info: list[str] = []
    """``communicate_info`` strings no agent message contained."""

    @property
    def passed(self) -> bool:
        return self.db_match and not self.missing_info


def load_tau2_cases(path: Path) -> list[Tau2Case]:
    """Every task of a tau2 tasks file (``db.json`` must sit beside it)."""
    if not (path.parent / "db.json").is_file():
        raise FileNotFoundError(f"{path.parent / 'db.json'} not found: a tau2 tasks file needs its db.json beside it")
    tasks = json.loads(path.read_text(encoding="utf-8"))
    return [Tau2Case(id=str(t["id"]), tasks_file=path.resolve(), user_scenario=t["user_scenario"]) for t in tasks]


@lru_cache(maxsize=4)
def _tasks(tasks_file: Path) -> dict[str, dict[str, Any]]:
    return {str(t["id"]): t for t in json.loads(tasks_file.read_text(encoding="utf-8"))}


@lru_cache(maxsize=2)
def _db_text(tasks_file: Path) -> str:
    return (tasks_file.parent / "db.json").read_text(encoding="utf-8")


def db_path(case: Tau2Case) -> Path:
    return case.tasks_file.parent / "db.json"


def _criteria(case: Tau2Case) -> dict[str, Any]:
    """The grader's view of the task (never given to the customer or the agent)."""
    return dict(_tasks(case.tasks_file)[case.id]["evaluation_criteria"] or {})


def _gold_task(case: Tau2Case) -> Task:
    return Task.model_validate(_tasks(case.tasks_file)[case.id])


def expected_db(case: Tau2Case) -> dict[str, Any]:
    """tau2's database after the gold actions, on a fresh copy."""
    return oracle_side(json.loads(_db_text(case.tasks_file)))(_gold_task(case)).db


def grade(case: Tau2Case, agent_db: dict[str, Any], *, said: list[str]) -> Tau2Grade:
    """Compare the agent's database with the gold one and check the information it had to give."""
    lines = diff(expected_db(case), agent_db)
    said = [m.lower().replace(",", "") for m in said]
    missing = [info for info in _criteria(case).get("communicate_info") or []
               if not any(str(info).lower() in m for m in said)]
    return Tau2Grade(db_match=not lines, diff=lines, missing_info=missing)


def gold_agent(case: Tau2Case, store: Store) -> tuple[dict[str, Any], list[str]]:
    """What a perfect agent leaves: the gold actions applied to the store's own export, and the info said."""
    db = export_tau2(store)
    for action in _gold_task(case).actions:
        with suppress(oracle.OracleError):  # tau2 refuses it too: a gold trajectory may try a wrong email first
            oracle.apply(db, action.name, action.arguments)
    return db, [str(info) for info in _criteria(case).get("communicate_info") or []]
