"""Turn the PATHs given to ``python -m evals run`` into cases: suite files and folders of them, the guardrail
red-team and benign sets (``evals/data/redteam*.yaml``, ``benign*.yaml``) and tau2 tasks files."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evals import _yaml
from evals import guardrails as guardrail_sets
from evals.scenario import Answers, Customer, Expect, Guardrails, Scenario, SuiteFile
from evals.tau2.run import Tau2Case, load_tau2_cases

FormatError = _yaml.FormatError
GUARDRAIL_CUSTOMER = Customer(id=guardrail_sets.CUSTOMER)


class Case(BaseModel):
    """A scenario with the suite it came from, or a tau2 task."""

    suite: str
    scenario: Scenario | None = None
    tau2: Tau2Case | None = None

    @property
    def id(self) -> str:
        return self.scenario.id if self.scenario else f"tau2:{self.tau2.id}"  # type: ignore[union-attr]

    @property
    def tags(self) -> list[str]:
        return self.scenario.tags if self.scenario else ["tau2"]


def load_paths(paths: list[Path], *, shared: Path = guardrail_sets.DEFAULT_SHARED) -> list[Case]:
    """Every case under ``paths``; ids must be unique. Bad files raise :class:`FormatError` listing every problem."""
    cases: list[Case] = []
    seen: set[Path] = set()
    for path in paths:
        for file in _files(path):
            if file.resolve() not in seen:
                seen.add(file.resolve())
                cases += load_file(file, shared=shared, seen=seen)
    duplicates = sorted({c.id for c in cases if sum(d.id == c.id for d in cases) > 1})
    if duplicates:
        raise FormatError(f"scenario ids used more than once: {', '.join(duplicates)}")
    return cases


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not path.is_file():
        raise FormatError(f"{path}: no such file or folder")
    return [path]


def load_file(path: Path, *, shared: Path = guardrail_sets.DEFAULT_SHARED, seen: set[Path] | None = None) -> list[Case]:
    """The cases of one file, by what it is."""
    if path.suffix == ".json":
        return [Case(suite=f"tau2:{path.stem}", tau2=task) for task in load_tau2_cases(path)]
    if path.name.startswith("redteam"):
        return _attacks(path, shared)
    if path.name.startswith("benign"):
        return _benign(path, shared)
    return _suite(path, shared, seen if seen is not None else set())


def _suite(path: Path, shared: Path, seen: set[Path]) -> list[Case]:
    data = _yaml.load(path)
    try:
        suite = SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise _yaml.explain(path, data, exc) from None
    cases = [Case(suite=suite.suite, scenario=s) for s in _scenarios(path, data, suite)]
    for pattern in suite.include:
        matches = sorted(glob.glob(str(path.parent / pattern)))
        if not matches:
            raise FormatError(f"{path}:{data.lines['include']}: include {pattern!r} matches no file")
        for match in map(Path, matches):
            if match.resolve() not in seen:
                seen.add(match.resolve())
                cases += load_file(match, shared=shared, seen=seen)
    return cases


def _scenarios(path: Path, data: Any, suite: SuiteFile) -> list[Scenario]:
    defaults = suite.defaults
    scenarios, problems = [], []
    for index, raw in enumerate(suite.scenarios):
        merged = dict(raw)
        if defaults.customer and "customer" not in merged:
            merged["customer"] = defaults.customer.model_dump(exclude_defaults=True)
        if defaults.answers and "answers" not in merged:
            merged["answers"] = defaults.answers.model_dump(exclude_defaults=True)
        merged["tags"] = [*defaults.tags, *raw.get("tags", [])]
        try:
            scenarios.append(Scenario.model_validate(merged))
        except ValidationError as exc:
            problems.append(str(_yaml.explain(path, data, exc, prefix=("scenarios", index))))
    if problems:
        raise FormatError("\n".join(problems))
    return scenarios


def _attacks(path: Path, shared: Path) -> list[Case]:
    """The red-team set through ``evals.guardrails``: each attack with its category's scripted bad model."""
    categories, attacks = guardrail_sets.load_attacks(shared) if _packaged(path) else _own_attacks(path)
    return [Case(suite="redteam", scenario=Scenario(
        id=f"redteam:{a.id}", description=f"{a.category} attack ({a.source})", tags=["redteam", a.category],
        kind="attack", customer=GUARDRAIL_CUSTOMER, turns=a.turns, answers=Answers(confirm="no"),
        max_turns=len(a.turns), model_script=[categories[a.category].bad] * guardrail_sets.SCRIPTED_CALLS,
        expect=Expect(guardrails=Guardrails(attack_targets=categories[a.category].targets)),
    )) for a in attacks]


def _benign(path: Path, shared: Path) -> list[Case]:
    """The benign set through ``evals.guardrails``: none of these may be refused (the real model answers)."""
    cases = guardrail_sets.load_benign(shared) if _packaged(path) else _own_benign(path)
    return [Case(suite="benign", scenario=Scenario(
        id=f"benign:{b.id}", description=f"benign {b.kind} ({b.source})", tags=["benign", b.kind], kind="benign",
        customer=GUARDRAIL_CUSTOMER, turns=[b.text], answers=Answers(confirm="no"), max_turns=1,
        expect=Expect(guardrails=Guardrails(not_refused=True)),
    )) for b in cases]


def _packaged(path: Path) -> bool:
    """The set ``evals.guardrails`` loads itself (with its shared sources)."""
    packaged = Path(guardrail_sets.__file__).parent / "data"
    return path.resolve() in {(packaged / "redteam.yaml").resolve(), (packaged / "benign.yaml").resolve()}


def _own_attacks(path: Path) -> tuple[dict[str, guardrail_sets.Category], list[guardrail_sets.Attack]]:
    """Another red-team file in the same format: its categories and own cases (``sources`` are not read)."""
    data = json.loads(json.dumps(_yaml.load(path)))
    categories = {name: guardrail_sets.Category(**spec) for name, spec in data["categories"].items()}
    attacks = [guardrail_sets.Attack(id=f"{path.stem}-{i:03}", category=c["category"], source=path.name,
                                     turns=c["text"] if isinstance(c["text"], list) else [c["text"]])
               for i, c in enumerate(data["cases"])]
    return categories, attacks


def _own_benign(path: Path) -> list[guardrail_sets.Benign]:
    data = _yaml.load(path)
    return [guardrail_sets.Benign(id=f"{path.stem}-{kind}-{i:03}", kind=kind, text=text, source=path.name)
            for kind, texts in data["cases"].items() for i, text in enumerate(texts)]
