"""Knowledge base: chunking, policy placeholders in the help center, incremental ingest into Chroma, the CLI."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from chromadb.api.models.Collection import Collection
from typer.testing import CliRunner

from core.errors import ConfigError, RuntimeFailure
from core.settings import Settings
from knowledge import ingest, open_collection
from knowledge.__main__ import app
from knowledge.chunking import CHUNK_CHARS, OVERLAP_CHARS, chunk_document
from knowledge.ingest import HELP_CENTER
from knowledge.placeholders import PLACEHOLDER, render_policy
from tools.policy import IdentityPolicy, Policy, load_policy

POLICY = load_policy()
ARTICLES = sorted(HELP_CENTER.glob("*.md"))
# A policy whose every number differs from the others, so each rendered number names exactly one field.
ODD_POLICY = POLICY.model_copy(update={
    "return_window_days": 41, "exchange_window_days": 43, "exception_grace_days": 29, "refund_processing_days": 7,
    "standard_shipping_days": 6, "express_shipping_days": 3, "password_reset_link_minutes": 17,
    "password_resets_per_hour": 9,
    "identity": IdentityPolicy(verify_with=["email_zip"], attempts=11, lock_minutes=13, max_lock_minutes=95),
    "auto_refund_limit": Decimal("250.5"), "express_shipping_fee": Decimal("13.25"),
    "free_shipping_threshold": Decimal("1234"), "restocking_fee": Decimal("4.75"),
    "cancellation_reasons": ["changed my mind", "found it cheaper"], "final_sale_categories": ["socks", "candles"],
    "support_hours": "every day, 9:00 to 17:00 UTC",
})  # fmt: skip


def make_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, chroma_path=None, chroma_url=None, _env_file=None)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- chunking -------------------------------------------------------------------------------------------


def test_markdown_is_split_by_headings_with_title_and_section_path() -> None:
    text = "# Returns\n\nIntro.\n\n## Window\n\nThirty.\n\n### Fine print\n\nSmall.\n\n## How\n\n```\n# no\n```\n"
    chunks = chunk_document(text, kind="markdown", source="hc/returns.md", updated="2025-01-01T00:00:00+00:00")
    assert [(c.title, c.section, c.text) for c in chunks] == [
        ("Returns", "Overview", "Intro."),
        ("Returns", "Window", "Thirty."),
        ("Returns", "Window > Fine print", "Small."),
        ("Returns", "How", "```\n# no\n```"),
    ]
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert {c.source for c in chunks} == {"hc/returns.md"}
    assert len({c.content_hash for c in chunks}) == 1


def test_long_section_is_cut_into_overlapping_pieces() -> None:
    paragraphs = [f"Paragraph {n} " + " ".join(f"w{n}x{i}" for i in range(60)) + "." for n in range(8)]
    chunks = chunk_document("# T\n\n## S\n\n" + "\n\n".join(paragraphs), kind="markdown", source="t.md", updated="")
    assert len(chunks) > 2
    assert all(len(c.text) <= CHUNK_CHARS for c in chunks)
    assert all(c.section == "S" for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert after.text[:40] in before.text[-OVERLAP_CHARS:]
    words = {w for p in paragraphs for w in p.split()}
    assert words <= {w for c in chunks for w in c.text.split()}


def test_plain_text_is_packed_by_paragraph_and_titled_from_its_name() -> None:
    paragraphs = [f"Paragraph {n}: " + "lorem ipsum " * 25 + "end." for n in range(6)]
    chunks = chunk_document("\n\n".join(paragraphs), kind="text", source="notes/store-hours.txt", updated="")
    assert {(c.title, c.section) for c in chunks} == {("Store hours", "Overview")}
    assert 1 < len(chunks) < len(paragraphs)
    assert all(len(c.text) <= CHUNK_CHARS for c in chunks)
    assert all(any(p in c.text for c in chunks) for p in paragraphs)


def test_html_keeps_its_headings_and_drops_scripts() -> None:
    html = (
        "<html><head><title>Shipping</title><script>var x = 1;</script></head><body>"
        "<h2>Express &amp; standard</h2><p>Fast<br>or slow.</p><ul><li>one</li><li>two</li></ul></body></html>"
    )
    [chunk] = chunk_document(html, kind="html", source="shipping.html", updated="")
    assert (chunk.title, chunk.section) == ("Shipping", "Express & standard")
    assert chunk.text == "Fast\nor slow.\n\n- one\n- two"


def test_chunk_ids_are_stable_and_follow_the_content() -> None:
    def ids(text: str, source: str = "a.md") -> list[str]:
        return [c.id for c in chunk_document(text, kind="markdown", source=source, updated="")]

    assert ids("# A\n\nx\n\n## B\n\ny") == ids("# A\n\nx\n\n## B\n\ny")
    assert set(ids("# A\n\nx")).isdisjoint(ids("# A\n\nz"))
    assert set(ids("# A\n\nx")).isdisjoint(ids("# A\n\nx", source="b.md"))


# --- the bundled help center and its policy numbers ---------------------------------------------------------


def test_help_center_has_titled_articles_with_sections() -> None:
    assert 28 <= len(ARTICLES) <= 34
    for article in ARTICLES:
        text = article.read_text()
        assert text.startswith("# ") and text.count("\n# ") == 0, article.name
        assert "\n## " in text, article.name


def test_articles_state_no_number_of_their_own() -> None:
    """Every number comes from a policy placeholder (numbered-list markers aside)."""
    for article in ARTICLES:
        text = re.sub(r"^\s*\d+\. ", "", PLACEHOLDER.sub("", article.read_text()), flags=re.MULTILINE)
        assert not re.findall(r".{0,30}\d.{0,30}", text), article.name


def test_articles_use_every_policy_field() -> None:
    """Every rule customers are held to is in the help center (per-tool permissions and guardrails are for staff)."""
    used = {name.split(".")[0] for article in ARTICLES for name in PLACEHOLDER.findall(article.read_text())}
    assert used - {"public_url"} == set(Policy.model_fields) - {"version", "tools", "guardrails"}


@pytest.mark.parametrize("policy", [POLICY, ODD_POLICY], ids=["bundled", "odd"])
def test_rendered_articles_leave_no_placeholder(policy: Policy) -> None:
    for article in ARTICLES:
        rendered = render_policy(article.read_text(), policy)
        assert not re.search(r"[{}]", rendered), article.name


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


# (pattern, [(keyword, policy field the number must equal)]): the first keyword found in the clause decides, else
# the first found in its headings, else the rule with an empty keyword.
NUMBER_RULES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        r"(\d+) business days",
        [("refund", "refund_processing_days"), ("express", "express_shipping_days"), ("", "standard_shipping_days")],
    ),
    (
        r"(\d+)[ -]days?\b",
        [
            ("late", "exception_grace_days"),
            ("return", "return_window_days"),
            ("exchange", "exchange_window_days"),
            ("", "return_window_days"),
        ],
    ),
    (r"(\d+) minutes", [("pause", "identity.lock_minutes"), ("up to", "identity.max_lock_minutes"),
                        ("", "password_reset_link_minutes")]),
    (r"(\d+) failed checks", [("", "identity.attempts")]),
    (r"(\d+) reset links", [("", "password_resets_per_hour")]),
    (
        r"(\$[\d,]+\.\d\d)",
        [
            ("restocking", "restocking_fee"),
            ("free", "free_shipping_threshold"),
            ("express", "express_shipping_fee"),
            ("refund", "auto_refund_limit"),
        ],
    ),
]


def _clauses(policy: Policy) -> list[tuple[str, str, str]]:
    """(article, heading path, clause) for every clause of every rendered article."""
    found = []
    for article in ARTICLES:
        text = render_policy(article.read_text(), policy)
        for chunk in chunk_document(text, kind="markdown", source=article.name, updated=""):
            for clause in re.split(r"(?<=[.;!?])\s+|,\s+|\n| and ", chunk.text):
                found.append((article.name, f"{chunk.title} > {chunk.section}", clause))
    return found


def _field(rules: list[tuple[str, str]], clause: str, headings: str) -> str | None:
    for context in (clause.lower(), headings.lower()):
        field = next((f for keyword, f in rules if keyword and keyword in context), None)
        if field:
            return field
    return next((f for keyword, f in rules if not keyword), None)


def _expected(policy: Policy, field: str) -> str:
    value: object = policy
    for part in field.split("."):
        value = getattr(value, part)
    return _money(value) if isinstance(value, Decimal) else str(value)


def _check_numbers(policy: Policy) -> set[str]:
    checked = set()
    for article, headings, clause in _clauses(policy):
        for pattern, rules in NUMBER_RULES:
            for number in re.findall(pattern, clause):
                field = _field(rules, clause, headings)
                assert field, f"{article}: no rule says which policy number {clause!r} quotes"
                assert number == _expected(policy, field), f"{article}: {clause!r} should say {field}"
                checked.add(field)
    return checked


@pytest.mark.parametrize("policy", [POLICY, ODD_POLICY], ids=["bundled", "odd"])
def test_every_number_in_the_articles_is_the_policy_number(policy: Policy) -> None:
    number_fields = {name for name, f in Policy.model_fields.items() if f.annotation in (int, Decimal)}
    number_fields |= {f"identity.{name}" for name in IdentityPolicy.model_fields if name != "verify_with"}
    assert _check_numbers(policy) == number_fields - {"version"}


def test_key_sentences_quote_the_policy() -> None:
    rendered = {a.stem: render_policy(a.read_text(), ODD_POLICY, public_url="https://odd.example") for a in ARTICLES}
    assert "You have 41 days from the delivery date to return an item." in rendered["returns-policy"]
    assert "within 43 days of the delivery date" in rendered["exchanges"]
    assert "about 6 business days" in rendered["shipping-options"]
    assert "$13.25 per order" in rendered["shipping-options"]
    assert "free on orders of $1,234.00 or more" in rendered["shipping-costs"]
    assert "Refunds above $250.50 are reviewed" in rendered["refunds"]
    assert "valid for 17 minutes" in rendered["reset-password"]
    assert "up to 9 reset links per hour" in rendered["reset-password"]
    assert "a return that is up to 29 days late" in rendered["returns-policy"]
    assert "type our address (https://odd.example)" in rendered["account-security"]
    assert "- changed my mind\n- found it cheaper" in rendered["cancel-an-order"]
    assert "final sale: socks and candles." in rendered["final-sale-items"]
    assert "open every day, 9:00 to 17:00 UTC." in rendered["contact-support"]


# --- incremental ingest -----------------------------------------------------------------------------------


def _hashes(collection: Collection, source_suffix: str) -> set[str]:
    """Content hashes of the stored chunks of the documents whose source ends with ``source_suffix``."""
    rows = collection.get(include=["metadatas"])["metadatas"] or []
    return {str(m["content_hash"]) for m in rows if str(m["source"]).endswith(source_suffix)}


def test_ingest_adds_skips_replaces_and_deletes(tmp_path: Path) -> None:
    collection = open_collection(make_settings(tmp_path / "data"))
    docs = tmp_path / "docs"
    a = write(docs / "a.md", "# Alpha\n\n## One\n\nFirst version of alpha.")
    b = write(docs / "sub" / "b.md", "# Beta\n\nBeta text.")
    write(docs / "c.txt", "Gamma paragraph.\n\nAnother one.")
    write(docs / ".hidden.md", "# Hidden\n\nnot ingested")
    write(docs / "notes.pdf", "not a supported type")

    first = ingest([docs, docs / "a.md", docs], collection, policy=POLICY)
    assert (sorted(first.added), first.errors) == (["docs/a.md", "docs/c.txt", "docs/sub/b.md"], {})
    count = collection.count()

    again = ingest([docs], collection, policy=POLICY)
    assert (sorted(again.skipped), again.added, again.updated, again.chunks_written) == (
        ["docs/a.md", "docs/c.txt", "docs/sub/b.md"],
        [],
        [],
        0,
    )
    assert collection.count() == count

    old_hash = _hashes(collection, "a.md")
    a.write_text("# Alpha\n\n## One\n\nSecond version of alpha.\n\n## Two\n\nMore.")
    b.unlink()
    changed = ingest([docs], collection, policy=POLICY)
    assert (changed.updated, changed.deleted, changed.skipped) == (["docs/a.md"], ["docs/sub/b.md"], ["docs/c.txt"])
    new_hash = _hashes(collection, "a.md")
    assert len(new_hash) == 1 and new_hash.isdisjoint(old_hash)
    assert _hashes(collection, "b.md") == set()
    texts = collection.get(include=["documents"])["documents"]
    assert "Second version of alpha." in texts and "First version of alpha." not in texts


def test_removal_only_applies_under_the_folders_being_ingested(tmp_path: Path) -> None:
    collection = open_collection(make_settings(tmp_path / "data"))
    write(tmp_path / "one" / "a.md", "# A\n\nAlpha.")
    lone = write(tmp_path / "lone.md", "# Lone\n\nA file on its own.")
    ingest([tmp_path / "one", lone], collection, policy=POLICY)
    write(tmp_path / "two" / "b.md", "# B\n\nBeta.")

    report = ingest([tmp_path / "two"], collection, policy=POLICY)
    assert (report.added, report.deleted) == (["two/b.md"], [])
    assert _hashes(collection, "one/a.md") and _hashes(collection, "lone.md")


def test_ingest_renders_policy_placeholders(tmp_path: Path) -> None:
    collection = open_collection(make_settings(tmp_path / "data"))
    write(tmp_path / "docs" / "r.md", "# R\n\nReturn within {return_window_days} days; keep {unknown} as is.")
    ingest([tmp_path / "docs"], collection, policy=ODD_POLICY)
    assert collection.get(include=["documents"])["documents"] == ["Return within 41 days; keep {unknown} as is."]


@pytest.mark.parametrize("url", ["ftp://chroma:8000", "http://chroma:8000/prefix", "chroma:8000"])
def test_a_malformed_chroma_url_is_a_config_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="SUPPORT_CHROMA_URL"):
        open_collection(make_settings(tmp_path).model_copy(update={"chroma_url": url}))


def test_an_unreachable_chroma_server_is_a_runtime_failure(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure, match="could not open its collection"):
        open_collection(make_settings(tmp_path).model_copy(update={"chroma_url": "http://127.0.0.1:9"}))


def test_cli_ingests_and_searches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPORT_CHROMA_URL", raising=False)
    monkeypatch.delenv("SUPPORT_CHROMA_PATH", raising=False)
    write(tmp_path / "docs" / "hours.md", "# Store hours\n\n## Opening hours\n\nWe are open on weekdays.")
    runner = CliRunner()

    ingested = runner.invoke(app, ["ingest", str(tmp_path / "docs")])
    assert (ingested.exit_code, ingested.output.splitlines()[0]) == (
        0,
        "added 1, updated 0, skipped 0, deleted 0, errors 0 (1 chunks written)",
    )
    found = runner.invoke(app, ["search", "when are you open?", "-k", "1"])
    assert found.exit_code == 0
    assert "Store hours > Opening hours  [docs/hours.md]" in found.output
    assert runner.invoke(app, ["ingest", str(tmp_path / "nowhere")]).exit_code == 1
