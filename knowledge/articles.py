"""Help-center articles in the database: every change (a new article, an edit, retiring one) is a new version
with author, reason and a diff, checked against the version the editor started from (``If-Match``).

The database is the source of truth; the bundled Markdown files only seed it on first start.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import NotFound, UserError
from tools.store import Store
from tools.store.models import ArticleVersion, utcnow

log = logging.getLogger(__name__)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
"""Lowercase words and digits joined by single dashes (``returns-policy``)."""
MAX_SLUG_CHARS = 80
MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 40_000
"""Largest article body: about twenty screens of text, well inside the request size limit."""
_TITLE_LINE = re.compile(r"\A\s*#[ \t]+(.+?)[ \t]*#*[ \t]*(?:\n|\Z)")

_SLUG = TypeAdapter(Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=MAX_SLUG_CHARS)])


class ArticleConflict(UserError):
    """The article changed since the version the editor started from."""

    def __init__(self, slug: str, current: int) -> None:
        super().__init__(f"{slug} is at version {current} now; reload it and apply your change again")
        self.current = current


class ArticleText(BaseModel):
    """What an editor writes: the title and the Markdown below it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    """Markdown; ``{return_window_days}``-style placeholders are filled from the policy when it is indexed."""

    def markdown(self) -> str:
        """The whole article as one Markdown document, its title the first heading."""
        return f"# {self.title}\n\n{self.body}\n"


class ArticleSummary(BaseModel):
    slug: str
    title: str
    version: int
    retired: bool
    author: str
    """Who made the latest version."""
    updated_at: datetime


class Article(ArticleSummary):
    body: str


class ArticleVersionView(BaseModel):
    version: int
    title: str
    retired: bool
    author: str
    reason: str
    diff: str
    created_at: datetime


def _summary(row: ArticleVersion) -> ArticleSummary:
    return ArticleSummary(slug=row.slug, title=row.title, version=row.version, retired=row.retired,
                          author=row.author, updated_at=row.created_at)


def _text(row: ArticleVersion | None) -> list[str]:
    if row is None or row.retired:
        return []
    return ArticleText(title=row.title, body=row.body).markdown().splitlines(keepends=True)


def parse_markdown(text: str, *, default_title: str) -> ArticleText:
    """Split a Markdown file into its first-line ``# Title`` (else ``default_title``) and the rest."""
    match = _TITLE_LINE.match(text)
    if match is None:
        return ArticleText(title=default_title, body=text)
    return ArticleText(title=match[1], body=text[match.end():])


class ArticleStore:
    """Reads and versions the articles of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def revision(self) -> int:
        """A number that grows with every change to any article (0 before the first)."""
        with self._store.session() as session:
            return session.scalar(select(func.max(ArticleVersion.id))) or 0

    def list(self) -> list[ArticleSummary]:
        """The latest version of every article, retired ones included, by slug."""
        with self._store.session() as session:
            return [_summary(row) for row in self._latest_rows(session)]

    def get(self, slug: str) -> Article:
        """The latest version of ``slug`` (:class:`NotFound` if it never existed)."""
        with self._store.session() as session:
            row = self._latest(session, slug)
            if row is None:
                raise NotFound(f"there is no article {slug!r}")
            return Article(**_summary(row).model_dump(), body=row.body)

    def live(self) -> list[Article]:
        """Every article in force (not retired)."""
        with self._store.session() as session:
            return [Article(**_summary(row).model_dump(), body=row.body)
                    for row in self._latest_rows(session) if not row.retired]

    def history(self, slug: str) -> list[ArticleVersionView]:
        """Every version of ``slug``, newest first."""
        with self._store.session() as session:
            rows = session.scalars(select(ArticleVersion).where(ArticleVersion.slug == slug)
                                   .order_by(ArticleVersion.version.desc())).all()
            if not rows:
                raise NotFound(f"there is no article {slug!r}")
            return [ArticleVersionView.model_validate(row, from_attributes=True) for row in rows]

    def save(self, slug: str, text: ArticleText | None, *, author: str, reason: str, if_match: int | None,
             then: Callable[[Article], object] | None = None) -> Article:
        """Make the next version of ``slug`` (``text`` None: retire it); a stale ``if_match`` (0 for a new
        article) is an :class:`ArticleConflict`, a bad slug pydantic's ``ValidationError``. ``then`` runs before
        the version is committed: if it raises, there is no new version."""
        _SLUG.validate_python(slug)
        try:
            with self._store.session(write=True) as session:
                article = self._add(session, slug, text, author=author, reason=reason, if_match=if_match)
                if then:
                    then(article)
        except IntegrityError as exc:  # another process saved the same version first
            raise ArticleConflict(slug, self.get(slug).version) from exc
        log.info("article %s version %s by %s: %s", slug, article.version, author, reason)
        return article

    def _add(self, session: Session, slug: str, text: ArticleText | None, *, author: str, reason: str,
             if_match: int | None) -> Article:
        previous = self._latest(session, slug)
        current = previous.version if previous else 0
        if if_match is not None and if_match != current:
            raise ArticleConflict(slug, current)
        shown = text
        if shown is None:
            if previous is None or previous.retired:
                raise NotFound(f"there is no article {slug!r} in force")
            shown = ArticleText(title=previous.title, body=previous.body)
        row = ArticleVersion(slug=slug, version=current + 1, title=shown.title, body=shown.body,
                             retired=text is None, author=author[:128], reason=reason, created_at=utcnow())
        row.diff = "".join(difflib.unified_diff(_text(previous), _text(row), f"version {current}",
                                                f"version {current + 1}"))
        session.add(row)
        session.flush()
        return Article(**_summary(row).model_dump(), body=row.body)

    def seed(self, folder: Path) -> int:
        """Make every Markdown file in ``folder`` version 1 of the article named by its file, if there are no
        articles yet; returns how many were added."""
        files = sorted(folder.glob("*.md"))
        try:
            with self._store.session(write=True) as session:
                if session.scalar(select(func.count()).select_from(ArticleVersion)):
                    return 0
                for file in files:
                    text = parse_markdown(file.read_text(encoding="utf-8-sig"), default_title=file.stem)
                    self._add(session, file.stem, text, author="system", reason="bundled help center", if_match=0)
        except IntegrityError:  # another process seeded them first
            return 0
        return len(files)

    @staticmethod
    def _latest(session: Session, slug: str) -> ArticleVersion | None:
        return session.scalar(select(ArticleVersion).where(ArticleVersion.slug == slug)
                              .order_by(ArticleVersion.version.desc()).limit(1))

    @staticmethod
    def _latest_rows(session: Session) -> list[ArticleVersion]:
        newest = (select(ArticleVersion.slug, func.max(ArticleVersion.version).label("version"))
                  .group_by(ArticleVersion.slug).subquery())
        query = (select(ArticleVersion)
                 .join(newest, (ArticleVersion.slug == newest.c.slug) & (ArticleVersion.version == newest.c.version))
                 .order_by(ArticleVersion.slug))
        return list(session.scalars(query))
