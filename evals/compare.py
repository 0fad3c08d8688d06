"""``python -m evals compare OLD NEW``: what improved and what regressed between two reports."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from evals.metrics import LOWER_IS_BETTER
from evals.report import Report
from evals.thresholds import metric_value

EPSILON = 1e-9
NOISY = frozenset({"ttft_p50_s", "ttft_p95_s", "turn_p50_s", "turn_p95_s", "tokens_per_s"})
NOISE = 0.1
"""Timings move this much (relative) from run to run on the same code: smaller changes count as the same."""


class MetricChange(BaseModel):
    name: str
    old: float | None
    new: float | None
    verdict: str
    """``improved``, ``regressed``, ``same``, ``new`` or ``gone``."""


class Comparison(BaseModel):
    metrics: list[MetricChange]
    fixed: list[str]
    """Scenarios that pass more often now."""
    broken: list[str]
    """Scenarios that pass less often now."""
    added: list[str]
    removed: list[str]

    @property
    def regressed(self) -> bool:
        return bool(self.broken) or any(m.verdict == "regressed" for m in self.metrics)


def _metric_names(report: Report) -> list[str]:
    names = [n for n, f in type(report.metrics).model_fields.items()
             if f.annotation in (float | None, float) and n != "runs"]
    names += [f"pass^{k}" for k in report.metrics.pass_hat_k]
    return names + [f"tau2_pass^{k}" for k in report.metrics.tau2_pass_hat_k]


def _verdict(name: str, old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return "same" if old is new else ("new" if old is None else "gone")
    noise = NOISE * abs(old) if name in NOISY else EPSILON
    if abs(new - old) <= noise:
        return "same"
    better = new < old if name in LOWER_IS_BETTER else new > old
    return "improved" if better else "regressed"


def _pass_rates(report: Report) -> dict[str, float]:
    runs: dict[str, list[bool]] = defaultdict(list)
    for result in report.results:
        runs[result.id].append(result.passed)
    return {key: sum(v) / len(v) for key, v in runs.items()}


def compare(old: Report, new: Report) -> Comparison:
    names = list(dict.fromkeys([*_metric_names(old), *_metric_names(new)]))
    changes = []
    for name in names:
        before, after = metric_value(old.metrics, name), metric_value(new.metrics, name)
        changes.append(MetricChange(name=name, old=before, new=after, verdict=_verdict(name, before, after)))
    was, now = _pass_rates(old), _pass_rates(new)
    common = sorted(was.keys() & now.keys())
    return Comparison(metrics=changes,
                      fixed=[k for k in common if now[k] > was[k] + EPSILON],
                      broken=[k for k in common if now[k] < was[k] - EPSILON],
                      added=sorted(now.keys() - was.keys()), removed=sorted(was.keys() - now.keys()))


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render(comparison: Comparison) -> str:
    """The comparison as text: changed metrics first, then scenarios."""
    lines = []
    for verdict in ("regressed", "improved"):
        changed = [m for m in comparison.metrics if m.verdict == verdict]
        lines.append(f"{verdict} metrics ({len(changed)}):")
        lines += [f"  {m.name:24} {_show(m.old):>10} -> {_show(m.new):<10}" for m in changed]
    same = [m.name for m in comparison.metrics if m.verdict == "same"]
    lines.append(f"unchanged metrics ({len(same)}): {', '.join(same)}")
    lines.append(f"scenarios now failing ({len(comparison.broken)}):")
    lines += [f"  - {key}" for key in comparison.broken]
    lines.append(f"scenarios now passing ({len(comparison.fixed)}):")
    lines += [f"  + {key}" for key in comparison.fixed]
    if comparison.added or comparison.removed:
        lines.append(f"new scenarios {len(comparison.added)}, removed scenarios {len(comparison.removed)}")
    return "\n".join(lines)
