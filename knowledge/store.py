"""The Chroma collection behind the knowledge base, and searching it.

This module is the seam to chromadb: its errors become :class:`RuntimeFailure` here (see :func:`chroma_errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from pydantic import BaseModel, ConfigDict

from core.embeddings import MiniLMEmbeddingFunction
from core.errors import ConfigError, RuntimeFailure
from core.settings import Settings
from core.tracing import content_allowed, span
from knowledge.chunking import INTRO_SECTION

log = logging.getLogger(__name__)


class Passage(BaseModel):
    """A piece of the help center that answers a question."""

    model_config = ConfigDict(frozen=True)

    text: str
    title: str
    section: str
    """Heading path inside the article; ``Overview`` for its introduction."""
    source: str
    """Document it comes from (``help_center/returns-policy.md``)."""
    score: float
    """Cosine similarity to the question, 1 - cosine distance (higher is closer)."""


@contextmanager
def chroma_errors(action: str) -> Iterator[None]:
    """Turn chromadb and connection errors raised inside the block into :class:`RuntimeFailure`."""
    try:
        yield
    except (ChromaError, ValueError, OSError, httpx.HTTPError) as exc:
        log.warning("knowledge base: could not %s: %s", action, exc)
        raise RuntimeFailure(f"the knowledge base could not {action}") from exc


def open_collection(settings: Settings, *, reload: bool = False) -> Collection:
    """The knowledge-base collection (created if missing) in cosine space with the bundled embeddings.

    ``reload``: read an embedded collection from disk again. Each process keeps its own copy of an embedded
    collection's index and never sees another process's writes in it; this drops the process's copies (those
    of other folders too, so keep using only collections opened after it).
    """
    if reload and not settings.chroma_url:
        SharedSystemClient.clear_system_cache()
    with chroma_errors("open its collection"):
        collection = _client(settings).get_or_create_collection(
            settings.kb_collection,
            embedding_function=MiniLMEmbeddingFunction(),
            configuration={"hnsw": {"space": "cosine"}},
        )
    space = _space(collection.configuration)
    if space != "cosine":
        raise ConfigError(
            f"Chroma collection {settings.kb_collection!r} uses {space!r} distance, not cosine: "
            "delete it or set SUPPORT_KB_COLLECTION to a new name"
        )
    return collection


class KnowledgeBase:
    """Question in, relevant passages out."""

    def __init__(self, collection: Collection, *, top_k: int, min_score: float,
                 revision: Callable[[], int] | None = None, reopen: Callable[[], Collection] | None = None) -> None:
        """``revision``: a number that changes whenever another process may have written to the collection;
        when it has changed since the last look, ``reopen`` gives the collection as it is now."""
        self._collection = collection
        self._top_k = top_k
        self._min_score = min_score
        self._revision = revision if reopen else None
        self._reopen = reopen
        self._seen = revision() if self._revision else 0

    @classmethod
    def from_settings(cls, settings: Settings, *, revision: Callable[[], int] | None = None) -> KnowledgeBase:
        """The collection the settings name; with ``revision``, an embedded one is read again from disk when
        the revision changes (a Chroma server needs no reload)."""
        reopen = None if settings.chroma_url else lambda: open_collection(settings, reload=True)
        return cls(open_collection(settings), top_k=settings.kb_top_k, min_score=settings.kb_min_score,
                   revision=revision, reopen=reopen)

    def collection(self) -> Collection:
        """The collection, read again first if another process changed it since this one last looked."""
        if self._revision and self._reopen and (current := self._revision()) != self._seen:
            self._collection = self._reopen()
            self._seen = current
        return self._collection

    def seen(self, revision: int) -> None:
        """Record that the collection is up to date with ``revision`` (this process wrote it)."""
        self._seen = revision

    def search(self, query: str, k: int | None = None) -> list[Passage]:
        """Up to ``k`` (default ``kb_top_k``) passages scoring at least ``kb_min_score``, best first (traced as a
        ``retrieval`` span; the question itself only where ``SUPPORT_TRACE_CONTENT`` allows)."""
        with span("retrieval", {"support.kb.top_k": k or self._top_k}) as current:
            if content_allowed():
                current.set_attribute("support.kb.query", query)
            nearest = self.nearest(query, k)
            passages = [p for p in nearest if p.score >= self._min_score]
            current.set_attributes({"support.kb.passages": len(passages),
                                    "support.kb.best_score": nearest[0].score if nearest else 0.0})
        return passages

    def nearest(self, query: str, k: int | None = None) -> list[Passage]:
        """The ``k`` closest passages whatever their score (for tuning the threshold)."""
        if not query.strip():
            return []
        with chroma_errors("search"):
            result = self.collection().query(
                query_texts=[query], n_results=k or self._top_k, include=["documents", "metadatas", "distances"]
            )
        rows = zip(
            (result["documents"] or [[]])[0],
            (result["metadatas"] or [[]])[0],
            (result["distances"] or [[]])[0],
            strict=True,
        )
        return [_passage(text, dict(meta or {}), distance) for text, meta, distance in rows]


def _passage(text: str, meta: dict[str, Any], distance: float) -> Passage:
    return Passage(
        text=text,
        title=str(meta.get("title", "")),
        section=str(meta.get("section") or INTRO_SECTION),  # chunks stored before intros had a section
        source=str(meta.get("source", "")),
        score=round(1.0 - float(distance), 4),
    )


def _client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=settings.resolved_chroma_path, settings=chroma_settings)
    url = urlsplit(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise ConfigError(f"SUPPORT_CHROMA_URL must look like http://host:8000, not {settings.chroma_url!r}")
    ssl = url.scheme == "https"
    return chromadb.HttpClient(
        host=url.hostname, port=url.port or (443 if ssl else 8000), ssl=ssl, settings=chroma_settings
    )


def _space(configuration: Any) -> str:
    index = configuration.get("hnsw") or configuration.get("spann") or {}
    return str(index.get("space") or "l2")
