"""What the planner may propose for one customer message: typed commands, one pydantic model each, in a
discriminated union on ``cmd``. Commands are data: code checks every argument against the store before
anything runs, and none of their text is ever shown to the customer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ORDER_ID = r"^#W[0-9]{7}$"
ReadTool = Literal["get_order_details", "list_recent_orders"]
WriteTool = Literal["cancel_pending_order", "modify_pending_order_address", "modify_pending_order_items",
                    "modify_pending_order_payment", "return_delivered_order_items", "exchange_delivered_order_items",
                    "modify_user_address", "request_password_reset"]
Slot = Literal["order", "items", "option", "reason", "address", "payment"]
Text = Annotated[str, Field(max_length=200)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _kind_first(schema: dict[str, Any]) -> None:
    """``cmd`` and ``tool`` lead the JSON (the grammar follows this order): the model names the command before
    its details."""
    properties = schema["properties"]
    schema["properties"] = {k: properties[k] for k in sorted(properties, key=lambda k: k not in ("cmd", "tool"))}


class _Details(_Command):
    """The details of a write, in the customer's terms; code maps them to store ids."""

    model_config = ConfigDict(json_schema_extra=_kind_first)

    order_id: Annotated[str, Field(pattern=ORDER_ID)] | None = None
    items: Annotated[list[Text], Field(max_length=8)] = []
    """Item names as the order lists them (or "all")."""
    new_option: Text | None = None
    """The option wanted instead, for an exchange or a change of a pending order's items ("blue, size L")."""
    reason: Text | None = None
    address: Text | None = None
    """A new address exactly as the customer wrote it."""
    payment: Text | None = None
    """The payment method the customer wants to use, in their words ("my visa", "the gift card")."""


class LookUp(_Command):
    """Look up an order's details, or without an order the customer's recent orders (no tool name: fewer
    tokens for the model to write)."""

    cmd: Literal["lookup"]
    order_id: Annotated[str, Field(pattern=ORDER_ID)] | None = None


class ProposeWrite(_Details):
    """Start a change with what the customer already said; the preview, their yes and the policy follow."""

    cmd: Literal["write"]
    tool: WriteTool


class AnswerQuestion(_Command):
    """Answer a question from the help center (policies, shipping, how things work)."""

    cmd: Literal["answer"]
    question: Text


class AskAboutProduct(_Command):
    """A question about something the store sells (its options, colors, sizes, prices, what is in stock),
    answered from the catalogue."""

    cmd: Literal["product"]
    product: Text
    """The product as the customer names it ("tshirt")."""


class HandOff(_Command):
    """Bring in a person: the customer asked for one, or the request is something no tool covers."""

    cmd: Literal["handoff"]
    reason: Literal["customer asked for a human", "request not covered"]


class AskFor(_Command):
    """The message leaves something out or is unclear: ask the customer (code words the question)."""

    cmd: Literal["ask"]
    about: Slot | Literal["request"]


class SmallTalk(_Command):
    """Greeting, thanks, goodbye, "are you a bot?", something off topic, or a complaint with no request."""

    cmd: Literal["chat"]
    kind: Literal["greeting", "thanks", "goodbye", "bot", "off_topic", "complaint"]


class Confirm(_Command):
    """The customer's answer to the agent's yes/no question, however it was worded."""

    cmd: Literal["confirm"]
    yes: bool


class Correct(_Details):
    """Change a detail of the task in progress ("no, the other order", "actually the blue one")."""

    cmd: Literal["correct"]


class Drop(_Command):
    """The customer no longer wants the task in progress."""

    cmd: Literal["drop"]


Command = Annotated[LookUp | ProposeWrite | AnswerQuestion | AskAboutProduct | HandOff | AskFor | SmallTalk | Confirm
                    | Correct | Drop, Field(discriminator="cmd")]


class Plan(BaseModel):
    """The commands for one customer message, in the order the customer asked."""

    model_config = ConfigDict(extra="forbid")

    commands: Annotated[list[Command], Field(min_length=1, max_length=4)]


def tool_of(command: dict[str, Any]) -> str | None:
    """The tool a command runs: a write's own, a lookup's read tool, else None."""
    if command["cmd"] == "lookup":
        return "get_order_details" if command.get("order_id") else "list_recent_orders"
    return command.get("tool") if command["cmd"] == "write" else None


WRITE_INTENT: dict[str, str] = {
    "cancel_pending_order": "cancel_order",
    "modify_pending_order_address": "change_address",
    "modify_pending_order_items": "modify_items",
    "modify_pending_order_payment": "change_payment",
    "return_delivered_order_items": "return_refund",
    "exchange_delivered_order_items": "exchange_item",
    "modify_user_address": "update_account_address",
    "request_password_reset": "account_password",
}
"""The task each write command starts (``agent.executor.flow`` carries tasks by intent)."""
