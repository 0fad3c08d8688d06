"""Chat models: llama.cpp in-process (default Qwen2.5-Coder-1.5B, or the bundled SmolLM2-135M) or any
OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.llm.llama_cpp import ChatLlamaCpp, check_gguf
from agent.llm.models import DEFAULT_MODEL, PROMPT_STATES_DIR, model_path
from agent.llm.openai_server import ChatOpenAIServer
from core.errors import ModelError
from core.settings import Settings

__all__ = ["ChatLlamaCpp", "ChatOpenAIServer", "ModelError", "build_chat_model", "check_gguf", "configured_model_path"]


def configured_model_path(settings: Settings) -> Path:
    """The GGUF the settings name: ``SUPPORT_MODEL_PATH``, else the named ``SUPPORT_MODEL``, checked to be a
    readable GGUF (a default model not assembled yet says how to assemble it)."""
    if settings.model_path is not None:
        check_gguf(settings.model_path)
        return settings.model_path
    path = model_path(settings.model)
    if not path.is_file() and settings.model == DEFAULT_MODEL:
        raise ModelError(f"the default model {settings.model} is not assembled at {path}: run `make setup` "
                         "(or `python -m agent.llm.models`), or set SUPPORT_MODEL=smollm2-135m")
    check_gguf(path)
    return path


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for, loaded and ready (errors are clear :class:`ModelError`s); with the
    ``openai`` backend, a client of the server (which need not be up yet: calls fail fast until it is)."""
    if settings.llm_backend == "openai":
        return ChatOpenAIServer.from_settings(settings)
    return ChatLlamaCpp(
        model_path=configured_model_path(settings),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        state_dir=PROMPT_STATES_DIR,
    ).load()
