"""The guardrail sets split once into train / dev / test, stored as id lists in ``evals/data/splits/<set>.json``.

A prompt's id is ``<file>#<sha256 of its text, 12 hex>``; its split is drawn from the sha256 of ``<seed>:<text>``
(the same text lands in the same split in every file). Prompts an eval had already used before the split (the
sampled ``sources`` of ``redteam.yaml`` / ``benign.yaml`` and our own cases) are train or dev, never test.
``sets.yaml`` names the sets, their expected outcome and the class the input classifier learns them as.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
_FOLDER = "data/splits"


class SetSpec(BaseModel):
    """One data set of ``sets.yaml``."""

    path: str
    """Relative to the shared folder; ``own/redteam.yaml`` and ``own/benign.yaml`` are the repo's own cases."""
    kind: Literal["lines", "jsonl", "json_list", "json_templates", "json_groups", "bitext", "banking77",
                  "own_attacks", "own_benign"]
    outcome: Literal["declined", "handover", "answered"]
    shares: dict[Split, float] | None = None
    """This set's own shares (default: the rule's)."""
    class_: str = Field("", alias="class")
    """What the input classifier learns the set's prompts as (empty: not learnt)."""


class SplitRule(BaseModel):
    seed: int
    shares: dict[Split, float]
    tuned_train_share: float
    sets: dict[str, SetSpec]


class Prompt(BaseModel):
    """One prompt of a set."""

    id: str
    set: str
    text: str


@cache
def rule() -> SplitRule:
    """``sets.yaml``."""
    return SplitRule.model_validate(yaml.safe_load(_data_file("sets.yaml").read_text()))


def _data_file(name: str) -> Path:
    return Path(str(resources.files("evals").joinpath(f"{_FOLDER}/{name}")))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _own(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(resources.files("evals").joinpath(f"data/{name}").read_text())
    return loaded


def _texts(shared: Path, spec: SetSpec) -> list[tuple[str, str]]:
    """``(file, text)`` of every prompt of the set, in file order."""
    if spec.kind == "own_attacks":
        cases = _own("redteam.yaml")["cases"]
        return [("redteam.yaml", "\n".join(c["text"]) if isinstance(c["text"], list) else c["text"]) for c in cases]
    if spec.kind == "own_benign":
        return [("benign.yaml", t) for texts in _own("benign.yaml")["cases"].values() for t in texts]
    files = sorted(glob.glob(str(shared / spec.path)))
    if not files:
        raise FileNotFoundError(f"{shared / spec.path} not found (the shared data sets live in ../shared/external)")
    return [(Path(f).name, text) for f in files for text in read_file(Path(f), spec.kind)]


def read_file(path: Path, kind: str) -> list[str]:
    """The prompts of one shared file, read as ``kind``."""
    raw = path.read_text()
    if kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if kind == "jsonl":
        return [json.loads(line)["prompt"] for line in raw.splitlines() if line.strip()]
    if kind == "json_list":
        return list(json.loads(raw))
    if kind == "json_templates":
        return [t.replace("{generator.name}", "Northwind Assistant") for t in json.loads(raw)]
    if kind == "json_groups":
        return [t for group in json.loads(raw).values() for t in group]
    column = "instruction" if kind == "bitext" else "text"
    return [row[column] for row in csv.DictReader(raw.splitlines())]


def load_set(name: str, shared: Path) -> list[Prompt]:
    """Every prompt of set ``name`` once (first occurrence of a text kept)."""
    seen: dict[str, Prompt] = {}
    for file, text in _texts(shared, rule().sets[name]):
        key = f"{file}#{digest(text)[:12]}"
        seen.setdefault(key, Prompt(id=key, set=name, text=text))
    return list(seen.values())


def _draw(text: str, seed: int) -> float:
    return int(digest(f"{seed}:{text}")[:15], 16) / 16**15


def assign(text: str, *, tuned: bool, shares: dict[Split, float] | None = None) -> Split:
    """The split of ``text`` under the rule (``tuned``: an eval already used it, so never test)."""
    r = rule()
    draw, shares = _draw(text, r.seed), shares or r.shares
    if tuned:
        return "train" if draw < r.tuned_train_share else "dev"
    if draw < shares["train"]:
        return "train"
    return "dev" if draw < shares["train"] + shares["dev"] else "test"


def build(shared: Path, tuned_texts: set[str]) -> dict[str, dict[Split, list[str]]]:
    """The id lists of every set (``tuned_texts``: prompts an eval used before the split)."""
    out: dict[str, dict[Split, list[str]]] = {}
    for name, spec in rule().sets.items():
        own = spec.kind.startswith("own_")
        lists: dict[Split, list[str]] = {s: [] for s in SPLITS}
        for prompt in load_set(name, shared):
            lists[assign(prompt.text, tuned=own or prompt.text in tuned_texts, shares=spec.shares)].append(prompt.id)
        out[name] = lists
    return out


def write(lists: dict[str, dict[Split, list[str]]]) -> list[Path]:
    """Write ``<set>.json`` for every set; the paths written."""
    written = []
    for name, by_split in lists.items():
        path = _data_file(f"{name}.json")
        path.write_text(json.dumps({"set": name, "source": rule().sets[name].path, **by_split}, indent=0) + "\n")
        written.append(path)
    return written


@cache
def _ids(name: str) -> dict[str, Split]:
    stored = json.loads(_data_file(f"{name}.json").read_text())
    return {i: s for s in SPLITS for i in stored[s]}


def split_of(prompt: Prompt) -> Split | None:
    """The stored split of ``prompt`` (None: the prompt is not in the stored lists)."""
    return _ids(prompt.set).get(prompt.id)


def prompts(name: str, split: Split, shared: Path) -> list[Prompt]:
    """The prompts of set ``name`` in ``split``, in file order."""
    return [p for p in load_set(name, shared) if split_of(p) == split]
