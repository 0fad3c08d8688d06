"""Replay tau2 tasks' gold actions through our tools and check the store ends where tau2's database would.

For each task the reference side applies the gold actions to tau2's JSON with :mod:`evals.tau2.oracle`; the
store side copies a template SQLite store holding the imported database, runs the same actions through
:func:`tools.execute` as the task's customer under ``tools/policy/tau2.yaml``, and exports the store back to
tau2's shape. Only users, orders and products are compared; audit rows and other records are not.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, computed_field

import tools
from evals.tau2 import oracle
from evals.tau2.compare import diff
from evals.tau2.tasks import Action, Task, load_tasks
from tools.policy import Policy, load_policy
from tools.store import Store
from tools.store.tau2 import export_tau2, import_tau2

TAU2_POLICY = Path(tools.__file__).parent / "policy" / "tau2.yaml"
_RENAMED = {
    "find_user_id_by_email": "verify_customer_by_email",
    "find_user_id_by_name_zip": "verify_customer_by_name_zip",
}
_SESSION_USER = frozenset({"modify_user_address", "get_user_details"})
"""Our versions take the customer from the session, not a ``user_id`` argument."""
_NO_COUNTERPART = frozenset({"calculate"})


class Refusal(BaseModel):
    """A gold action that did not go through."""

    step: int
    """Index of the action in the task's gold actions."""
    action: str
    """tau2's tool name."""
    tool: str
    """The tool that ran on that side."""
    outcome: str
    message: str


class TaskResult(BaseModel):
    task_id: str
    status: Literal["exact", "mismatch", "refused"]
    refusals: list[Refusal] = []
    """Actions our side refused and tau2 did not."""
    diff: list[str] = []
    """First differences between tau2's database and ours after the replay."""
    skipped: int = 0
    """Gold actions with no counterpart (``calculate``)."""
    accepted: list[Refusal] = []
    """Gold actions tau2 refuses (a wrong email tried first...) that our side carried out."""


class ReplayReport(BaseModel):
    actual: str
    """What was replayed against tau2: ``store`` (our tools) or ``oracle``."""
    results: list[TaskResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exact(self) -> int:
        return sum(result.status == "exact" for result in self.results)


@dataclass
class Run:
    """Where one side of a replay ended."""

    db: dict[str, Any]
    refusals: list[Refusal] = field(default_factory=list)


Side = Callable[[Task], Run]


def replay_file(tasks_path: Path, *, actual: Literal["store", "oracle"] = "store") -> ReplayReport:
    """Replay every task of a tasks file against the ``db.json`` beside it."""
    tasks = load_tasks(tasks_path)
    db = json.loads((tasks_path.parent / "db.json").read_text(encoding="utf-8"))
    if actual == "oracle":
        return replay(tasks, oracle_side(db), oracle_side(db), actual_name="oracle")
    with tempfile.TemporaryDirectory(prefix="tau2-replay-") as workdir:
        side = store_side(db, policy=load_policy(TAU2_POLICY), workdir=Path(workdir))
        return replay(tasks, oracle_side(db), side)


def replay(tasks: list[Task], expected: Side, actual: Side, *, actual_name: str = "store") -> ReplayReport:
    """Run both sides of every task and compare where they end."""
    return ReplayReport(actual=actual_name, results=[_compare(task, expected(task), actual(task)) for task in tasks])


def _compare(task: Task, expected: Run, actual: Run) -> TaskResult:
    refused_by_tau2 = {r.step for r in expected.refusals}
    refused_by_us = {r.step for r in actual.refusals}
    refusals = [r for r in actual.refusals if r.step not in refused_by_tau2]
    accepted = [r for r in expected.refusals if r.step not in refused_by_us]
    lines = diff(expected.db, actual.db)
    status: Literal["exact", "mismatch", "refused"] = "refused" if refusals else "mismatch" if lines else "exact"
    skipped = sum(action.name in _NO_COUNTERPART for action in task.actions)
    return TaskResult(task_id=task.id, status=status, refusals=refusals, diff=lines, skipped=skipped,
                      accepted=accepted)


def oracle_side(db: dict[str, Any]) -> Side:
    """Apply the gold actions to a fresh copy of ``db`` with tau2's semantics."""
    frozen = json.dumps(db)

    def run(task: Task) -> Run:
        state = json.loads(frozen)
        result = Run(state)
        for step, action in enumerate(task.actions):
            if action.name in _NO_COUNTERPART:
                continue
            try:
                oracle.apply(state, action.name, action.arguments)
            except oracle.OracleError as exc:
                result.refusals.append(Refusal(step=step, action=action.name, tool=action.name, outcome="error",
                                               message=str(exc)))
        return result

    return run


def store_side(db: dict[str, Any], *, policy: Policy, workdir: Path) -> Side:
    """Run the gold actions through our tools on a copy of a store holding ``db``."""
    template = workdir / "template.db"
    _build_template(db, template)

    def run(task: Task) -> Run:
        path = workdir / f"task-{task.id}.db"
        shutil.copyfile(template, path)
        store = Store(f"sqlite:///{path}")
        try:
            refusals = _run_tools(store, task, db, policy)
            return Run(export_tau2(store), refusals)
        finally:
            store.engine.dispose()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)

    return run


def _build_template(db: dict[str, Any], path: Path) -> None:
    store = Store(f"sqlite:///{path}")
    store.migrate()
    import_tau2(store, db)
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()


def _run_tools(store: Store, task: Task, db: dict[str, Any], policy: Policy) -> list[Refusal]:
    verifies = any(action.name in _RENAMED for action in task.actions)
    customer = None if verifies else _task_customer(task, db)
    refusals = []
    for step, action in enumerate(task.actions):
        call = our_call(action)
        if call is None:
            continue
        name, arguments = call
        result = tools.execute(store, name, arguments, policy=policy, conversation_id=f"tau2-{task.id}",
                               customer_id=customer)
        verified = result.data.get("customer_id") if action.name in _RENAMED else None
        if result.outcome != "done" or (action.name in _RENAMED and verified is None):
            refusals.append(Refusal(step=step, action=action.name, tool=name, outcome=result.outcome,
                                    message=result.message or "no customer matched"))
        customer = verified or customer
    return refusals


def our_call(action: Action) -> tuple[str, dict[str, Any]] | None:
    """Our tool and arguments for a tau2 action; None when it has no counterpart."""
    if action.name in _NO_COUNTERPART:
        return None
    if action.name == "transfer_to_human_agents":
        return "transfer_to_human", {"reason": "customer asked", "summary": action.arguments["summary"]}
    arguments = dict(action.arguments)
    if action.name in _SESSION_USER:
        arguments.pop("user_id", None)
    return _RENAMED.get(action.name, action.name), arguments


def _task_customer(task: Task, db: dict[str, Any]) -> str | None:
    """For tasks that never look the customer up: the user named by the first ``user_id`` or order."""
    for action in task.actions:
        arguments = action.arguments
        if "user_id" in arguments:
            return arguments["user_id"]
        if arguments.get("order_id") in db["orders"]:
            return db["orders"][arguments["order_id"]]["user_id"]
    return None
