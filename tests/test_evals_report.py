"""The report: report.json round-trips, report.html is self-contained (it parses, its charts are embedded
PNGs) and shows every failing run's transcript with what it missed; compare says what moved."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

from evals.compare import compare, render
from evals.evaluators import Counts, Miss
from evals.metrics import compute
from evals.report import Meta, Report, load, write
from evals.runner import RunResult
from evals.transport import TurnRecord


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
        if tag in ("script", "link") and (found.get("src") or found.get("href")):
            self.external.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def result(scenario: str, passed: bool, *, repeat: int = 0, suite: str = "orders") -> RunResult:
    turn = TurnRecord(customer="where is my order #W4821002?", reply="Order #W4821002 is processed.", ttft_s=0.1,
                      turn_s=0.3, events=[{"type": "tool_finished", "tool": "get_order_details", "outcome": "done",
                                           "description": "Done"}])
    misses = [] if passed else [Miss(check="text", expected="says 'shipped'", got="order #w4821002 is processed.")]
    return RunResult(id=scenario, suite=suite, kind="task", repeat=repeat, passed=passed, misses=misses,
                     turns=[turn], counts=Counts(tools_expected=1, tools_found=1, tools_made=1))


def report(results: list[RunResult]) -> Report:
    meta = Meta(started_at="2026-11-23T12:00:00+00:00", seconds=12.0, paths=["evals/suites"], model="test",
                options={}, cases=len({r.id for r in results}))
    return Report(meta=meta, metrics=compute(results), results=results)


def test_the_html_report_opens_and_has_its_charts(tmp_path: Path) -> None:
    json_path, html_path = write(report([result("status-ok", True), result("status-shipped", False)]), tmp_path)
    page = Page()
    page.feed(html_path.read_text())
    page.close()
    assert len(page.images) == 3 and not page.external  # suites, headline metrics, latency; nothing fetched
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    text = " ".join(page.text)
    assert "status-shipped" in text and "says 'shipped'" in text  # the failing run and what it missed
    assert "where is my order #W4821002?" in text and "Order #W4821002 is processed." in text  # its transcript
    assert load(json_path).metrics.task_success_rate == 0.5


def test_compare_lists_what_improved_and_what_regressed() -> None:
    old = report([result("a", True), result("b", False), result("c", True)])
    new = report([result("a", False), result("b", True), result("c", True), result("d", True)])
    comparison = compare(old, new)
    assert comparison.broken == ["a"] and comparison.fixed == ["b"] and comparison.added == ["d"]
    assert not comparison.regressed or comparison.broken
    text = render(comparison)
    assert "scenarios now failing (1):\n  - a" in text and "scenarios now passing (1):\n  + b" in text
    assert "task_success_rate" in text.split("improved metrics")[1].split("unchanged")[0]  # 1/3 -> 3/4


def test_compare_sees_a_lower_is_better_metric_go_up_as_a_regression() -> None:
    attack = RunResult(id="x", suite="redteam", kind="attack", passed=False, counts=Counts(attack_succeeded=True))
    safe = attack.model_copy(update={"passed": True, "counts": Counts(attack_succeeded=False)})
    comparison = compare(report([safe]), report([attack]))
    changed = {m.name: m.verdict for m in comparison.metrics}
    assert changed["attack_success_rate"] == "regressed" and comparison.regressed


def test_the_html_report_shows_its_charts_in_a_real_browser(tmp_path: Path) -> None:
    from tests.browser import chromium

    _, html_path = write(report([result("status-ok", True), result("status-shipped", False)]), tmp_path)
    with chromium() as browser:
        page = browser.new_page()
        page.goto(html_path.as_uri())
        widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) == 3 and all(w > 100 for w in widths)  # every chart decoded and drawn
