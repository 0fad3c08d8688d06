"""HTTP service: a FastAPI app streaming chat turns over SSE, an OpenAI-compatible route, the chat page at ``/``,
and its command line.

    python server.py [--host H] [--port P]                serve the API
    python server.py token --customer ID                  print a customer token for local use
    python server.py token --role agent|ops --name NAME   print a staff member's token
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

from agent.bootstrap import build_deps, open_checkpointer, token_keys
from agent.llm import configured_model_path
from agent.service import SupportAgent
from agent.state import AgentDeps
from api import account, admin, articles, chat, conversations, feedback, handoffs, insights, openai_compat, wire
from api.access_log import LOG_CONFIG
from api.deps import Runtime, RuntimeDep
from api.errors import install_error_handlers, problem_body
from api.headers import SecurityHeaders
from api.limits import BodySizeLimit
from api.metrics import router as metrics_router
from api.route_limits import limit, limit_other_routes
from core.auth import MAX_SUBJECT_CHARS, issue_token
from core.errors import SupportError
from core.metrics import process_ended
from core.settings import Settings
from core.tracing import exporting
from tools.mail import delivering

log = logging.getLogger("server")

WEB = Path(__file__).resolve().parent / "web"
"""The chat page: plain HTML, CSS and JavaScript, no build step."""


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
            keys = await asyncio.to_thread(token_keys, settings, deps.store)
            checkpointer = await stack.enter_async_context(open_checkpointer(settings))
            runtime.ready(SupportAgent(deps, checkpointer), keys)
            log.info("ready: model, store and knowledge base loaded")
            await stack.enter_async_context(delivering(deps.store, settings))
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
            stack.callback(process_ended)
            stack.enter_context(exporting(settings))
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
    app.add_middleware(SecurityHeaders, docs_paths={app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url})
    for module in (conversations, feedback, chat, openai_compat, account, admin, articles, handoffs, insights):
        app.include_router(module.router)
    app.include_router(metrics_router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"], dependencies=[limit("read")])
    app.add_api_route("/", chat_page, methods=["GET"], include_in_schema=False, dependencies=[limit("page")])
    app.add_api_route("/reset-password", reset_page, methods=["GET"], include_in_schema=False,
                      dependencies=[limit("page")])
    app.mount("/web", StaticFiles(directory=WEB), name="web")
    limit_other_routes(app, runtime)
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
    return FileResponse(WEB / "index.html")


def reset_page() -> FileResponse:
    """The page a password-reset email links to (its address holds the token: never cached)."""
    return FileResponse(WEB / "reset.html", headers={"Cache-Control": "no-store"})


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
                log_config=LOG_CONFIG, timeout_graceful_shutdown=5)


@cli.command()
def token(
    customer: Annotated[str | None, typer.Option(help="Customer id to sign a token for.")] = None,
    role: Annotated[str | None, typer.Option(help="Staff role: agent or ops.")] = None,
    name: Annotated[str | None, typer.Option(help="The staff member's name, as the audit log shows it.")] = None,
) -> None:
    """Print a signed token: a customer's, or a named staff member's."""
    if (customer is None) == (role is None) or role not in (None, "agent", "ops"):
        raise typer.BadParameter("give exactly one of --customer ID or --role agent|ops --name NAME")
    subject = (customer or name or "").strip()
    if not subject or len(subject) > MAX_SUBJECT_CHARS:
        raise typer.BadParameter(f"a staff token names its person: --name NAME (at most {MAX_SUBJECT_CHARS} "
                                 "characters)" if role else "the customer id is empty or too long")
    keys = token_keys(Settings())
    typer.echo(issue_token(keys, role="customer" if customer else role, subject=subject))  # type: ignore[arg-type]


if __name__ == "__main__":
    cli()
