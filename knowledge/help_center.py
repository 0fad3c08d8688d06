"""The help center as ops edit it: articles versioned in the database and indexed into the knowledge base in
the same step, one article at a time, so the next search in any server process finds the new text."""

from __future__ import annotations

import os
from collections.abc import Callable

from core.settings import DEFAULT_PUBLIC_URL
from knowledge.articles import Article, ArticleStore, ArticleText
from knowledge.ingest import HELP_CENTER, delete_document, index_markdown, indexed_documents
from knowledge.store import KnowledgeBase
from tools.policy import Policy

_DOC_ID = "article:"
"""Prefix of an article's document key in the collection."""


def doc_id(slug: str) -> str:
    """The key of an article's chunks in the collection."""
    return f"{_DOC_ID}{slug}"


class HelpCenter:
    """Saves and retires articles, keeping the knowledge base in step; ``policy`` gives the policy in force, whose
    numbers fill the articles' placeholders."""

    def __init__(self, articles: ArticleStore, knowledge: KnowledgeBase, *, policy: Callable[[], Policy],
                 public_url: str = DEFAULT_PUBLIC_URL) -> None:
        self.articles = articles
        self._knowledge = knowledge
        self._policy = policy
        self._public_url = public_url

    def save(self, slug: str, text: ArticleText, *, author: str, reason: str, if_match: int | None) -> Article:
        """A new version of ``slug`` (a new article for ``if_match`` 0), searchable when this returns."""
        return self._change(slug, text, author=author, reason=reason, if_match=if_match)

    def retire(self, slug: str, *, author: str, reason: str, if_match: int | None) -> Article:
        """Take ``slug`` out of the help center (a version too: a later save brings it back)."""
        return self._change(slug, None, author=author, reason=reason, if_match=if_match)

    def sync(self) -> int:
        """Bring the collection in line with the articles in force: index new and changed ones (the policy's
        numbers included), drop retired ones and, once there are articles, chunks of the bundled files from before
        the database held them. Returns the chunks written."""
        collection = self._knowledge.collection()
        live = self.articles.live()
        keep = {doc_id(article.slug) for article in live}
        bundled = f"{HELP_CENTER.resolve()}{os.sep}"
        for key in indexed_documents(collection):
            if (key.startswith(_DOC_ID) and key not in keep) or (live and key.startswith(bundled)):
                delete_document(collection, key)
        written = sum(self._index(article) for article in live)
        self._knowledge.seen(self.articles.revision())
        return written

    def _change(self, slug: str, text: ArticleText | None, *, author: str, reason: str,
                if_match: int | None) -> Article:
        article = self.articles.save(slug, text, author=author, reason=reason, if_match=if_match, then=self._index)
        self._knowledge.seen(self.articles.revision())
        return article

    def _index(self, article: Article) -> int:
        collection = self._knowledge.collection()
        if article.retired:
            delete_document(collection, doc_id(article.slug))
            return 0
        text = ArticleText(title=article.title, body=article.body).markdown()
        return index_markdown(collection, text, doc_id=doc_id(article.slug), source=f"help_center/{article.slug}.md",
                              updated=article.updated_at.isoformat(timespec="seconds"), policy=self._policy(),
                              public_url=self._public_url)
