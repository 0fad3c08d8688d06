"""Error responses: FastAPI's ``{"detail": ...}`` everywhere, OpenAI's ``{"error": {...}}`` on its route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.openai_compat import PATH, openai_error


def _openai_route(request: Request) -> bool:
    return request.url.path.rstrip("/") == PATH


def problem_body(path: str, status: int, message: str) -> dict[str, Any]:
    """The error body for a refusal on ``path``: OpenAI's shape on its route, FastAPI's elsewhere."""
    return openai_error(status, message) if path.rstrip("/") == PATH else {"detail": message}


def _with_conversation(request: Request, response: Response) -> Response:
    conversation_id = request.headers.get("x-conversation-id")
    if conversation_id and len(conversation_id) <= 64:
        response.headers["X-Conversation-Id"] = conversation_id
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not _openai_route(request):
        return await http_exception_handler(request, exc)
    response = JSONResponse(openai_error(exc.status_code, str(exc.detail)), status_code=exc.status_code,
                            headers=exc.headers)
    return _with_conversation(request, response)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _openai_route(request):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
    return _with_conversation(request, JSONResponse(openai_error(422, problems[:2000]), status_code=422))


async def _bad_encoding(request: Request, _: Exception) -> Response:
    body = problem_body(request.url.path, 400, "request body is not valid UTF-8")
    return _with_conversation(request, JSONResponse(body, status_code=400))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(UnicodeDecodeError, _bad_encoding)
