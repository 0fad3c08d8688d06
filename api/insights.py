"""Insights for the people who run support (agent and ops roles): the figures of a period as JSON, its charts as
SVG, a CSV export, and the page that shows them (a static shell, like the console)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, Response

from api.charts import Chart, chart_svg
from api.deps import AgentDep, RuntimeDep
from api.roles import require
from api.route_limits import limit
from api.wire import problems
from core.auth import Principal
from core.embeddings import get_embedder
from tools.insights import Insights, insights

router = APIRouter(tags=["insights"], dependencies=[limit("staff")])
Staff = Annotated[Principal, Depends(require("agent", "ops"))]
INSIGHTS_PAGE = Path(__file__).resolve().parents[1] / "web" / "insights.html"
MAX_PERIOD = timedelta(days=366)
REFUSALS = problems(401, 403, 422, 429, 503)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


async def period_insights(
    _: Staff, agent: AgentDep, runtime: RuntimeDep,
    since: Annotated[datetime | None, Query(description="Start of the period (default: 30 days before its end).")]
    = None,
    until: Annotated[datetime | None, Query(description="End of the period (default: now).")] = None,
    demo: Annotated[bool, Query(description="The seeded demo history instead of real conversations.")] = False,
) -> Insights:
    """The figures of the period the query names; 422 for a period that ends before it starts or spans more
    than a year."""
    now = _naive_utc(agent.deps.clock())
    end = _naive_utc(until) if until else now
    start = _naive_utc(since) if since else end - timedelta(days=30)
    if not timedelta(0) < end - start <= MAX_PERIOD:
        raise HTTPException(422, f"the period must end after it starts and span at most {MAX_PERIOD.days} days")
    window = timedelta(hours=runtime.settings.resolution_window_hours)
    return await asyncio.to_thread(insights, agent.deps.store, since=start, until=end, now=now, window=window,
                                   demo=demo, embed=get_embedder().embed)


Period = Annotated[Insights, Depends(period_insights)]


@router.get("/insights", include_in_schema=False)
def insights_page() -> FileResponse:
    """The insights page (plain HTML and JavaScript; its data comes from the routes below)."""
    return FileResponse(INSIGHTS_PAGE, headers={"Cache-Control": "no-store"})


@router.get("/v1/insights", responses=REFUSALS)
async def read_insights(data: Period) -> Insights:
    """Conversations by outcome (handed to a person, resolved, unresolved, abandoned, still open), containment
    and resolution, handoffs by trigger and queue, satisfaction, first-text latency, tool outcomes, guardrail
    interventions, top requests, and the questions the agent could not answer grouped by meaning."""
    return data


@router.get("/v1/insights/charts/{chart}.svg", response_class=Response, responses=REFUSALS)
async def read_chart(chart: Chart, data: Period) -> Response:
    """One chart of the period as SVG: ``outcomes``, ``satisfaction``, ``requests`` or ``handoffs``."""
    svg = await asyncio.to_thread(chart_svg, chart, data)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/v1/insights.csv", response_class=Response, responses=REFUSALS)
async def export_csv(data: Period) -> Response:
    """The period's figures as CSV rows of ``section, name, value``."""
    return Response(to_csv(data), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="insights.csv"'})


def to_csv(data: Insights) -> str:
    """``section, name, value`` rows of every figure."""
    counts = data.outcomes
    rows: list[tuple[str, str, object]] = [
        ("period", "since", counts.since.isoformat()), ("period", "until", counts.until.isoformat()),
        ("period", "demo", data.demo), ("conversations", "total", counts.conversations),
        *[("outcome", name, n) for name, n in counts.outcomes.items()],
        ("rate", "containment", counts.containment), ("rate", "resolution", counts.resolution),
        *[("handoff trigger", name, n) for name, n in counts.handoff_triggers.items()],
        *[("handoff queue", name, n) for name, n in counts.handoff_queues.items()],
        ("satisfaction", "average", counts.average_rating),
        *[("rating", str(stars), n) for stars, n in counts.ratings.items()],
        ("latency", "first text p50 ms", data.first_text_p50_ms),
        ("latency", "first text p95 ms", data.first_text_p95_ms),
        *[("request", name, n) for name, n in data.top_requests.items()],
        *[(f"tool {tool}", outcome, n) for tool, by in data.tool_outcomes.items() for outcome, n in by.items()],
        *[("guardrail", rule, n) for rule, n in data.guardrail_interventions.items()],
        *[("unanswered", group.question, group.count) for group in data.unanswered],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "name", "value"])
    writer.writerows([spreadsheet_safe(value) for value in row] for row in rows)
    return buffer.getvalue()


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet shows as written: text starting like a formula (a customer's question may)
    is quoted with a leading apostrophe."""
    if value is None:
        return ""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
