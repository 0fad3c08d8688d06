"""Ops administration of the agent's tools, policy and guardrails: read, change (validated, versioned,
optimistic concurrency with ``If-Match``), history (diffs on request), and rollback. Changes apply from the next tool
call or turn in every server process."""

from __future__ import annotations

import asyncio
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import AgentDep
from api.roles import require
from api.route_limits import limit
from core.auth import Principal
from core.errors import ConfigError, NotFound
from core.guardrails_config import GuardrailsConfig, Mode
from tools import TOOLS
from tools.policy import ToolPolicy
from tools.policy.history import VersionDiff, VersionSummary
from tools.policy.versions import PolicyStore, VersionConflict

router = APIRouter(tags=["admin"], dependencies=[limit("staff")])
ADMIN_PAGE = Path(__file__).resolve().parents[1] / "web" / "admin.html"
Ops = Annotated[Principal, Depends(require("ops"))]
IfMatch = Annotated[str | None, Header(description="The policy version the change was made against.")]


class AdminTool(BaseModel):
    """A tool as ops see it: what it does, its arguments, and what the policy allows it."""

    name: str
    description: str
    writes: bool
    needs_identity: bool
    argument_schema: dict[str, Any]
    policy: ToolPolicy
    limits: dict[str, Any]
    """The policy values that bound this tool."""


class ToolChange(BaseModel):
    """A change to one tool; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    requires_approval: bool | None = None
    max_per_customer_per_day: int | None = Field(None, ge=1)
    customer_tiers: list[str] | None = None
    limits: dict[str, Any] = {}
    """New values for the tool's policy limits (see ``limits`` in the tool listing)."""
    reason: str = Field(min_length=3, max_length=500, description="Why: kept in the history.")


class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]
    reason: str = Field(min_length=3, max_length=500)


class GuardrailsChange(BaseModel):
    """A change to the guardrails; what is left out stays as it is. Values are checked in the whole document."""

    model_config = ConfigDict(extra="forbid")

    input: dict[str, Mode] = Field({}, description="`block` or `monitor` by input rule name.")
    output: dict[str, Mode] = Field({}, description="`block` or `monitor` by output rule name.")
    thresholds: dict[str, Any] = Field({}, description="New threshold values by name.")
    words: dict[str, Any] = Field({}, description="Word lists replaced whole, by name (entries are regex fragments).")
    reason: str = Field(min_length=3, max_length=500, description="Why: kept in the history.")


class GuardrailsDocument(BaseModel):
    version: int
    guardrails: GuardrailsConfig


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    reason: str = Field(min_length=3, max_length=500)


class PolicyDocument(BaseModel):
    version: int
    document: dict[str, Any]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise HTTPException(400, "If-Match must be a policy version number") from exc


async def _apply_change(policies: PolicyStore, document: dict[str, Any], changed: dict[str, Any], *, who: Principal,
                        reason: str, if_match: str | None, response: Response) -> None:
    """Apply a partial change merged into ``document``: against the client's ``If-Match``, else against the
    version it was merged into (a change landing in between is a 412, never silently overwritten). A change that
    changes nothing makes no new version."""
    if changed == document:
        response.headers["ETag"] = f'"{document["version"]}"'
        return
    version = _if_match(if_match)
    await asyncio.to_thread(_apply, policies, changed, who=who, reason=reason,
                            if_match=document["version"] if version is None else version, response=response)


def _tool_view(name: str, document: dict[str, Any], policies: PolicyStore) -> AdminTool:
    tool = TOOLS[name]
    return AdminTool(name=name, description=tool.description, writes=tool.writes,
                     needs_identity=tool.needs_identity, argument_schema=tool.json_schema(),
                     policy=policies.current().tool(name), limits={k: document[k] for k in tool.limits})


def _unknown(field: str, names: Iterable[str], known: Container[str], what: str) -> list[dict[str, Any]]:
    return [{"loc": ["body", field, name], "msg": f"there is no {what} {name!r}", "type": "extra_forbidden"}
            for name in names if name not in known]


def _changed_guardrails(section: dict[str, Any], change: GuardrailsChange) -> dict[str, Any]:
    """``section`` (as dumped) with ``change`` applied; unknown rule or word-list names are a 422 naming them."""
    unknown = [*_unknown("input", change.input, {r["name"] for r in section["input"]}, "input rule"),
               *_unknown("output", change.output, {r["name"] for r in section["output"]}, "output rule"),
               *_unknown("words", change.words, section["words"], "word list")]
    if unknown:
        raise HTTPException(422, unknown)
    return {**section, "thresholds": {**section["thresholds"], **change.thresholds},
            "words": {**section["words"], **change.words},
            "input": [{**r, "mode": change.input.get(r["name"], r["mode"])} for r in section["input"]],
            "output": [{**r, "mode": change.output.get(r["name"], r["mode"])} for r in section["output"]]}


def _apply(policies: PolicyStore, document: dict[str, Any], *, who: Principal, reason: str,
           if_match: int | None, response: Response) -> None:
    """Make ``document`` the next version, turning problems into 412 / 422 with the exact field."""
    try:
        policy = policies.update(document, author=who.subject, reason=reason, if_match=if_match)
    except VersionConflict as exc:
        raise HTTPException(412, str(exc), headers={"ETag": f'"{exc.current}"'}) from exc
    except ValidationError as exc:
        raise HTTPException(422, [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                                  for err in exc.errors()]) from exc
    except ConfigError as exc:  # valid by the schema, but the guardrails would not run
        raise HTTPException(422, [{"loc": ["body", "guardrails"], "msg": str(exc), "type": "value_error"}]) from exc
    response.headers["ETag"] = f'"{policy.version}"'


