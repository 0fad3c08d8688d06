"""Incremental ingest: bring the collection in line with files on disk, one document at a time.

Documents are keyed by their resolved path. An unchanged document (same content hash) is skipped; a changed
one has its new chunks written before the old ones are removed, so a search never finds it missing or half
replaced, and a write that fails part-way is undone. A document that vanished from a folder being ingested is
deleted. A file that cannot be used is reported and keeps whatever version the collection already had.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromadb.api.models.Collection import Collection
from pydantic import BaseModel, ConfigDict

from core.embeddings import MiniLMEmbeddingFunction
from core.settings import DEFAULT_PUBLIC_URL, Settings
from knowledge._sources import Found, SourceFile, UnusableDocument, find_sources, read_document
from knowledge.chunking import Chunk, chunk_document, document_hash
from knowledge.placeholders import render_policy
from knowledge.store import chroma_errors, open_collection
from tools.policy import Policy, load_policy

log = logging.getLogger(__name__)

HELP_CENTER = Path(__file__).with_name("help_center")
"""The bundled default help center."""
_DIGEST_KEY = "help_center_digest"
_BATCH = 500  # chunks per upsert, well under Chroma's request limit


class IngestReport(BaseModel):
    """What one ingest did, by document source."""

    model_config = ConfigDict(frozen=True)

    added: list[str] = []
    updated: list[str] = []
    skipped: list[str] = []
    """Unchanged since the last ingest."""
    deleted: list[str] = []
    errors: dict[str, str] = {}
    """Files that could not be ingested, with the reason (by full path when two files share a source name)."""
    chunks_written: int = 0

    def summary(self) -> str:
        """A few readable lines: counts, then one line per deleted document and per error."""
        counts = (
            f"added {len(self.added)}, updated {len(self.updated)}, skipped {len(self.skipped)}, "
            f"deleted {len(self.deleted)}, errors {len(self.errors)} ({self.chunks_written} chunks written)"
        )
        lines = [f"  deleted: {source}" for source in self.deleted]
        lines += [f"  error: {source}: {reason}" for source, reason in self.errors.items()]
        return "\n".join([counts, *lines])


@dataclass
class _Stored:
    """A document already in the collection: its source and the content hashes its first chunks carry."""

    source: str
    hashes: set[str] = field(default_factory=set)


def ingest(paths: Iterable[Path], collection: Collection, *, policy: Policy,
           public_url: str = DEFAULT_PUBLIC_URL) -> IngestReport:
    """Ingest files and folders (Markdown, text, HTML) into ``collection``, rendering policy placeholders and
    ``{public_url}``."""
    found = find_sources(paths)
    stored = _stored_documents(collection)
    done: dict[str, list[str]] = {"added": [], "updated": [], "skipped": []}
    errors, written = dict(found.errors), 0
    names: dict[str, Path] = {}
    for file in found.files:
        if (taken := names.setdefault(file.source, file.path)) != file.path:
            errors[str(file.path)] = f"same name ({file.source}) as {taken}: rename one of them"
            continue
        try:
            chunks = _chunks(file, policy, public_url)
        except UnusableDocument as exc:
            log.warning("not ingested: %s %s", file.source, exc)
            errors[file.source] = str(exc)
            continue
        previous = stored.get(str(file.path))
        if previous and previous.hashes == {chunks[0].content_hash}:
            done["skipped"].append(file.source)
            continue
        _replace(collection, chunks)
        written += len(chunks)
        done["updated" if previous else "added"].append(file.source)
    deleted = _delete_vanished(collection, stored, found)
    report = IngestReport(**done, deleted=deleted, errors=errors, chunks_written=written)
    log.info("ingest: %s", report.summary().splitlines()[0])
    return report


def ensure_default_help_center(settings: Settings) -> IngestReport | None:
    """Ingest the bundled help center if the collection is empty or the articles or policy changed."""
    policy = load_policy()
    collection = open_collection(settings)
    digest = _folder_digest(HELP_CENTER, policy, settings.public_url)
    metadata = dict(collection.metadata or {})
    with chroma_errors("count its documents"):
        if collection.count() and metadata.get(_DIGEST_KEY) == digest:
            return None
    report = ingest([HELP_CENTER], collection, policy=policy, public_url=settings.public_url)
    if not report.errors:
        with chroma_errors("record the help center version"):
            collection.modify(metadata={**metadata, _DIGEST_KEY: digest})
    return report


def index_markdown(collection: Collection, text: str, *, doc_id: str, source: str, updated: str, policy: Policy,
                   public_url: str = DEFAULT_PUBLIC_URL) -> int:
    """Make Markdown ``text`` (policy placeholders rendered) the only version of ``doc_id`` in ``collection``;
    returns the chunks written (none when that version is there already)."""
    chunks = chunk_document(render_policy(text, policy, public_url=public_url), kind="markdown", source=source,
                            updated=updated, doc_id=doc_id)
    if not chunks:
        raise UnusableDocument("no text to index")
    if _stored_documents(collection, doc_id).get(doc_id, _Stored(source)).hashes == {chunks[0].content_hash}:
        return 0
    _replace(collection, chunks)
    return len(chunks)


def indexed_documents(collection: Collection) -> list[str]:
    """The key of every document in ``collection``."""
    return list(_stored_documents(collection))


def delete_document(collection: Collection, doc_id: str) -> None:
    """Remove every chunk of ``doc_id``."""
    with chroma_errors("delete a document"):
        collection.delete(where={"doc_id": doc_id})


def _chunks(file: SourceFile, policy: Policy, public_url: str) -> list[Chunk]:
    text, updated = read_document(file.path)
    chunks = chunk_document(render_policy(text, policy, public_url=public_url), kind=file.kind, source=file.source,
                            updated=updated, doc_id=str(file.path))
    if not chunks:
        raise UnusableDocument("no text to index")
    return chunks


def _replace(collection: Collection, chunks: list[Chunk]) -> None:
    """Write a document's new chunks, then drop its chunks of any other version; a failed write is undone."""
    embeddings = MiniLMEmbeddingFunction()([chunk.embedding_text() for chunk in chunks])
    with chroma_errors("store a document"):
        try:
            for start in range(0, len(chunks), _BATCH):
                part = chunks[start : start + _BATCH]
                collection.upsert(
                    ids=[c.id for c in part],
                    documents=[c.text for c in part],
                    embeddings=embeddings[start : start + _BATCH],
                    metadatas=[c.metadata() for c in part],
                )
        except BaseException:  # Ctrl-C too: never leave part of a version behind
            collection.delete(ids=[c.id for c in chunks])
            raise
        collection.delete(
            where={"$and": [{"doc_id": chunks[0].doc_id}, {"content_hash": {"$ne": chunks[0].content_hash}}]}
        )


