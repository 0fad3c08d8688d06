"""tau2-bench retail tasks, reduced to what a replay needs: the id and the gold actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import AliasPath, BaseModel, ConfigDict, Field

DEFAULT_TASKS = Path("../shared/external/tau2-bench/retail/tasks_train.json")
"""The 74 train tasks; ``db.json`` and ``policy.md`` sit beside them."""


class Action(BaseModel):
    """One gold tool call."""

    model_config = ConfigDict(extra="ignore")

    name: str
    arguments: dict[str, Any]


class Task(BaseModel):
    """A task's id and the tool calls that solve it, in order."""

    model_config = ConfigDict(extra="ignore", validate_by_name=True)

    id: str
    actions: list[Action] = Field(validation_alias=AliasPath("evaluation_criteria", "actions"))


def load_tasks(path: Path) -> list[Task]:
    """Every task in a tau2 ``tasks.json`` file."""
    return [Task.model_validate(task) for task in json.loads(path.read_text(encoding="utf-8"))]
