"""The world scenarios run in: a template data folder (seeded demo store, help center in Chroma, and the
tau2 retail store when needed) built once per run, and a fresh copy of a store for every conversation."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from langchain_core.language_models import BaseChatModel

import tools
from agent.bootstrap import (
    answer_style,
    build_deps,
    model_writes,
    planner_mode,
    reply_style,
    translation_model,
    writer_model,
)
from agent.llm import build_chat_model
from agent.llm.fake import ScriptedChatModel
from agent.planner.prompt import warm_up
from agent.routing import IntentRouter
from agent.state import AgentDeps
from core.embeddings import get_embedder
from core.settings import Settings
from knowledge import KnowledgeBase
from tools.policy.versions import PolicyStore
from tools.store import Store
from tools.store.tau2 import import_tau2

OFFICE_HOURS = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
"""A Wednesday, noon in New York: the support team is in."""
NIGHT = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
"""Sunday night: hand-offs become tickets."""
CLOCKS = {"office_hours": OFFICE_HOURS, "night": NIGHT}
TAU2_POLICY = Path(tools.__file__).parent / "policy" / "tau2.yaml"
StoreKind = Literal["demo", "tau2"]


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    """What a worker needs to open the world (picklable)."""

    template: Path
    """Folder holding ``store.db``, ``chroma/`` and, for tau2 runs, ``tau2.db``."""
    model_path: Path | None = None
    """GGUF to run (None: the bundled model)."""
    n_threads: int | None = None
    seed: int = 7
    reply_style: Literal["auto", "template", "model"] = "auto"
    prepare_next_turn: bool = False
    """``SUPPORT_PREPARE_NEXT_TURN``: worth it only when the customer pauses before writing again (else the next
    message waits for it)."""


def _settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, chroma_path=None, chroma_url=None, database_url=None,  # type: ignore[call-arg]
                    checkpoint_url=None, policy_path=None, llm_backend="llama_cpp", **overrides)


def build_template(folder: Path, *, tau2_db: Path | None = None) -> None:
    """Seed the demo store and ingest the help center into ``folder`` (and import ``tau2_db`` if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    deps = build_deps(_settings(folder), model=ScriptedChatModel())
    deps.policy  # noqa: B018 - seeds the first policy version into the template
    _checkpoint(deps.store)
    if tau2_db is not None and not (folder / "tau2.db").exists():
        store = Store(f"sqlite:///{folder / 'tau2.db'}")
        store.migrate()
        import_tau2(store, json.loads(tau2_db.read_text(encoding="utf-8")))
        shutil.copyfile(TAU2_POLICY, folder / "tau2-policy.yaml")
        PolicyStore(store, file=folder / "tau2-policy.yaml").current()
        _checkpoint(store)


def _checkpoint(store: Store) -> None:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()


class World:
    """One process's view of the world: shared read-only parts, and fresh stores on demand."""

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        self.folder = Path(tempfile.mkdtemp(prefix="evals-world-"))
        shutil.copytree(spec.template / "chroma", self.folder / "chroma")
        self.settings = _settings(self.folder, model_path=spec.model_path, n_threads=spec.n_threads, seed=spec.seed,
                                  reply_style=spec.reply_style, prepare_next_turn=spec.prepare_next_turn)
        self.knowledge = KnowledgeBase.from_settings(self.settings)
        self.router = IntentRouter(get_embedder())
        self._model: BaseChatModel | None = None
        self._translation = translation_model(self.settings, planner_mode(self.settings), model=lambda: self.model,
                                              separate=True)
        self._writer = writer_model(self.settings, model_writes(self.settings), separate=True)
        self._count = 0

    @property
    def model(self) -> BaseChatModel:
        """The real model, loaded on first use (runs that only use scripted models never load it)."""
        if self._model is None:
            self._model = build_chat_model(self.settings)
            if planner_mode(self.settings) == "model":
                warm_up(self._model)
            self._writer()  # its own instance, loaded and warmed now (not in the middle of a timed turn)
        return self._model

    @contextmanager
    def deps(self, *, store: StoreKind = "demo", model: BaseChatModel | None = None,
             clock: datetime = OFFICE_HOURS) -> Iterator[AgentDeps]:
        """Agent parts on a private copy of the template store, removed afterwards."""
        self._count += 1
        path = self.folder / f"run-{os.getpid()}-{self._count}.db"
        copy_sqlite(self.spec.template / ("tau2.db" if store == "tau2" else "store.db"), path)
        fresh = Store(f"sqlite:///{path}")
        chosen = model or self.model
        try:
            yield AgentDeps(settings=self.settings, model=chosen, store=fresh, knowledge=self.knowledge,
                            router=self.router, policies=PolicyStore(fresh), clock=lambda: clock,
                            answer_style=answer_style(self.settings, custom_model=model is not None),
                            reply_style=reply_style(self.settings, custom_model=model is not None),
                            planner=planner_mode(self.settings, custom_model=model is not None),
                            translation_model=self._translation if model is None else translation_model(
                                self.settings, planner_mode(self.settings, custom_model=True), model=lambda: chosen,
                                separate=False),
                            writer_model=self._writer if model is None else lambda: None)
        finally:
            fresh.engine.dispose()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database with the backup API (fast, and consistent even in WAL mode)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()
