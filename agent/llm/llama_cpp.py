"""A langchain-core chat model that runs a GGUF file in-process with llama-cpp-python."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from llama_cpp import llama_chat_format
from pydantic import BaseModel, ConfigDict, PrivateAttr

from agent.llm import prompt_states
from agent.llm.grammar_sampling import BracesBanned, GrammarFirstLlama
from agent.llm.messages import openai_messages
from agent.llm.structured import grammar_safe, parse_structured
from core.errors import ModelError

GGUF_MAGIC = b"GGUF"
_WARM_UP = b"Warm-up text so the first customer does not pay for set-up. " * 8


def check_gguf(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a readable GGUF file (a cheap header check)."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path} (set SUPPORT_MODEL_PATH to a GGUF file)")
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"model file is not a GGUF file: {path}")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level loader chatter on file descriptor 2, one load at a time (two at once would save
    each other's /dev/null as the descriptor to restore)."""
    with _STDERR_LOCK:
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def chat_formatter(llama: Any) -> llama_chat_format.Jinja2ChatFormatter | None:
    """The GGUF's own chat template as llama-cpp-python formats chat completions with it (None without one)."""
    template = llama.metadata.get("tokenizer.chat_template")
    if template is None:
        return None

    def text(token: int) -> str:
        return llama._model.token_get_text(token) if token != -1 else ""

    return llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=text(llama.token_eos()),
                                                 bos_token=text(llama.token_bos()), stop_token_ids=[llama.token_eos()])


def prompt_start(llama: Any, formatter: llama_chat_format.Jinja2ChatFormatter, messages: list[BaseMessage],
                 until: str) -> tuple[str, list[int]] | None:
    """The text of the chat prompt ``messages`` make, up to the first ``until`` in it (None: not in it), and its
    tokens as llama-cpp-python's chat completions tokenize that prompt."""
    chat = formatter(messages=openai_messages(messages))
    if until not in chat.prompt:
        return None
    start = chat.prompt.split(until, 1)[0]
    return start, llama.tokenize(start.encode("utf-8"), add_bos=not chat.added_special, special=True)


class ChatLlamaCpp(BaseChatModel):
    """Chat over a local GGUF model; streams tokens and returns JSON-schema-constrained output."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int = 0
    max_tokens: int = 256
    temperature: float = 0.2
    seed: int = 7
    repeat_penalty: float = 1.15
    state_dir: Path | None = None
    """Where :meth:`prefill` with ``keep_as`` saves the state of the prompt start it evaluates (None: nowhere)."""

    _llama: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _prose: BracesBanned | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def load(self) -> ChatLlamaCpp:
        """Load the model now, turning a missing or corrupt file into a clear :class:`ModelError`."""
        if self._llama is not None:
            return self
        check_gguf(self.model_path)
        try:
            with _quiet_stderr():
                llama = self._open_llama()
                llama.eval(llama.tokenize(_WARM_UP))  # the first batches pay one-off set-up costs: pay them now
                llama.reset()
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"could not load model {self.model_path}: {exc}") from exc
        self._llama = llama
        self._formatter = chat_formatter(llama)
        self._prose = BracesBanned(llama)
        return self

    def _open_llama(self) -> Any:
        """The llama.cpp model. A new prompt reuses the KV state of the tokens it shares with the prompt before
        (the fixed system text comes first in every prompt), so after an answer the next one evaluates only its
        new tokens (after a prompt of another kind, an address prompt, a kept start is loaded again from its file:
        :meth:`prefill`). No state cache on top:
        llama-cpp-python's copies every completion's logits (hundreds of MB with a large vocabulary) outside its
        own size limit, and the copy slowed the end of every reply. Greedy grammar-constrained output (plans) is
        decoded in as few model steps as the grammar allows, and greedy plain text with its copied spans guessed
        ahead (:mod:`agent.llm.grammar_sampling`)."""
        return GrammarFirstLlama(
            model_path=str(self.model_path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads or os.cpu_count(),
            n_gpu_layers=self.n_gpu_layers,
            seed=self.seed,
            verbose=False,
        )

    def prefill(self, messages: list[BaseMessage], *, until: str, keep_as: str | None = None) -> int:
        """Evaluate the prompt ``messages`` make, up to the first ``until`` in it, if the model is idle: a later
        call whose prompt starts the same then evaluates only what follows. Returns the tokens evaluated (0 when
        the model was busy, ``until`` is not in the prompt, that start is already in the KV state or too long).
        With ``keep_as`` (the name of a start every process evaluates the same), wait for the model, and load that
        start's state from ``state_dir`` where an earlier process saved it, or save it there
        (:mod:`agent.llm.prompt_states`); a later prompt that starts with it loads it again when a prompt of another
        kind took its place."""
        llama = self.load()._llama
        if self._formatter is None or not self._lock.acquire(blocking=keep_as is not None):
            return 0
        try:
            start = prompt_start(llama, self._formatter, messages, until)
            if start is None or len(start[1]) >= llama.n_ctx():
                return 0
            if keep_as is not None and self.state_dir:
                return prompt_states.keep(llama, self.state_dir, self.model_path, keep_as, start[1])
            return prompt_states.evaluate(llama, start[1])
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"prefill failed: {exc}") from exc
        finally:
            self._lock.release()

    def keep(self, start: prompt_states.PromptStart) -> int:
        """:meth:`prefill` ``start`` and keep it under its name."""
        return self.prefill(start.messages, until=start.until, keep_as=start.name)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": str(self.model_path), "n_ctx": self.n_ctx}

    def _params(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """The completion's arguments; plain text (no ``response_format``) is written without braces, and at
        temperature 0 greedily, without a repeat penalty: the most likely token each time, with the text it
        copies from the prompt (facts, passage sentences, names) drafted ahead (:class:`GrammarFirstLlama`)."""
        temperature = kwargs.get("temperature", self.temperature)
        return {
            "messages": openai_messages(messages),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": temperature,
            "stop": stop,
            "seed": self.seed,
            "response_format": kwargs.get("response_format"),
            "repeat_penalty": kwargs.get("repeat_penalty", self.repeat_penalty if temperature else 1.0),
            "logits_processor": None if kwargs.get("response_format") else self._prose,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        llama = self.load()._llama
        with self._lock:
            try:
                out = llama.create_chat_completion(**self._params(messages, stop, **kwargs))
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"generation failed: {exc}") from exc
        choice = out["choices"][0]
        message = AIMessage(content=choice["message"]["content"] or "", response_metadata={"usage": out["usage"]})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama = self.load()._llama
        with self._lock:
            try:
                stream = llama.create_chat_completion(stream=True, **self._params(messages, stop, **kwargs))
                wrote = False
                for part in stream:
                    delta = part["choices"][0]["delta"].get("content") or ""
                    if not delta:
                        continue
                    if run_manager:
                        run_manager.on_llm_new_token(delta)
                    wrote = True
                    yield ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if not wrote:  # a reply of no text is a reply: LangChain refuses a stream without chunks
                    yield ChatGenerationChunk(message=AIMessageChunk(content=""))
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"generation failed: {exc}") from exc

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], **_: Any
    ) -> Runnable[LanguageModelInput, BaseModel]:
        """Output constrained by ``schema``'s JSON schema (compiled to a llama.cpp grammar), decoded greedily with
        no repeat penalty: JSON repeats its keys, and ids repeat digits."""
        response_format = {"type": "json_object", "schema": grammar_safe(schema.model_json_schema())}
        bound = self.bind(response_format=response_format, temperature=0.0, repeat_penalty=1.0)
        return bound | RunnableLambda(lambda message: parse_structured(schema, message.content))
