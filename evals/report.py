"""The run's report: ``report.json`` (every number and every run) and a self-contained ``report.html`` (charts
embedded as base64 PNG, every failing run's transcript beside the expectation it missed)."""

from __future__ import annotations

import base64
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pydantic import BaseModel

from evals.metrics import Metrics
from evals.runner import RunResult

HEADLINE = ("task_success_rate", "tool_precision", "tool_recall", "argument_accuracy", "escalation_precision",
            "escalation_recall", "groundedness", "attack_success_rate", "false_refusal_rate", "loop_rate",
            "tau2_success_rate")
LOWER = frozenset({"attack_success_rate", "false_refusal_rate", "loop_rate"})
"""Headline rates where lower is better (orange in the chart)."""


class Meta(BaseModel):
    """How the run was made."""

    started_at: str
    seconds: float
    paths: list[str]
    model: str
    options: dict[str, Any]
    cases: int


class Report(BaseModel):
    meta: Meta
    metrics: Metrics
    results: list[RunResult]


def write(report: Report, folder: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def load(path: Path) -> Report:
    """A ``report.json`` (or the folder holding one)."""
    file = path / "report.json" if path.is_dir() else path
    return Report.model_validate(json.loads(file.read_text(encoding="utf-8")))


def render_html(report: Report) -> str:
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("evals").joinpath("templates/report.html").read_text(encoding="utf-8"))
    failing = [r for r in report.results if not r.passed]
    return template.render(meta=report.meta, metrics=report.metrics, headline=_headline(report.metrics),
                           charts=charts(report), failing=failing, results=report.results)


def _headline(metrics: Metrics) -> list[tuple[str, str]]:
    rows = [(name, getattr(metrics, name)) for name in HEADLINE]
    shown = [(name, "n/a" if value is None else f"{value:.1%}") for name, value in rows]
    shown.insert(HEADLINE.index("loop_rate"), ("loops", str(metrics.loops)))
    shown.append(("replies replaced", ", ".join(f"{rule} {n}" for rule, n in sorted(metrics.replaced.items()))
                  or "none"))
    for label, counts, written in (
            ("model sentences replaced", metrics.replaced_sentences, metrics.worded_sentences),
            ("model sentences written again", metrics.rewritten_sentences, metrics.worded_sentences),
            ("answer sentences stopped", metrics.answer_sentences_stopped, metrics.answer_sentences)):
        if written:
            n = sum(counts.values())
            shown.append((label, f"{n} of {written} ({n / written:.1%})"
                          + "".join(f", {rule} {k}" for rule, k in sorted(counts.items()))))
    shown.append(("help-center answers", ", ".join(f"{how} {n}" for how, n in sorted(metrics.answers.items()))
                  or "none"))
    shown += [(f"pass^{k}", f"{v:.1%}") for k, v in metrics.pass_hat_k.items()]
    shown += [(f"tau2 pass^{k}", f"{v:.1%}") for k, v in metrics.tau2_pass_hat_k.items()]
    for name in ("ttft_p50_s", "ttft_p95_s", "turn_p50_s", "turn_p95_s", "tokens_per_s"):
        value = getattr(metrics, name)
        shown.append((name, "n/a" if value is None else f"{value:.2f}"))
    return shown


def charts(report: Report) -> list[tuple[str, str]]:
    """``(title, base64 PNG)`` of each chart."""
    made = [("Pass rate by suite", _suites(report.metrics)), ("Headline metrics", _rates(report.metrics))]
    turns = [t for r in report.results for t in r.turns if t.turn_s > 0]
    if turns:
        made.append(("Latency per turn", _latency([t.turn_s for t in turns],
                                                  [t.ttft_s for t in turns if t.ttft_s is not None])))
    return made


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _suites(metrics: Metrics) -> str:
    suites = metrics.suites
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(suites) + 1.2))
    axes.barh([s.suite for s in suites], [s.rate for s in suites], color="#3b7dd8")
    for index, suite in enumerate(suites):
        axes.text(min(suite.rate, 0.98), index, f" {suite.passed}/{suite.runs}", va="center", fontsize=8)
    axes.set_xlim(0, 1.15)
    axes.invert_yaxis()
    axes.set_xlabel("share of runs passed")
    return _png(figure)


def _rates(metrics: Metrics) -> str:
    rows = [(name, getattr(metrics, name)) for name in HEADLINE if getattr(metrics, name) is not None]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    axes.barh([n for n, _ in rows], [v for _, v in rows], color=["#d8653b" if n in LOWER else "#3bd87d"
                                                                 for n, _ in rows])
    for index, (_, value) in enumerate(rows):
        axes.text(min(value, 0.9), index, f" {value:.1%}", va="center", fontsize=8)
    axes.set_xlim(0, 1.05)
    axes.invert_yaxis()
    axes.set_xlabel("rate (orange: lower is better)")
    return _png(figure)


def _latency(turns: list[float], first: list[float]) -> str:
    figure, axes = plt.subplots(figsize=(7, 3))
    axes.hist([turns, first], bins=30, label=["whole turn", "first token"], color=["#3b7dd8", "#d8c53b"])
    axes.set_xlabel("seconds")
    axes.set_ylabel("turns")
    axes.legend()
    return _png(figure)


def summary(report: Report) -> str:
    """A few lines for the terminal: headline numbers, suites, and the failing runs."""
    lines = [f"{report.meta.cases} cases, {report.metrics.runs} runs in {report.meta.seconds:.0f} s "
             f"(model {report.meta.model})"]
    lines += [f"  {name:24} {value}" for name, value in _headline(report.metrics)]
    lines += [f"  suite {s.suite:22} {s.passed}/{s.runs}" for s in report.metrics.suites]
    if report.metrics.tags:
        lines.append("  by tag: " + ", ".join(f"{t.tag} {t.passed}/{t.runs}" for t in report.metrics.tags))
    if report.metrics.missed_checks:
        missed = sorted(report.metrics.missed_checks.items())
        lines.append("  runs missing: " + ", ".join(f"{check} {n}" for check, n in missed))
    for result in (r for r in report.results if not r.passed):
        first = result.misses[0] if result.misses else None
        why = f"{first.check}: expected {first.expected}; got {first.got}" if first else ""
        lines.append(f"  FAIL {result.id} [{result.repeat}] {why}"[:220].replace("\n", " "))
    return "\n".join(lines)
