"""HTTP service: a FastAPI app streaming chat turns over SSE, and its command line.

    python server.py [--host H] [--port P]          serve the API
    python server.py token --customer ID            print a customer token for local use
    python server.py token --role agent|ops         print a staff token for local use
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agent.bootstrap import build_deps, open_checkpointer
from agent.llm import bundled_model_path, check_gguf
from agent.service import SupportAgent
from agent.state import AgentDeps
from api import account, chat
from api.deps import Runtime, RuntimeDep
from api.limits import BodySizeLimit
from core.auth import issue_token
from core.errors import SupportError
from core.settings import Settings

log = logging.getLogger("server")


def create_app(settings: Settings, *, deps_factory: Callable[[Settings], AgentDeps] = build_deps) -> FastAPI:
    """The API; the model and stores load in the background and ``/healthz`` says when they are ready."""
    runtime = Runtime(settings)

    async def load(stack: AsyncExitStack) -> None:
        try:
            deps = await asyncio.to_thread(deps_factory, settings)
            checkpointer = await stack.enter_async_context(open_checkpointer(settings))
            runtime.agent = SupportAgent(deps, checkpointer)
            log.info("ready: model, store and knowledge base loaded")
        except SupportError as exc:
            runtime.failure = str(exc)
            log.error("start-up failed: %s", exc)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            task = asyncio.create_task(load(stack))
            yield
            task.cancel()

    app = FastAPI(title="Support agent", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.include_router(chat.router)
    app.include_router(account.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_exception_handler(UnicodeDecodeError, _bad_encoding)
    return app


def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 once the model and stores are ready; 503 while loading or if start-up failed."""
    if runtime.agent is not None:
        return JSONResponse({"status": "ok"})
    status = "failed" if runtime.failure else "starting"
    return JSONResponse({"status": status, "detail": runtime.failure}, status_code=503)


async def _bad_encoding(_: Request, __: Exception) -> JSONResponse:
    return JSONResponse({"detail": "request body is not valid UTF-8"}, status_code=400)


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
            check_gguf(settings.model_path or bundled_model_path())
    except SupportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


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
