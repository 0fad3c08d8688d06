"""Which files an ingest reads, and reading one of them as text or saying why it cannot be used."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.errors import UserError
from knowledge.chunking import KINDS, DocKind

MAX_BYTES = 5 * 1024 * 1024
_UNSUPPORTED = f"unsupported file type (use {', '.join(sorted(KINDS))})"


class UnusableDocument(UserError):
    """A file that exists but cannot be ingested; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest."""

    path: Path
    """Resolved path, also the document's key."""
    source: str
    """Name shown to readers: relative to the folder's parent (``help_center/returns.md``) or as given."""

    @property
    def kind(self) -> DocKind:
        return KINDS[self.path.suffix.lower()]


@dataclass
class Found:
    """The result of walking the paths given to an ingest."""

    files: list[SourceFile] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    """Resolved folders walked: stored documents under them that no longer exist get deleted."""
    errors: dict[str, str] = field(default_factory=dict)


def find_sources(paths: Iterable[Path]) -> Found:
    """Supported files under ``paths`` (folders are walked, hidden entries skipped), each file once even when
    it is reached twice (listed again, inside a listed folder, through a symlink)."""
    found, seen = Found(), set[Path]()
    for given in paths:
        path = given.resolve()
        if path.is_dir():
            found.folders.append(path)
            candidates = [(f, f"{path.name}/{f.relative_to(path).as_posix()}") for f in _walk(path)]
        elif path.is_file() and path.suffix.lower() in KINDS:
            candidates = [(path, str(given))]
        else:
            found.errors[str(given)] = _UNSUPPORTED if path.exists() else "no such file or folder"
            continue
        for file, source in candidates:
            if (target := file.resolve()) not in seen:
                seen.add(target)
                found.files.append(SourceFile(file, source))
    return found


def read_document(path: Path) -> tuple[str, str]:
    """The file's text and its last change as an ISO time; :class:`UnusableDocument` if it can't be used."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_BYTES:
            raise UnusableDocument(f"larger than the {MAX_BYTES // 1024 // 1024} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise UnusableDocument(f"unreadable ({exc.strerror or type(exc).__name__})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableDocument("not UTF-8 text") from exc
    if "\x00" in text:
        raise UnusableDocument("binary file, not text")
    if not text.strip():
        raise UnusableDocument("empty file")
    return text, datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds")


def _walk(folder: Path) -> list[Path]:
    return sorted(
        file
        for file in folder.rglob("*")
        if file.suffix.lower() in KINDS
        and file.is_file()
        and not any(part.startswith(".") for part in file.relative_to(folder).parts)
    )
