"""``python -m agent.llm.model_server``: llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``,
with the same arguments, one model) that holds the planner's and the writer's fixed prompt starts before it listens.
The plain server keeps one prompt in its KV cache: it evaluates the planner's start (about 1,900 tokens, half a
minute on 2 cores) at its first plan, and again at each plan after a reply or answer the writer's prompt worded.
This one loads each start's state a process saved in ``data/models/prompt-states`` (:mod:`agent.llm.prompt_states`),
or evaluates and saves it there, and loads it back whenever a prompt that begins with it finds the KV cache holding
another. Requests reuse the rest of an earlier prompt's tokens as the plain server does. Its model is a
:class:`agent.llm.grammar_sampling.GrammarFirstLlama`: plans asked of the server are decoded in as few model steps as
in-process ones."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from unittest import mock

import llama_cpp
import uvicorn
from llama_cpp.server.app import create_app, get_llama_proxy
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

from agent.llm import prompt_states
from agent.llm.grammar_sampling import GrammarFirstLlama
from agent.llm.llama_cpp import chat_formatter, prompt_start
from agent.llm.models import PROMPT_STATES_DIR
from agent.llm.prompt_states import PromptStart
from agent.planner.prompt import planner_start
from agent.replies import writer_start

log = logging.getLogger(__name__)


def prepare_start(llama: GrammarFirstLlama, model_path: Path, folder: Path, start: PromptStart) -> str:
    """Keep ``start``, tokenized as the server's chat completions tokenize it, for ``llama``: ``"loaded"`` from
    ``folder``, ``"evaluated"`` (and saved there), or ``"skipped"`` for a model without a chat template."""
    formatter = chat_formatter(llama)
    begun = prompt_start(llama, formatter, start.messages, start.until) if formatter else None
    if not begun:
        return "skipped"
    evaluated = prompt_states.keep(llama, folder, model_path, start.name, begun[1])
    return "evaluated" if evaluated else "loaded"


async def _prepare(model_path: Path) -> str:
    """The writer's and then the planner's starts kept in the server's model (the planner's is in its KV cache when
    it listens), taken the way its routes take it: what was done, and the class that decodes plans."""
    async with contextlib.asynccontextmanager(get_llama_proxy)() as proxy:
        llama = proxy()
        done = [f"the {start.name}'s prompt start: {prepare_start(llama, model_path, PROMPT_STATES_DIR, start)}"
                for start in (writer_start(), planner_start())]
        return f"{'; '.join(done)}; plans decoded by {type(llama).__name__}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args_from_model(parser, Settings)
    args = parser.parse_args(argv)
    server = parse_model_from_args(ServerSettings, args)
    model = parse_model_from_args(ModelSettings, args)
    with mock.patch.object(llama_cpp, "Llama", GrammarFirstLlama):  # the server loads its model as llama_cpp.Llama
        app = create_app(server_settings=server, model_settings=[model])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log.info("%s", asyncio.run(_prepare(Path(model.model))))
    uvicorn.run(app, host=server.host, port=server.port, ssl_keyfile=server.ssl_keyfile,
                ssl_certfile=server.ssl_certfile)


if __name__ == "__main__":
    main()
