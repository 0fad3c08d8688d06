"""``python -m agent.llm.model_server``: llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``,
with the same arguments, one model) that holds the planner's fixed prompt start in its KV cache before it listens.
The plain server evaluates that start (about 1,900 tokens) at its first request, half a minute on 2 cores; this one
loads the state a process saved in ``data/models/prompt-states`` (:mod:`agent.llm.prompt_states`), or evaluates
and saves it there. Requests then reuse it as they reuse any earlier prompt's tokens. Its model is a
:class:`agent.llm.grammar_sampling.GrammarFirstLlama`: plans asked of the server are decoded in as few model steps as
in-process ones."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from unittest import mock

import llama_cpp
import uvicorn
from langchain_core.messages import BaseMessage
from llama_cpp.server.app import create_app, get_llama_proxy
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

from agent.llm import prompt_states
from agent.llm.grammar_sampling import GrammarFirstLlama
from agent.llm.llama_cpp import chat_formatter, prompt_start
from agent.llm.models import PROMPT_STATES_DIR
from agent.planner.prompt import NEXT_MESSAGE, fixed_start

log = logging.getLogger(__name__)


def prepare_start(llama: Any, model_path: Path, folder: Path, messages: list[BaseMessage], until: str) -> str:
    """Put the prompt start ``messages`` make up to ``until``, tokenized as the server's chat completions tokenize
    it, in the KV cache of ``llama``: ``"loaded"`` from ``folder``, ``"evaluated"`` (and saved there), or
    ``"skipped"`` for a model without a chat template."""
    formatter = chat_formatter(llama)
    start = prompt_start(llama, formatter, messages, until) if formatter else None
    if not start:
        return "skipped"
    tokens = start[1]
    path = prompt_states.state_file(folder, model_path, tokens)
    if prompt_states.load(llama, path, tokens):
        return "loaded"
    llama.eval(tokens)
    prompt_states.save(llama, path, tokens)
    return "evaluated"


async def _prepare(model_path: Path) -> str:
    """The planner's fixed start prepared in the server's model, taken the way its routes take it: what was done,
    and the class that decodes plans."""
    async with contextlib.asynccontextmanager(get_llama_proxy)() as proxy:
        llama = proxy()
        status = prepare_start(llama, model_path, PROMPT_STATES_DIR, fixed_start(), NEXT_MESSAGE)
        return f"{status}; plans decoded by {type(llama).__name__}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args_from_model(parser, Settings)
    args = parser.parse_args(argv)
    server = parse_model_from_args(ServerSettings, args)
    model = parse_model_from_args(ModelSettings, args)
    with mock.patch.object(llama_cpp, "Llama", GrammarFirstLlama):  # the server loads its model as llama_cpp.Llama
        app = create_app(server_settings=server, model_settings=[model])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.info("the planner's prompt start: %s", asyncio.run(_prepare(Path(model.model))))
    uvicorn.run(app, host=server.host, port=server.port, ssl_keyfile=server.ssl_keyfile,
                ssl_certfile=server.ssl_certfile)


if __name__ == "__main__":
    main()