def _stored_documents(collection: Collection, doc_id: str | None = None) -> dict[str, _Stored]:
    """Every document in the collection (or only ``doc_id``) by key, from the metadata of its first chunks."""
    where: dict[str, Any] = {"index": 0} if doc_id is None else {"$and": [{"index": 0}, {"doc_id": doc_id}]}
    with chroma_errors("list its documents"):
        rows = collection.get(where=where, include=["metadatas"])
    stored: dict[str, _Stored] = {}
    for meta in rows["metadatas"] or []:
        doc = stored.setdefault(str(meta["doc_id"]), _Stored(str(meta["source"])))
        doc.hashes.add(str(meta["content_hash"]))
    return stored


def _delete_vanished(collection: Collection, stored: dict[str, _Stored], found: Found) -> list[str]:
    present = {str(file.path) for file in found.files}
    prefixes = tuple(f"{folder}{os.sep}" for folder in found.folders)
    vanished = [doc_id for doc_id in stored if doc_id.startswith(prefixes) and doc_id not in present]
    with chroma_errors("delete a document"):
        for doc_id in vanished:
            collection.delete(where={"doc_id": doc_id})
    return [stored[doc_id].source for doc_id in vanished]


def _folder_digest(folder: Path, policy: Policy, public_url: str) -> str:
    """Hash of every supported file's name and document hash, policy rendered in: cheap, no embedding."""
    digest = hashlib.sha256()
    for file in find_sources([folder]).files:
        text = render_policy(file.path.read_text(encoding="utf-8-sig", errors="replace"), policy, public_url=public_url)
        digest.update(f"{file.source}\0{document_hash(text)}\0".encode())
    return digest.hexdigest()
