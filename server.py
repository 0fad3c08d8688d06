"""HTTP service: a FastAPI app streaming chat turns over SSE, an OpenAI-compatible route, the chat page at ``/``,
and its command line.

    python server.py [--host H] [--port P] [--workers N]  serve the API (N processes need PostgreSQL)
    python server.py token --customer ID                  print a customer token for local use
    python server.py token --role agent|ops --name NAME   print a staff member's token
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url

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
from api.start_lock import starting_alone
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
            async with starting_alone(settings.resolved_database_url):
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


def app_from_environment() -> FastAPI:
    """The API with settings from the environment: what each process of ``--workers N`` builds."""
    return create_app(Settings())


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


WORKER_HEALTHCHECK_SECONDS = 60
"""How long uvicorn waits for a worker to answer its health check before replacing it: a new worker imports the
whole app first (5 to 15 s on a busy 2-core machine; uvicorn's 5 s default kept killing them)."""

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default: SUPPORT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: SUPPORT_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes sharing the port (more than 1 needs "
                                                     "SUPPORT_DATABASE_URL on PostgreSQL).")] = 1,
) -> None:
    """Serve the API (model, store and knowledge base load on start)."""
    if ctx.invoked_subcommand:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if workers > 1:
        _check_shared_database(settings, workers)
    try:
        if settings.llm_backend == "llama_cpp":
            configured_model_path(settings)
    except SupportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    options: dict[str, Any] = {"host": host or settings.host, "port": port or settings.port, "log_level": "info",
                               "log_config": LOG_CONFIG, "timeout_graceful_shutdown": 5}
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    with _metrics_folder():
        uvicorn.run("server:app_from_environment", factory=True, workers=workers,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS, **options)


def _check_shared_database(settings: Settings, workers: int) -> None:
    """Exit with status 2 unless ``workers`` processes can share the store (PostgreSQL)."""
    if make_url(settings.resolved_database_url).get_backend_name() != "postgresql":
        typer.echo(f"error: --workers {workers} needs a database every process shares, and SQLite serves one "
                   "process: set SUPPORT_DATABASE_URL to PostgreSQL (postgresql+psycopg://user@host/db)", err=True)
        raise typer.Exit(2)
    if settings.llm_backend == "llama_cpp":
        log.warning("each of the %d processes loads its own copy of the model: SUPPORT_LLM_BACKEND=openai shares "
                    "one model server", workers)


@contextmanager
def _metrics_folder() -> Iterator[None]:
    """Prometheus multiprocess mode for the workers: ``PROMETHEUS_MULTIPROC_DIR`` emptied of the last run's
    files, or a temporary folder for this run when it is not set."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="support-metrics-") as created:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


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
