"""The fast CI gate: a small representative subset of the eval suites (the scenarios tagged ``ci``) on the
bundled 135M model (the router reads messages: the planner on the default model has its own tests), judged
against ``evals/thresholds-ci.yaml``. About 45 s here; the full suite is in
evals/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.llm.models import model_path
from evals.__main__ import cli
from evals.report import load

BUNDLED = model_path("smollm2-135m")


@pytest.mark.model
@pytest.mark.timeout(240)
def test_the_ci_subset_meets_its_thresholds(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(cli, [
        "run", "evals/suites/core", "evals/suites/escalation.yaml", "--tag", "ci", "--model", str(BUNDLED),
        "--thresholds", "evals/thresholds-ci.yaml", "--report", str(tmp_path), "--no-progress",
    ])
    assert outcome.exit_code == 0, outcome.output
    report = load(tmp_path)
    assert report.meta.cases >= 20 and {r.suite for r in report.results} >= {
        "orders", "pending-orders", "returns", "account", "knowledge", "conversations", "escalation"}
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 3
