"""HTTP service: a FastAPI app streaming chat turns over SSE, an OpenAI-compatible route, the chat page at ``/``,
and its command line.

    python server.py [--host H] [--port P]          serve the API
    python server.py token --customer ID            print a customer token for local use
    python server.py token --role agent|ops         print a staff token for local use
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from agent.bootstrap import build_deps, open_checkpointer
from agent.llm import configured_model_path
from agent.service import SupportAgent
from agent.state import AgentDeps
from api import account, admin, chat, conversations, handoffs, openai_compat, wire
from api.deps import Runtime, RuntimeDep
from api.errors import install_error_handlers, problem_body
from api.limits import BodySizeLimit
from core.auth import issue_token
from core.errors import SupportError
from core.settings import Settings

log = logging.getLogger("server")

WEB = Path(__file__).resolve().parent / "web"
"""The chat page: plain HTML, CSS and JavaScript, no build step."""
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


GIL_SWITCH_SECONDS = 0.0005
"""How soon a thread waiting for Python's GIL gets it while the server runs: the model's thread needs it back
after every token's decode (which runs without it); at Python's default of 5 ms the server streamed 87% of raw
llama.cpp's tokens/s, at 0.5 ms as many as raw (``scripts/bench_chat.py``)."""


def create_app(settings: Settings, *, deps_factory: Callable[[Settings], AgentDeps] = build_deps) -> FastAPI:
    """The API; the model and stores load in the background and ``/healthz`` says when they are ready."""
    runtime = Runtime(settings)

    async def load(stack: AsyncExitStack) -> None:
        try:
            deps = await asyncio.to_thread(deps_factory, settings)
            checkpointer = await stack.enter_async_context(open_checkpointer(settings))
            runtime.ready(SupportAgent(deps, checkpointer))
            log.info("ready: model, store and knowledge base loaded")
        except SupportError as exc:
            runtime.failure = str(exc)
            log.error("start-up failed: %s", exc)
        except Exception as exc:  # anything else must not leave /healthz saying "starting" forever
            runtime.failure = f"start-up failed unexpectedly ({type(exc).__name__}); see the server log"
            log.exception("start-up failed")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, GIL_SWITCH_SECONDS))
        async with AsyncExitStack() as stack:
            task = asyncio.create_task(load(stack))
            yield
            task.cancel()
            await runtime.close()
        sys.setswitchinterval(switch_interval)

    app = FastAPI(title="Support agent", version="0.1.0", lifespan=lifespan,
                  description="Chat with the support agent: native SSE events or the OpenAI protocol.")
    app.state.runtime = runtime
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes, describe=problem_body)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-Conversation-Id", "Last-Event-ID"],
                           expose_headers=["X-Conversation-Id", "Retry-After"], max_age=600)
    for module in (conversations, chat, openai_compat, account, admin, handoffs):
        app.include_router(module.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/", chat_page, methods=["GET"], include_in_schema=False)
    app.mount("/web", StaticFiles(directory=WEB), name="web")
    install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the models only the streams use."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in [*wire.EXTRA_SCHEMAS, *openai_compat.EXTRA_SCHEMAS]:
            full = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(full.pop("$defs", {}))
            components[model.__name__] = full
        app.openapi_schema = schema
    return app.openapi_schema


def chat_page() -> FileResponse:
    """The chat page."""
    return FileResponse(WEB / "index.html", headers=PAGE_HEADERS)


def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 once the model and stores are ready; 503 while loading or if start-up failed."""
    if runtime.agent is not None:
        return JSONResponse({"status": "ok"})
    status = "failed" if runtime.failure else "starting"
    return JSONResponse({"status": status, "detail": runtime.failure}, status_code=503)


cli = typer.Typer(add_completion=False, help=__doc__)


@cli.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default: SUPPORT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: SUPPORT_PORT).")] = None,
) -> None:
    """Serve the API (model, store and knowledge base load on start)."""
    if ctx.invoked_subcommand:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    try:
        if settings.llm_backend == "llama_cpp":
            configured_model_path(settings)
    except SupportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info",
                timeout_graceful_shutdown=5)


@cli.command()
def token(
    customer: Annotated[str | None, typer.Option(help="Customer id to sign a token for.")] = None,
    role: Annotated[str | None, typer.Option(help="Staff role: agent or ops.")] = None,
) -> None:
    """Print a signed token for local use."""
    if (customer is None) == (role is None) or role not in (None, "agent", "ops"):
        raise typer.BadParameter("give exactly one of --customer ID or --role agent|ops")
    settings = Settings()
    subject = customer or f"local-{role}"
    typer.echo(issue_token(settings.jwt_secret, role="customer" if customer else role, subject=subject))  # type: ignore[arg-type]


if __name__ == "__main__":
    cli()