@router.get("/admin", include_in_schema=False)
def admin_page() -> FileResponse:
    """The ops page (plain HTML and JavaScript)."""
    return FileResponse(ADMIN_PAGE, headers={"Cache-Control": "no-store"})


@router.get("/v1/admin/tools")
async def list_tools(_: Ops, agent: AgentDep, response: Response) -> list[AdminTool]:
    """Every tool with its argument schema, permissions and limits (``ETag``: the policy version)."""
    policies = agent.deps.policies
    document = await asyncio.to_thread(policies.document)
    response.headers["ETag"] = f'"{document["version"]}"'
    return [_tool_view(name, document, policies) for name in sorted(TOOLS)]


@router.get("/v1/admin/tools/{name}")
async def read_tool(name: str, _: Ops, agent: AgentDep, response: Response) -> AdminTool:
    """One tool with its argument schema, permissions and limits."""
    if name not in TOOLS:
        raise HTTPException(404, f"unknown tool {name!r}")
    document = await asyncio.to_thread(agent.deps.policies.document)
    response.headers["ETag"] = f'"{document["version"]}"'
    return _tool_view(name, document, agent.deps.policies)


@router.patch("/v1/admin/tools/{name}")
async def change_tool(name: str, change: ToolChange, who: Ops, agent: AgentDep, response: Response,
                      if_match: IfMatch = None) -> AdminTool:
    """Change one tool's permissions or limits; the whole document is validated before it applies."""
    if name not in TOOLS:
        raise HTTPException(404, f"unknown tool {name!r}")
    unknown = sorted(set(change.limits) - set(TOOLS[name].limits))
    if unknown:
        raise HTTPException(422, [{"loc": ["body", "limits", key], "msg": f"{name} has no limit {key!r}",
                                   "type": "extra_forbidden"} for key in unknown])
    policies = agent.deps.policies
    document = await asyncio.to_thread(policies.document)
    permissions = {**document.get("tools", {}).get(name, {}),
                   **change.model_dump(exclude={"limits", "reason"}, exclude_none=True)}
    changed = {**document, **change.limits, "tools": {**document.get("tools", {}), name: permissions}}
    await _apply_change(policies, document, changed, who=who, reason=change.reason, if_match=if_match,
                        response=response)
    return _tool_view(name, await asyncio.to_thread(policies.document), policies)


@router.get("/v1/admin/policy")
async def read_policy(_: Ops, agent: AgentDep, response: Response) -> PolicyDocument:
    """The policy document in force."""
    document = await asyncio.to_thread(agent.deps.policies.document)
    response.headers["ETag"] = f'"{document["version"]}"'
    return PolicyDocument(version=document["version"], document=document)


@router.put("/v1/admin/policy")
async def replace_policy(change: PolicyChange, who: Ops, agent: AgentDep, response: Response,
                         if_match: IfMatch = None) -> PolicyDocument:
    """Replace the whole document, ``guardrails`` section included (validated; a new version)."""
    await asyncio.to_thread(_apply, agent.deps.policies, change.document, who=who, reason=change.reason,
                            if_match=_if_match(if_match), response=response)
    return await read_policy(who, agent, response)


@router.get("/v1/admin/guardrails")
async def read_guardrails(_: Ops, agent: AgentDep, response: Response) -> GuardrailsDocument:
    """The guardrails in force: input and output rules with their ``block``/``monitor`` mode, word lists,
    thresholds and secrets to mask (``ETag``: the policy version)."""
    policy = await asyncio.to_thread(agent.deps.policies.current)
    response.headers["ETag"] = f'"{policy.version}"'
    return GuardrailsDocument(version=policy.version, guardrails=policy.guardrails)


@router.patch("/v1/admin/guardrails")
async def change_guardrails(change: GuardrailsChange, who: Ops, agent: AgentDep, response: Response,
                            if_match: IfMatch = None) -> GuardrailsDocument:
    """Change rule modes, thresholds or word lists; the whole document is validated before it applies (422 with
    the exact field), and the change is a new version that every conversation uses from its next turn."""
    policies = agent.deps.policies
    document = await asyncio.to_thread(policies.document)
    changed = {**document, "guardrails": _changed_guardrails(document["guardrails"], change)}
    await _apply_change(policies, document, changed, who=who, reason=change.reason, if_match=if_match,
                        response=response)
    return await read_guardrails(who, agent, response)


@router.get("/v1/admin/policy/history")
async def history(_: Ops, agent: AgentDep) -> list[VersionSummary]:
    """Every version, newest first, with author, time, reason, source, the top-level fields it changed and its
    diff's line counts (the diff itself: ``GET /v1/admin/policy/versions/{version}/diff``)."""
    return await asyncio.to_thread(agent.deps.policies.summaries)


@router.get("/v1/admin/policy/versions/{version}/diff")
async def version_diff(version: int, _: Ops, agent: AgentDep) -> VersionDiff:
    """The unified diff of ``version``'s YAML against the version before it."""
    try:
        return await asyncio.to_thread(agent.deps.policies.diff, version)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/v1/admin/policy/versions/{version}")
async def read_version(version: int, _: Ops, agent: AgentDep) -> PolicyDocument:
    try:
        document = await asyncio.to_thread(agent.deps.policies.document, version)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return PolicyDocument(version=version, document=document)


@router.post("/v1/admin/policy/rollback")
async def rollback(body: Rollback, who: Ops, agent: AgentDep, response: Response,
                   if_match: IfMatch = None) -> PolicyDocument:
    """Bring back an earlier version's document as a new version."""
    target = await read_version(body.version, who, agent)
    await asyncio.to_thread(_apply, agent.deps.policies, target.document, who=who, reason=body.reason,
                            if_match=_if_match(if_match), response=response)
    return await read_policy(who, agent, response)
