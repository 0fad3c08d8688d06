"""Knowledge-base benchmark: ingestion throughput and search latency at scale, on synthetic product articles.

    .venv/bin/python scripts/bench_knowledge.py [--chunks 10000] [--queries 200] [--seed 7]

Writes Markdown articles (one chunk per section) and an embedded Chroma collection into a temporary folder,
never into ``data/``. Ingest time includes embedding; a search includes embedding the question.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

from core.embeddings import get_embedder
from core.settings import Settings
from knowledge import KnowledgeBase, ingest, open_collection
from knowledge.chunking import CHUNK_CHARS
from tools.policy import load_policy

SECTIONS_PER_ARTICLE = 9
"""Plus the introduction: ten chunks per article."""
PRODUCTS = [
    "wireless headphones",
    "espresso machine",
    "memory foam pillow",
    "trail running shoes",
    "desk lamp",
    "bluetooth speaker",
    "stand mixer",
    "wool blanket",
    "rain jacket",
    "electric toothbrush",
    "phone charger",
    "cast iron skillet",
    "storage basket",
    "linen shirt",
    "hair dryer",
    "smart thermostat",
    "yoga mat",
    "air purifier",
    "chef's knife",
    "duvet cover",
    "travel backpack",
    "beard trimmer",
    "coffee grinder",
]
TOPICS = [
    "Setting it up",
    "Cleaning and care",
    "Troubleshooting",
    "Sizing and fit",
    "Charging and battery",
    "What's in the box",
    "Compatibility",
    "Returns and exchanges",
    "Warranty",
    "Storage",
    "Safety",
    "Replacement parts",
    "Shipping and packaging",
    "Using it for the first time",
    "Noise and smells",
]
SENTENCES = [
    "Before you use your {product} for the first time, unpack every part and check it against the list in the box.",
    "If your {product} {problem}, switch it off, wait a minute and try again before contacting us.",
    "Most customers find that {fix} solves the problem within a few minutes.",
    "Keep the original packaging of your {product} until the return window has passed.",
    "We recommend {fix} at least once a month to keep your {product} in good condition.",
    "A {product} that {problem} after normal use may be covered by the manufacturer's warranty.",
    "Replacement parts for the {product} can be ordered from the product page while they are in stock.",
    "Do not leave your {product} in direct sunlight or near a heater for long periods.",
    "If the {product} arrived damaged, take photos of the item and the box and contact support from your order.",
    "Customers often ask whether the {product} works with older models; the product page lists what it supports.",
    "When you send the {product} back, include all accessories and pack it so nothing can move inside the box.",
    "The {product} should not be washed in a machine unless the care label says so.",
]
PROBLEMS = [
    "stops working",
    "makes a rattling noise",
    "won't turn on",
    "gets too hot",
    "smells of plastic",
    "loses its charge quickly",
    "doesn't fit as expected",
    "shows a blinking light",
    "feels loose",
]
FIXES = [
    "a gentle wipe with a damp cloth",
    "a full charge overnight",
    "tightening the screws by hand",
    "resetting it to factory settings",
    "airing it out for a day",
    "descaling it with a mild solution",
]
QUESTIONS = [
    "my {product} {problem}, what do i do",
    "how do i clean my {product}",
    "is the {product} covered by warranty",
    "can i return the {product} if i already used it",
    "what comes in the box with the {product}",
    "{product} arrived broken",
    "where can i get spare parts for my {product}",
    "how do i set up the {product}",
]


def write_articles(folder: Path, chunks: int, rng: random.Random) -> int:
    """Articles adding up to about ``chunks`` chunks, a hundred per subfolder; returns how many were written."""
    count = max(1, chunks // (SECTIONS_PER_ARTICLE + 1))
    for n in range(count):
        product = PRODUCTS[n % len(PRODUCTS)]
        sections = [_paragraph(product, rng)]
        for topic in rng.sample(TOPICS, SECTIONS_PER_ARTICLE):
            sections.append(f"## {topic}\n\n{_paragraph(product, rng)}")
        path = folder / f"shelf-{n // 100:03d}" / f"{product.replace(' ', '-')}-{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {product.capitalize()}, model {n}\n\n" + "\n\n".join(sections) + "\n")
    return count


def _paragraph(product: str, rng: random.Random) -> str:
    """Five to seven template sentences, kept under one chunk so every section is exactly one."""
    picked = rng.sample(SENTENCES, rng.randint(5, 7))
    text = " ".join(s.format(product=product, problem=rng.choice(PROBLEMS), fix=rng.choice(FIXES)) for s in picked)
    return text[: text.rfind(".", 0, CHUNK_CHARS - 20) + 1]


class EmbeddingClock:
    """Seconds the shared embedder has spent embedding, counted by wrapping its ``embed``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        embedder = get_embedder()
        embed = embedder.embed

        def timed(texts: list[str]) -> Any:
            started = time.perf_counter()
            try:
                return embed(texts)
            finally:
                self.seconds += time.perf_counter() - started

        embedder.embed = timed  # type: ignore[method-assign]


def run(chunks: int, queries: int, seed: int) -> list[tuple[str, str]]:
    """The benchmark's rows of (measure, value)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        folder, policy = Path(tmp) / "articles", load_policy()
        articles = write_articles(folder, chunks, rng)
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", chroma_path=None, chroma_url=None)  # type: ignore[call-arg]
        collection, clock = open_collection(settings), EmbeddingClock()
        started = time.perf_counter()
        report = ingest([folder], collection, policy=policy)
        ingest_seconds, embedding_seconds = time.perf_counter() - started, clock.seconds
        stored = collection.count()
        started = time.perf_counter()
        ingest([folder], collection, policy=policy)
        unchanged_seconds = time.perf_counter() - started
        latencies = _search_latencies(KnowledgeBase.from_settings(settings), queries, rng)
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
    return [
        ("articles", f"{articles}"),
        ("chunks in the collection", f"{stored}"),
        ("ingest (embed + store)", f"{ingest_seconds:.1f} s"),
        ("  of which embedding", f"{embedding_seconds:.1f} s"),
        ("ingest throughput", f"{report.chunks_written / ingest_seconds:.1f} chunks/s"),
        ("re-ingest, nothing changed", f"{unchanged_seconds:.2f} s"),
        (f"search p50 ({queries} questions, k=3)", f"{p50 * 1000:.1f} ms"),
        ("search p95", f"{p95 * 1000:.1f} ms"),
    ]


def _search_latencies(kb: KnowledgeBase, count: int, rng: random.Random) -> list[float]:
    kb.search("warm-up question")
    latencies = []
    for _ in range(count):
        question = rng.choice(QUESTIONS).format(product=rng.choice(PRODUCTS), problem=rng.choice(PROBLEMS))
        started = time.perf_counter()
        kb.search(question)
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks to ingest (default 10000)")
    parser.add_argument("--queries", type=int, default=200, help="searches to time (default 200)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic articles and questions")
    args = parser.parse_args()
    rows = run(args.chunks, args.queries, args.seed)
    width = max(len(name) for name, _ in rows)
    sys.stdout.write("".join(f"{name:<{width}}  {value:>14}\n" for name, value in rows))


if __name__ == "__main__":
    main()
