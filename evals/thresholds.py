"""Threshold files: the floor (``min``) or ceiling (``max``) of any metric; ``run`` exits non-zero past one.

```yaml
min: {task_success_rate: 0.9, "pass^2": 0.8}
max: {attack_success_rate: 0.0, turn_p95_s: 5}
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from evals import _yaml
from evals.metrics import Metrics


def metric_value(metrics: Metrics, name: str) -> float | None:
    """A metric by name; ``pass^k`` and ``tau2_pass^k`` read the pass^k tables."""
    if name.startswith(("pass^", "tau2_pass^")):
        table = metrics.tau2_pass_hat_k if name.startswith("tau2") else metrics.pass_hat_k
        return table.get(int(name.split("^")[1]))
    value = getattr(metrics, name)
    return float(value) if value is not None else None


def _known(name: str) -> bool:
    if name.startswith(("pass^", "tau2_pass^")):
        return name.split("^")[1].isdigit()
    field = Metrics.model_fields.get(name)
    tables = ("suites", "tags", "missed_checks", "replaced", "pass_hat_k", "tau2_pass_hat_k")
    return field is not None and name not in tables


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: dict[str, float] = {}
    """Metrics that must be at least this."""
    max: dict[str, float] = {}
    """Metrics that must be at most this."""

    @field_validator("min", "max")
    @classmethod
    def _metric_names(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [name for name in value if not _known(name)]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(_names())}, pass^K, tau2_pass^K")
        return value

    def check(self, metrics: Metrics) -> list[str]:
        """Every broken threshold, as a sentence; a metric with nothing measured breaks its threshold."""
        broken = []
        for name, floor in self.min.items():
            value = metric_value(metrics, name)
            if value is None or value < floor:
                broken.append(f"{name} = {_show(value)} is below the minimum {floor}")
        for name, ceiling in self.max.items():
            value = metric_value(metrics, name)
            if value is None or value > ceiling:
                broken.append(f"{name} = {_show(value)} is above the maximum {ceiling}")
        return broken


def _names() -> list[str]:
    return [n for n in Metrics.model_fields if _known(n)]


def _show(value: float | None) -> str:
    return "n/a (nothing measured)" if value is None else f"{value:.4g}"


def load_thresholds(path: Path) -> Thresholds:
    data = _yaml.load(path)
    try:
        return Thresholds.model_validate(data or {})
    except ValidationError as exc:
        raise _yaml.explain(path, data, exc) from None
