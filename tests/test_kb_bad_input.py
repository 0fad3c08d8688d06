"""Ingesting bad input: every unusable file is its own clear error, the rest of the batch still goes in, and a
document in the collection is never half updated."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
from chromadb.api.models.Collection import Collection

from core.errors import RuntimeFailure
from knowledge import ingest, open_collection
from tests.conftest import make_settings
from tools.policy import load_policy

POLICY = load_policy()
ingest_module = importlib.import_module("knowledge.ingest")  # `knowledge.ingest` is also the function


@pytest.fixture
def collection(tmp_path: Path) -> Collection:
    return open_collection(make_settings(tmp_path / "data", chroma_path=None, chroma_url=None))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def texts(collection: Collection) -> list[str]:
    return sorted(collection.get(include=["documents"])["documents"] or [])


def test_bad_files_are_reported_one_by_one_and_the_rest_ingests(tmp_path: Path, collection: Collection) -> None:
    docs = tmp_path / "docs"
    write(docs / "good.md", "# Good\n\nThis one is fine.")
    write(docs / "also-good.txt", "Plain text is fine too.")
    write(docs / "empty.md", "  \n\n")
    (docs / "binary.md").write_bytes(bytes(range(256)) * 8)
    (docs / "photo.html").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    (docs / "nul.txt").write_bytes(b"text with a \x00 NUL byte")
    (docs / "utf16.md").write_text("# Wide\n\nUTF-16 text.", encoding="utf-16")
    write(docs / "headings-only.md", "# Title\n\n## Section\n")
    with (docs / "huge.md").open("w") as huge:  # 50 MB of real text: refused by its size, never read
        huge.write("# Huge\n\n")
        for _ in range(50):
            huge.write("All work and no play makes a long help article. " * 22_000 + "\n\n")

    report = ingest([docs, tmp_path / "missing.md"], collection, policy=POLICY)
    assert sorted(report.added) == ["docs/also-good.txt", "docs/good.md"]
    assert report.errors == {
        "docs/binary.md": "not UTF-8 text",
        "docs/empty.md": "empty file",
        "docs/headings-only.md": "no text to index",
        "docs/huge.md": "larger than the 5 MB limit",
        "docs/nul.txt": "binary file, not text",
        "docs/photo.html": "not UTF-8 text",
        "docs/utf16.md": "not UTF-8 text",
        str(tmp_path / "missing.md"): "no such file or folder",
    }
    assert (docs / "huge.md").stat().st_size > 50 * 1024 * 1024
    assert texts(collection) == ["Plain text is fine too.", "This one is fine."]
    assert "error: docs/empty.md: empty file" in report.summary()


def test_unreadable_file_is_reported(tmp_path: Path, collection: Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "docs" / "good.md", "# Good\n\nFine.")
    locked = write(tmp_path / "docs" / "locked.md", "# Locked\n\nSecret.")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads files whatever their mode: fail the read as it fails for anyone else
        read_bytes = Path.read_bytes

        def guarded_read(path: Path) -> bytes:
            if path == locked:
                raise PermissionError(13, "Permission denied")
            return read_bytes(path)

        monkeypatch.setattr(Path, "read_bytes", guarded_read)
    try:
        report = ingest([tmp_path / "docs"], collection, policy=POLICY)
    finally:
        locked.chmod(0o644)
    assert report.added == ["docs/good.md"]
    assert report.errors == {"docs/locked.md": "unreadable (Permission denied)"}


def test_a_file_reached_twice_is_ingested_once(tmp_path: Path, collection: Collection) -> None:
    docs = tmp_path / "docs"
    a = write(docs / "a.md", "# A\n\nOnly once.")
    (docs / "alias.md").symlink_to(a)
    spellings = [docs, a, docs / "." / "a.md", docs / "sub" / ".." / "a.md", docs / "alias.md", docs]

    report = ingest(spellings, collection, policy=POLICY)
    assert (report.added, report.errors, report.chunks_written) == (["docs/a.md"], {}, 1)
    assert texts(collection) == ["Only once."]


def test_two_files_with_the_same_source_name_are_an_error(tmp_path: Path, collection: Collection) -> None:
    first = write(tmp_path / "shop" / "docs" / "faq.md", "# FAQ\n\nShop answers.")
    second = write(tmp_path / "blog" / "docs" / "faq.md", "# FAQ\n\nBlog answers.")
    write(tmp_path / "blog" / "docs" / "other.md", "# Other\n\nStill ingested.")

    report = ingest([first.parent, second.parent], collection, policy=POLICY)
    assert sorted(report.added) == ["docs/faq.md", "docs/other.md"]
    assert report.errors == {str(second): f"same name (docs/faq.md) as {first}: rename one of them"}
    assert texts(collection) == ["Shop answers.", "Still ingested."]


def test_a_document_that_turns_bad_keeps_its_indexed_version(tmp_path: Path, collection: Collection) -> None:
    doc = write(tmp_path / "docs" / "a.md", "# A\n\nStill here.")
    ingest([tmp_path / "docs"], collection, policy=POLICY)
    doc.write_text("")
    report = ingest([tmp_path / "docs"], collection, policy=POLICY)
    assert (report.errors, report.deleted) == ({"docs/a.md": "empty file"}, [])
    assert texts(collection) == ["Still here."]


def _article(version: str, sections: int) -> str:
    return "# A\n\n" + "\n\n".join(f"## Part {n}\n\n{version} text of part {n}." for n in range(sections))


def test_a_write_that_fails_part_way_leaves_the_previous_version_whole(
    tmp_path: Path, collection: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = write(tmp_path / "docs" / "a.md", _article("Old", 3))
    ingest([tmp_path / "docs"], collection, policy=POLICY)
    old = texts(collection)
    doc.write_text(_article("New", 5))
    upsert, calls = Collection.upsert, []

    def disk_full_on_second_batch(self: Collection, **kwargs: object) -> None:
        calls.append(kwargs["ids"])
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        upsert(self, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as failing:
        failing.setattr(ingest_module, "_BATCH", 2)
        failing.setattr(Collection, "upsert", disk_full_on_second_batch)
        with pytest.raises(RuntimeFailure, match="could not store a document"):
            ingest([tmp_path / "docs"], collection, policy=POLICY)
    assert len(calls) == 2 and texts(collection) == old

    report = ingest([tmp_path / "docs"], collection, policy=POLICY)
    assert report.updated == ["docs/a.md"]
    assert texts(collection) == sorted(f"New text of part {n}." for n in range(5))
