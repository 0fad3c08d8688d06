"""The insights charts, drawn on the server as SVG with matplotlib (the pages allow no script but their own, so
no charting library runs in the browser)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal

from matplotlib.figure import Figure

from tools.insights import Insights

Chart = Literal["outcomes", "satisfaction", "requests", "handoffs"]
COLOURS = {"handed_off": "#c77c02", "resolved": "#2e7d32", "unresolved": "#b3261e", "abandoned": "#7a7a7a",
           "open": "#1f5fbf"}


def _bars(title: str, counts: dict[str, int], colours: list[str] | str = "#1f5fbf") -> Figure:
    figure = Figure(figsize=(5.2, 2.6), dpi=100, layout="constrained")
    axes = figure.subplots()
    labels = list(counts) or ["none"]
    values = list(counts.values()) or [0]
    bars = axes.barh(labels[::-1], values[::-1], color=colours[::-1] if isinstance(colours, list) else colours)
    axes.bar_label(bars, padding=3)
    axes.set_title(title, loc="left", fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(0, max([*values, 1]) * 1.15)
    return figure


def _outcomes(data: Insights) -> Figure:
    counts = {name.replace("_", " "): n for name, n in data.outcomes.outcomes.items()}
    return _bars("Conversations by outcome", counts, [COLOURS[name] for name in data.outcomes.outcomes])


def _satisfaction(data: Insights) -> Figure:
    counts = {f"{'★' * stars}": n for stars, n in sorted(data.outcomes.ratings.items(), reverse=True)}
    return _bars("Ratings (1 to 5 stars)", counts, "#f2a900")


def _requests(data: Insights) -> Figure:
    return _bars("Top requests", {name.replace("_", " "): n for name, n in data.top_requests.items()})


def _handoffs(data: Insights) -> Figure:
    return _bars("Handoffs by trigger", data.outcomes.handoff_triggers, "#c77c02")


DRAW: dict[Chart, Callable[[Insights], Figure]] = {
    "outcomes": _outcomes, "satisfaction": _satisfaction, "requests": _requests, "handoffs": _handoffs}


def chart_svg(chart: Chart, data: Insights) -> bytes:
    """One chart of ``data`` as an SVG document."""
    buffer = io.BytesIO()
    DRAW[chart](data).savefig(buffer, format="svg")
    return buffer.getvalue()
