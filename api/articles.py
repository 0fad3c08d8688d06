"""Ops editing of the help center: list, read, write (a new version, checked with ``If-Match``), retire and the
history with diffs. A saved article is searchable by the agent in every server process when the call returns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AgentDep
from api.roles import require
from api.route_limits import limit
from core.auth import Principal
from core.errors import NotFound, RuntimeFailure
from knowledge import Article, ArticleStore, ArticleText, HelpCenter, UnusableDocument
from knowledge.articles import MAX_SLUG_CHARS, SLUG_PATTERN, ArticleConflict, ArticleSummary, ArticleVersionView

router = APIRouter(tags=["admin"], dependencies=[limit("staff")])
ARTICLES_PAGE = FilePath(__file__).resolve().parents[1] / "web" / "articles.html"
Ops = Annotated[Principal, Depends(require("ops"))]
IfMatch = Annotated[str | None, Header(description="The article version the change was made against (0: new).")]
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=MAX_SLUG_CHARS,
                               description="Lowercase words and digits joined by dashes.")]


class ArticleChange(ArticleText):
    """A new version of an article."""

    reason: str = Field(min_length=3, max_length=500, description="Why: kept in the history.")


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, description="Why: kept in the history.")


def _help_center(agent: AgentDep) -> HelpCenter:
    deps = agent.deps
    return HelpCenter(ArticleStore(deps.store), deps.knowledge, policy=lambda: deps.policy,
                      public_url=deps.settings.public_url)


Articles = Annotated[HelpCenter, Depends(_help_center)]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise HTTPException(400, "If-Match must be an article version number") from exc


def _tagged(article: Article, response: Response) -> Article:
    response.headers["ETag"] = f'"{article.version}"'
    return article


async def _changed(change: Callable[[], Article], response: Response) -> Article:
    """Run a save or retire, turning problems into 412 / 404 / 422 / 503."""
    try:
        return _tagged(await asyncio.to_thread(change), response)
    except ArticleConflict as exc:
        raise HTTPException(412, str(exc), headers={"ETag": f'"{exc.current}"'}) from exc
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except UnusableDocument as exc:  # Markdown with no text to search (only headings, say)
        raise HTTPException(422, [{"loc": ["body", "body"], "msg": str(exc), "type": "value_error"}]) from exc
    except RuntimeFailure as exc:
        raise HTTPException(503, f"not saved: {exc}", headers={"Retry-After": "5"}) from exc


@router.get("/admin/articles", include_in_schema=False)
def articles_page() -> FileResponse:
    """The help-center editor (plain HTML and JavaScript)."""
    return FileResponse(ARTICLES_PAGE, headers={"Cache-Control": "no-store"})


@router.get("/v1/admin/articles")
async def list_articles(_: Ops, help_center: Articles) -> list[ArticleSummary]:
    """Every article's latest version (retired ones flagged), by slug."""
    return await asyncio.to_thread(help_center.articles.list)


@router.get("/v1/admin/articles/{slug}")
async def read_article(slug: SlugPath, _: Ops, help_center: Articles, response: Response) -> Article:
    """One article's latest version with its Markdown (``ETag``: its version)."""
    try:
        return _tagged(await asyncio.to_thread(help_center.articles.get, slug), response)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.put("/v1/admin/articles/{slug}")
async def write_article(slug: SlugPath, change: ArticleChange, who: Ops, help_center: Articles, response: Response,
                        if_match: IfMatch = None) -> Article:
    """Save a new version (``If-Match: 0`` creates an article that must not exist yet); the agent finds the new
    text from its next search."""
    text, version = ArticleText(title=change.title, body=change.body), _if_match(if_match)
    return await _changed(lambda: help_center.save(slug, text, author=who.subject, reason=change.reason,
                                                   if_match=version), response)


@router.delete("/v1/admin/articles/{slug}")
async def retire_article(slug: SlugPath, body: Retirement, who: Ops, help_center: Articles, response: Response,
                         if_match: IfMatch = None) -> Article:
    """Take an article out of the help center (a new version; saving it again brings it back)."""
    version = _if_match(if_match)
    return await _changed(lambda: help_center.retire(slug, author=who.subject, reason=body.reason,
                                                     if_match=version), response)


@router.get("/v1/admin/articles/{slug}/history")
async def article_history(slug: SlugPath, _: Ops, help_center: Articles) -> list[ArticleVersionView]:
    """Every version, newest first, with author, time, reason and diff."""
    try:
        return await asyncio.to_thread(help_center.articles.history, slug)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
