"""Build the agent's long-lived parts from settings, and the checkpointer conversations persist in."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal, cast

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.guardrails import check_guardrails
from agent.llm import ChatLlamaCpp, build_chat_model
from agent.llm.models import BUNDLED_GGUF
from agent.llm.prompt_states import PromptStart
from agent.planner.prompt import warm_up
from agent.replies import writer_start
from agent.routing import IntentRouter
from agent.state import AgentDeps
from core.auth import TokenKeys
from core.embeddings import get_embedder
from core.errors import ModelError
from core.settings import Settings
from knowledge import ArticleStore, HelpCenter, KnowledgeBase
from knowledge.ingest import HELP_CENTER
from tools.policy.versions import PolicyStore
from tools.store import Store
from tools.store.demo import ensure_demo_data
from tools.store.demo_history import ensure_demo_history
from tools.store.secrets import service_secret

log = logging.getLogger(__name__)


def _runs_bundled_model(settings: Settings, custom_model: bool) -> bool:
    if settings.llm_backend != "llama_cpp" or custom_model:
        return False
    if settings.model_path is not None:
        return settings.model_path.name == BUNDLED_GGUF
    return settings.model == "smollm2-135m"


def answer_style(settings: Settings, *, custom_model: bool = False) -> Literal["model", "quote"]:
    """How help-center answers are worded: ``SUPPORT_ANSWER_STYLE``, where ``auto`` quotes with the bundled 135M
    model (its wording fails the evidence check on most answers) and lets any other model word them;
    ``custom_model``: the caller supplies its own model instead of the configured one."""
    if settings.answer_style != "auto":
        return settings.answer_style
    return "quote" if _runs_bundled_model(settings, custom_model) else "model"


def planner_mode(settings: Settings, *, custom_model: bool = False) -> Literal["model", "router"]:
    """Who reads messages the fast path does not settle: ``SUPPORT_PLANNER``, where ``auto`` means the model
    planner with a configured model that can plan, and the router with the bundled 135M model (it cannot) or a
    model the caller hands in (a scripted test model plans only when a test asks for it)."""
    if settings.planner != "auto":
        return settings.planner
    return "router" if custom_model or _runs_bundled_model(settings, custom_model) else "model"


def reply_style(settings: Settings, *, custom_model: bool = False) -> Literal["template", "model"]:
    """How replies about orders are worded: ``SUPPORT_REPLY_STYLE``, where ``auto`` means by the configured model
    (the default 1.5B one or any other) and as written by code with the bundled 135M model (it cannot word them) or
    a model the caller hands in (a scripted test model words them only when a test asks for it)."""
    if settings.reply_style != "auto":
        return settings.reply_style
    return "template" if custom_model or _runs_bundled_model(settings, custom_model) else "model"


def model_writes(settings: Settings, *, custom_model: bool = False) -> bool:
    """The model words order replies or help-center answers (it then has a writer: :func:`writer_model`)."""
    styles = (reply_style(settings, custom_model=custom_model), answer_style(settings, custom_model=custom_model))
    return "model" in styles


def open_policies(store: Store, *, file: Path | None = None, file_check_seconds: float = 0.5) -> PolicyStore:
    """The live policy of ``store``, refusing any version whose guardrails would not run."""
    return PolicyStore(store, file=file, check=lambda policy: check_guardrails(policy.guardrails),
                       file_check_seconds=file_check_seconds)


def token_keys(settings: Settings, store: Store | None = None) -> TokenKeys:
    """What signs and checks access tokens: ``SUPPORT_JWT_SECRET``, else the secret generated once and kept in
    the store's database (``store``, or the one the settings name)."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
    else:
        if store is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            store = Store(settings.resolved_database_url)
            store.migrate()
        secret = service_secret(store, "jwt_signing_key")
    return TokenKeys(secret=secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def build_deps(settings: Settings, *, model: BaseChatModel | None = None) -> AgentDeps:
    """Open the stores (seeding demo data on first start if enabled) and load the models.

    A missing or corrupt model file fails here with a clear :class:`~core.errors.ModelError`.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    store.migrate()
    if settings.seed_demo_data and ensure_demo_data(store):
        log.info("seeded the demo store")
    if settings.seed_demo_data and ensure_demo_history(store):
        log.info("seeded the insights' demo history (labelled demo, never counted with real conversations)")
    policies = open_policies(store, file=settings.resolved_policy_path)
    articles = ArticleStore(store)
    if settings.seed_demo_data and articles.seed(HELP_CENTER):
        log.info("seeded the help center's articles")
    knowledge = KnowledgeBase.from_settings(settings, revision=articles.revision)
    HelpCenter(articles, knowledge, policy=policies.current, public_url=settings.public_url).sync()
    custom = model is not None
    planner = planner_mode(settings, custom_model=custom)
    if model is None:
        model = build_chat_model(settings)
        if planner == "model":
            try:
                warm_up(model)
            except ModelError as exc:  # a model server may come up after us: turns fall back until it answers
                if settings.llm_backend != "openai":
                    raise
                log.warning("the model server did not answer the warm-up: %s", exc)
    chosen = model
    writer = writer_model(settings, model_writes(settings, custom_model=custom), separate=not custom)
    if not custom:
        writer()  # the writer's instance loaded and its prompt evaluated now, not at the first reply
    return AgentDeps(
        settings=settings,
        model=model,
        store=store,
        knowledge=knowledge,
        router=IntentRouter(get_embedder()),
        policies=policies,
        answer_style=answer_style(settings, custom_model=custom),
        reply_style=reply_style(settings, custom_model=custom),
        planner=planner,
        translation_model=translation_model(settings, planner, model=lambda: chosen, separate=not custom),
        writer_model=writer,
    )


TRANSLATION_CONTEXT = 1024
"""Tokens the translating model instance holds: one sentence and its translation."""
WRITER_CONTEXT = 1024
"""Tokens the writing model instance holds: its instructions, an order's facts, the message and the reply."""


def translation_model(settings: Settings, planner: Literal["model", "router"], *, model: Callable[[], BaseChatModel],
                      separate: bool) -> Callable[[], BaseChatModel | None]:
    """The model that translates replies (``SUPPORT_REPLY_LANGUAGES``): none when replies stay English or the model
    cannot plan (the 135M model cannot translate either); ``model`` itself when it is a server or not ``separate``
    (the caller's own); else a second in-process instance of the same file, loaded at the first translated reply,
    so that translating keeps the planner's KV state (its prompt prefix) intact."""
    if settings.reply_languages == "en" or planner != "model":
        return lambda: None
    if not separate or settings.llm_backend == "openai":
        return model
    return _other_instance(settings, TRANSLATION_CONTEXT)


def writer_model(settings: Settings, writes: bool, *, separate: bool) -> Callable[[], BaseChatModel | None]:
    """The model instance that words replies about orders and help-center answers, when it is not the agent's model
    itself (None: the agent's model words them, or nothing is worded, :func:`model_writes`): with a model file
    in-process and ``separate``, another instance of it that keeps the writer's fixed prompt
    (:func:`agent.replies.writer_prompt`), loaded and warmed at its first call (the service calls it at start:
    llama-cpp-python swaps ``sys.stdout`` while it loads a model, so not in the background); a model server keeps
    its own prompt cache (``python -m agent.llm.model_server`` keeps the writer's start beside the planner's)."""
    if not writes or not separate or settings.llm_backend == "openai":
        return lambda: None
    return _other_instance(settings, WRITER_CONTEXT, keep=writer_start())


def _other_instance(settings: Settings, n_ctx: int, keep: PromptStart | None = None) -> Callable[[], BaseChatModel]:
    """Another in-process instance of the configured model file (its weights mapped once, shared), with its own
    KV state of ``n_ctx`` tokens, loaded on first use and, with ``keep``, that prompt start kept then (loaded from
    its file or evaluated: :meth:`agent.llm.llama_cpp.ChatLlamaCpp.keep`)."""
    lock, loaded = threading.Lock(), []

    def load() -> BaseChatModel:
        with lock:
            if not loaded:
                instance = build_chat_model(settings.model_copy(update={"n_ctx": n_ctx}))
                if keep is not None:
                    cast(ChatLlamaCpp, instance).keep(keep)
                loaded.append(instance)
            return loaded[0]

    return load


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver]:
    """SQLite checkpoints by default; a ``postgresql://`` URL switches to the Postgres checkpointer."""
    url = settings.resolved_checkpoint_url
    if url.startswith(("postgresql://", "postgres://")):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(url) as saver:
        await saver.setup()  # the tables exist before the first turn: deleting a new conversation needs them
        yield saver
