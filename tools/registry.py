"""``@tool``: a plain typed function becomes a tool with a pydantic argument model and a description.

The first docstring line is what the model reads; ``Args:`` lines describe parameters. The first
parameter is always the injected :class:`~tools.context.ToolContext`, never filled by the model.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from tools.context import ToolContext
from tools.policy import Policy

_ARG_LINE = re.compile(r"^\s{4,}(\w+):\s*(.+)$")


class Tool(BaseModel):
    """A registered tool."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str
    description: str
    args_model: type[BaseModel]
    fn: Callable[..., BaseModel]
    writes: bool
    """Changes the store (needs the customer's confirmation once policy work lands)."""
    needs_identity: bool
    """Runs only for a signed-in or verified customer."""
    customer_label: str
    """What the customer is shown while it runs ("Looking up your order")."""
    limits: tuple[str, ...] = ()
    """The policy fields that bound this tool (ops edit them with the tool's permissions)."""

    def json_schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema()


TOOLS: dict[str, Tool] = {}


def _arg_docs(doc: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for line in doc.splitlines() if (m := _ARG_LINE.match(line))}


def tool(
    *, label: str, writes: bool = False, needs_identity: bool = True, limits: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Tool]:
    """Register the decorated function as a tool; a bad definition fails at import."""

    def register(fn: Callable[..., Any]) -> Tool:
        doc = inspect.getdoc(fn) or ""
        if not doc:
            raise TypeError(f"tool {fn.__name__} needs a docstring: its first line is what the model reads")
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        if not params or params[0].annotation is not ToolContext:
            raise TypeError(f"tool {fn.__name__}: the first parameter must be `ctx: ToolContext`")
        docs = _arg_docs(doc)
        fields: dict[str, Any] = {}
        for p in params[1:]:
            if p.annotation is inspect.Parameter.empty:
                raise TypeError(f"tool {fn.__name__}: parameter {p.name} needs a type hint")
            described = Annotated[p.annotation, Field(description=docs.get(p.name))]
            if isinstance(p.default, FieldInfo):
                fields[p.name] = (described, p.default)
            else:
                fields[p.name] = (described, ... if p.default is inspect.Parameter.empty else p.default)
        args_model = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
        registered = Tool(
            name=fn.__name__,
            description=doc.splitlines()[0],
            args_model=args_model,
            fn=fn,
            writes=writes,
            needs_identity=needs_identity,
            customer_label=label,
            limits=limits,
        )
        unknown = [name for name in limits if name not in Policy.model_fields]
        if unknown:
            raise TypeError(f"tool {fn.__name__}: limits {unknown} are not policy fields")
        if registered.name in TOOLS:
            raise TypeError(f"tool {registered.name} is registered twice")
        TOOLS[registered.name] = registered
        return registered

    return register
