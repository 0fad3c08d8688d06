"""The live policy: versions in the database (so every server process sees a change at once), seeded from
and kept in step with a YAML file that ops may also edit by hand."""

from __future__ import annotations

import difflib
import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from core.errors import ConfigError, NotFound, UserError
from tools.policy import Policy, bundled_policy_text, parse_policy
from tools.policy.history import VersionDiff, VersionSummary, changed_fields, line_counts
from tools.store import Store
from tools.store.models import PolicyVersion, utcnow

log = logging.getLogger(__name__)


class VersionConflict(UserError):
    """The document changed since the version the editor started from (``If-Match``)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the policy is at version {current} now; reload it and apply your change again")
        self.current = current


class VersionView(BaseModel):
    version: int
    author: str
    reason: str
    source: str
    diff: str
    created_at: datetime


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1_000_000)  # a pattern on one line


def _document(policy: Policy) -> dict[str, Any]:
    data = policy.model_dump(mode="json", by_alias=True)  # as written in YAML (a secret rule's ``validate``)
    for key, value in list(data.items()):  # keep money readable in YAML: 200.0, not '200.0'
        if isinstance(getattr(policy, key), type(policy.auto_refund_limit)):
            data[key] = float(value)
    return data


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PolicyStore:
    """Reads and changes the policy in force. Every change is validated first, becomes a new version with
    author, reason and diff, and applies from the next tool call (the guardrails: the next turn) in every process
    sharing the database."""

    def __init__(self, store: Store, *, file: Path | None = None, on_change: Callable[[Policy], None] | None = None,
                 check: Callable[[Policy], None] | None = None, file_check_seconds: float = 0.5) -> None:
        """``check``: a test of a new document beyond its schema (raising :class:`ConfigError`), run before it
        is stored: the agent checks that its guardrails will run."""
        self._store = store
        self._check = check
        self._file = file
        self._on_change = on_change
        self._file_check_seconds = file_check_seconds
        self._cached: Policy | None = None
        self._file_checked_at = 0.0
        self._file_mtime = 0.0
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    def current(self) -> Policy:
        """The policy in force now (a cheap version check against the database on each call)."""
        self._sync_file()
        with self._store.session() as session:
            latest = session.scalar(select(func.max(PolicyVersion.version)))
            if latest is None:
                return self._seed()
            if self._cached is None or self._cached.version != latest:
                row = session.get(PolicyVersion, latest)
                assert row is not None
                self._cached = Policy.model_validate(row.document)
        return self._cached

    def update(self, document: dict[str, Any], *, author: str, reason: str, if_match: int | None,
               source: str = "api", file_hash: str | None = None) -> Policy:
        """Validate ``document`` and make it the next version; a stale ``if_match`` is a :class:`VersionConflict`.

        Raises pydantic's ``ValidationError`` (with the exact fields) for an invalid document, and the ``check``'s
        :class:`ConfigError` for one that passes the schema but would not run.
        """
        with self._lock, self._store.session(write=True) as session:
            latest = session.scalar(select(func.max(PolicyVersion.version))) or 0
            if if_match is not None and if_match != latest:
                raise VersionConflict(latest)
            policy = Policy.model_validate({**document, "version": latest + 1})
            if self._check:
                self._check(policy)
            previous = session.get(PolicyVersion, latest)
            new_document = _document(policy)
            diff = "".join(difflib.unified_diff(
                to_yaml(previous.document).splitlines(keepends=True) if previous else [],
                to_yaml(new_document).splitlines(keepends=True), f"version {latest}", f"version {latest + 1}"))
            if file_hash is None and self._file is not None and source != "seed":
                file_hash = self._write_file(new_document)
            session.add(PolicyVersion(version=policy.version, document=new_document, author=author[:128],
                                      reason=reason, source=source, diff=diff, file_hash=file_hash,
                                      created_at=utcnow()))
        log.info("policy version %s by %s (%s): %s", policy.version, author, source, reason)
        self._cached = policy
        if self._on_change:
            self._on_change(policy)
        return policy

    def rollback(self, version: int, *, author: str, reason: str, if_match: int | None) -> Policy:
        """Bring back the document of ``version`` as a new version."""
        with self._store.session() as session:
            row = session.get(PolicyVersion, version)
            if row is None:
                raise NotFound(f"policy version {version} does not exist")
            document = dict(row.document)
        return self.update(document, author=author, reason=reason or f"rollback to version {version}",
                           if_match=if_match, source="rollback")

    def history(self) -> list[VersionView]:
        """Every version, newest first."""
        with self._store.session() as session:
            rows = session.scalars(select(PolicyVersion).order_by(PolicyVersion.version.desc()))
            return [VersionView.model_validate(r, from_attributes=True) for r in rows]

    def summaries(self) -> list[VersionSummary]:
        """Every version, newest first, with the top-level fields it changed and its diff's line counts."""
        summaries: list[VersionSummary] = []
        previous: dict[str, Any] = {}
        with self._store.session() as session:
            for row in session.scalars(select(PolicyVersion).order_by(PolicyVersion.version)):
                added, removed = line_counts(row.diff)
                summaries.append(VersionSummary(
                    version=row.version, author=row.author, reason=row.reason, source=row.source,
                    created_at=row.created_at, fields=changed_fields(row.document, previous), added=added,
                    removed=removed))
                previous = row.document
        return summaries[::-1]

    def diff(self, version: int) -> VersionDiff:
        """The diff of ``version`` against the version before it."""
        with self._store.session() as session:
            row = session.get(PolicyVersion, version)
            if row is None:
                raise NotFound(f"policy version {version} does not exist")
            return VersionDiff(version=version, diff=row.diff)

    def document(self, version: int | None = None) -> dict[str, Any]:
        """The document of ``version`` (default: the one in force)."""
        if version is None:
            return _document(self.current())
        with self._store.session() as session:
            row = session.get(PolicyVersion, version)
            if row is None:
                raise NotFound(f"policy version {version} does not exist")
            return dict(row.document)

    def _seed(self) -> Policy:
        text = self._file.read_text() if self._file and self._file.is_file() else bundled_policy_text()
        if self._file and not self._file.is_file():
            self._file.parent.mkdir(parents=True, exist_ok=True)
            self._file.write_text(text)
        policy = parse_policy(text, source=str(self._file or "policy.yaml"))
        try:
            return self.update(_document(policy), author="system", reason="initial policy", if_match=0,
                               source="seed", file_hash=_digest(text) if self._file else None)
        except VersionConflict:  # another process seeded it first
            return self.current()

    def _write_file(self, document: dict[str, Any]) -> str:
        assert self._file is not None
        text = "# Policy (store rules, tool permissions, guardrails), kept in step with the admin API; hand edits are "
        text += "picked up and versioned.\n"
        text += to_yaml(document)
        self._file.write_text(text)
        return _digest(text)

    def _sync_file(self) -> None:
        """Pick up a hand edit of the YAML file: a valid one becomes a new version, an invalid one is logged.
        A missing file is written from the version in force."""
        if self._file is None:
            return
        if not self._file.is_file():
            if self._cached is not None:
                self._write_file(_document(self._cached))
            return
        now = utcnow().timestamp()
        if now - self._file_checked_at < self._file_check_seconds:
            return
        self._file_checked_at = now
        mtime = self._file.stat().st_mtime
        if mtime == self._file_mtime:
            return
        self._file_mtime = mtime
        text = self._file.read_text()
        digest = _digest(text)
        with self._store.session() as session:
            known = session.scalar(select(func.count()).where(PolicyVersion.file_hash == digest))
            latest = session.scalar(select(func.max(PolicyVersion.version)))
        if known or digest in self._refused or latest is None:
            return
        try:
            document = _document(parse_policy(text, source=str(self._file)))
            if {**document, "version": latest} == self.document(latest):
                return  # the same policy, only written differently
            self.update(document, author="file", reason=f"hand edit of {self._file.name}", if_match=latest,
                        source="file", file_hash=digest)
        except VersionConflict:  # another process recorded the same edit first
            self._file_mtime = 0.0
        except (ConfigError, ValidationError) as exc:
            self._refused.add(digest)
            log.error("policy file %s refused, the last good version stays in force: %s", self._file, exc)
