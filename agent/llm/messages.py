"""LangChain messages in the OpenAI chat format that llama.cpp and every OpenAI-compatible server read."""

from __future__ import annotations

from langchain_core.messages import BaseMessage

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def openai_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """``[{"role", "content"}]`` for ``messages`` (a message of another kind is the user's)."""
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
