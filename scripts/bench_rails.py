"""Output-rails benchmark: the time the rails add to each sentence of a reply, semantic evidence check included.

    .venv/bin/python scripts/bench_rails.py [--rounds 3] [--json]

For each labelled customer question (evals/data/kb_questions.yaml) the evidence is its help-center article
(policy numbers filled in), as the retrieve node would hand it over; the sentences checked are what a model
writes: the article's own sentences, paraphrase-like mixes of two of them, the question's words, and the
off-policy texts of the red-team set; and each question through the input rails (rules and the classifier).
Each check is one ``check_sentence`` call (every rule, the embedding of
the sentence and the evidence comparison); the evidence's own embedding, done once per reply, is not counted,
and remembered embeddings are forgotten before each round, so every check embeds its sentence.
A sentence quoted word for word from the evidence needs no embedding, so the report also gives the sentences
that do. The machine's other load shows in the numbers: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from any folder

import yaml

from agent.guardrails import Grounding, check_sentence, inspect_input
from agent.guardrails.evidence import Evidence, split_sentences
from core.embeddings import get_embedder
from knowledge.placeholders import render_policy
from tools.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 15.0


def _cases() -> list[tuple[Grounding, list[str]]]:
    """(grounding of one reply, the sentences of that reply) for every labelled question."""
    policy = load_policy()
    questions = yaml.safe_load((ROOT / "evals/data/kb_questions.yaml").read_text())
    bad = [c["bad"] for c in yaml.safe_load((ROOT / "evals/data/redteam.yaml").read_text())["categories"].values()]
    bad_sentences = [s for text in bad for s in split_sentences(text)]
    cases = []
    for i, q in enumerate(questions):
        article = render_policy((ROOT / "knowledge/help_center" / f"{q['article']}.md").read_text(), policy)
        evidence = Evidence([article])
        own = [s for s in evidence.sentences if s[-1:] in ".!?"][:4]
        mixed = [f"{a.rstrip('.')} and {b[0].lower()}{b[1:]}" for a, b in itertools.pairwise(own)][:2]
        sentences = [*own, *mixed, q["question"], bad_sentences[i % len(bad_sentences)]]
        cases.append((Grounding(facts=f"{article}\n{q['question']}", evidence=evidence), sentences))
    return cases


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="Times every sentence is checked.")
    parser.add_argument("--json", action="store_true", help="Print the numbers as JSON.")
    args = parser.parse_args()
    cases = _cases()
    for grounding, sentences in cases[:3]:  # warm-up: first embedding call, regex caches
        for sentence in sentences:
            check_sentence(sentence, grounding)
    timings: dict[str, list[float]] = {"model": [], "paraphrase": [], "trusted": [], "input": []}
    for _ in range(args.rounds):
        get_embedder().forget()  # every round embeds its sentences anew, as a model's new sentences are
        for grounding, sentences in cases:
            quoted = set(grounding.evidence.sentences if grounding.evidence else [])
            started = time.perf_counter()
            inspect_input(sentences[-2])  # the customer's question: input rules and the classifier
            timings["input"].append((time.perf_counter() - started) * 1000)
            for sentence in sentences:
                for kind, ground in (("model", grounding), ("trusted", Grounding(trusted=True))):
                    started = time.perf_counter()
                    check_sentence(sentence, ground)
                    elapsed = (time.perf_counter() - started) * 1000
                    timings[kind].append(elapsed)
                    if kind == "model" and sentence not in quoted:
                        timings["paraphrase"].append(elapsed)
    result = {"sentences": len(timings["model"]), "target_p95_ms": TARGET_P95_MS} | {
        kind: {"p50": round(statistics.median(t), 2), "p95": round(_percentile(t, 0.95), 2), "max": round(max(t), 2)}
        for kind, t in timings.items()
    }
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    sys.stdout.write(f"{result['sentences']} sentences, target p95 <= {TARGET_P95_MS} ms\n")
    for kind, label in (("model", "model-written, all rules + evidence"),
                        ("paraphrase", "  of which not quoted word for word (embedded)"),
                        ("trusted", "code-written (trusted)"),
                        ("input", "customer message: input rules + classifier")):
        t = result[kind]
        sys.stdout.write(f"{label:48} p50 {t['p50']:6} ms  p95 {t['p95']:6} ms  max {t['max']:6} ms\n")


if __name__ == "__main__":
    main()
