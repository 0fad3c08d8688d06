"""Split documents into retrieval chunks: Markdown by headings, plain text by paragraphs, HTML via its headings.

Text before a document's first subheading (and a whole plain-text document) is the :data:`INTRO_SECTION`, so
every chunk names a section. A section longer than :data:`CHUNK_CHARS` is cut at paragraph, line, sentence or
word boundaries into pieces that repeat the last :data:`OVERLAP_CHARS` characters of the previous piece.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict

from knowledge._html import html_to_markdown

DocKind = Literal["markdown", "text", "html"]
KINDS: dict[str, DocKind] = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"
}  # fmt: skip
"""File suffixes the knowledge base reads, and how each is split."""
CHUNK_CHARS = 800
OVERLAP_CHARS = 100
INTRO_SECTION = "Overview"
"""Section of the text before a document's first subheading, so every citation names a section."""
CHUNKER_VERSION = 2
"""Part of every document hash: bump it when chunking or the embedded text changes, and every document
(the bundled help center included) is re-ingested."""

# How an over-long text is cut, coarsest first: (separator kept between the pieces, pattern).
_CUTS = (
    ("\n\n", re.compile(r"\n\s*\n")),
    ("\n", re.compile(r"\n")),
    (" ", re.compile(r"(?<=[.!?])\s+")),
    (" ", re.compile(r"\s+")),
)
_MARKDOWN = MarkdownIt("commonmark")


class Chunk(BaseModel):
    """One retrievable piece of a document, with what Chroma stores beside it."""

    model_config = ConfigDict(frozen=True)

    id: str
    """Stable id: document, content hash and position, so a new version never overwrites the old one."""
    text: str
    doc_id: str
    """Key of the whole document (the resolved file path when ingested from disk)."""
    source: str
    """Where the document came from, as shown to readers (``help_center/returns.md``)."""
    title: str
    section: str
    """Heading path below the title (``Refunds > Store credit``); :data:`INTRO_SECTION` before the first one."""
    index: int
    content_hash: str
    """:func:`document_hash` of the whole document's text."""
    updated: str
    """ISO time the document last changed."""

    def embedding_text(self) -> str:
        """What the vector is computed from: the headings give a short passage its topic (a generic
        :data:`INTRO_SECTION` adds none)."""
        section = "" if self.section == INTRO_SECTION else self.section
        return "\n".join(part for part in (self.title, section, self.text) if part)

    def metadata(self) -> dict[str, str | int]:
        return self.model_dump(exclude={"id", "text"})


@dataclass(frozen=True)
class _Section:
    title: str
    section: str
    body: str


def chunk_document(text: str, *, kind: DocKind, source: str, updated: str, doc_id: str | None = None) -> list[Chunk]:
    """Chunks of one document; ``doc_id`` defaults to ``source``. Empty when it holds no text."""
    doc_id = doc_id or source
    content_hash = document_hash(text)
    prefix = f"{hashlib.sha1(doc_id.encode()).hexdigest()[:16]}-{content_hash[:12]}"
    sections = _sections(text, kind, _title_from(source))
    pieces = [(section, piece) for section in sections for piece in split_long(section.body)]
    return [
        Chunk(
            id=f"{prefix}-{i}",
            text=piece,
            doc_id=doc_id,
            source=source,
            title=section.title,
            section=section.section,
            index=i,
            content_hash=content_hash,
            updated=updated,
        )
        for i, (section, piece) in enumerate(pieces)
    ]


def document_hash(text: str) -> str:
    """SHA-256 of the chunker version and ``text``: equal hashes mean equal chunks."""
    return hashlib.sha256(f"chunker {CHUNKER_VERSION}\n{text}".encode()).hexdigest()


def split_long(text: str, *, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """``text`` packed into pieces of at most ``size`` characters, each repeating the previous one's tail."""
    if len(text) <= size:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit, separator in _units(text, size - overlap - 2):
        if current and len(current) + len(separator) + len(unit) > size:
            pieces.append(current)
            current = _tail(current, overlap)
        current = f"{current}{separator}{unit}" if current else unit
    pieces.append(current)
    return pieces


def _sections(text: str, kind: DocKind, default_title: str) -> list[_Section]:
    if kind == "text":
        return [_Section(default_title, INTRO_SECTION, text.strip())] if text.strip() else []
    return _markdown_sections(html_to_markdown(text) if kind == "html" else text, default_title)


def _markdown_sections(text: str, default_title: str) -> list[_Section]:
    lines = text.splitlines()
    tokens = _MARKDOWN.parse(text)
    headings = [
        (token.map[0], token.map[1], int(token.tag[1]), tokens[i + 1].content)
        for i, token in enumerate(tokens)
        if token.type == "heading_open" and token.level == 0 and token.map
    ]
    sections: list[_Section] = []
    title, path, start = default_title, dict[int, str](), 0
    for first, after, level, name in [*headings, (len(lines), len(lines), 0, "")]:
        body = "\n".join(lines[start:first]).strip()
        if body:
            sections.append(_Section(title, " > ".join(path[n] for n in sorted(path)) or INTRO_SECTION, body))
        if level == 1:
            title, path = name, {}
        elif level:
            path = {n: heading for n, heading in path.items() if n < level} | {level: name}
        start = after
    return sections


def _units(text: str, limit: int, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Pieces of ``text`` no longer than ``limit``, each with the separator that preceded it."""
    separator, pattern = _CUTS[depth]
    for part in filter(None, (p.strip() for p in pattern.split(text))):
        if len(part) <= limit:
            yield part, separator
        elif depth + 1 < len(_CUTS):
            for n, (unit, inner) in enumerate(_units(part, limit, depth + 1)):
                yield unit, inner if n else separator
        else:
            yield from ((part[i : i + limit], "") for i in range(0, len(part), limit))


def _tail(text: str, overlap: int) -> str:
    tail = text[-overlap:]
    space = re.search(r"\s", tail)
    return tail[space.end() :] if space and space.end() < len(tail) else tail


def _title_from(source: str) -> str:
    stem = re.sub(r"[-_]+", " ", PurePath(source).stem).strip()
    return stem[:1].upper() + stem[1:] if stem else source
