"""Fill ``{field}`` placeholders in help-center text with the numbers of the store :class:`Policy`, and
``{public_url}`` with the service's public address (``SUPPORT_PUBLIC_URL``).

Articles never state a policy number themselves: ``{return_window_days}`` becomes ``30``, a section's field is
named with a dot (``{identity.attempts}``), money fields (the ``Decimal`` ones) become ``$200.00``, and lists
read as ``a and b`` inline or as a bullet list when the placeholder stands alone on its line. Names that are not
policy fields are left as written.
"""

from __future__ import annotations

import re
from decimal import Decimal

from core.settings import DEFAULT_PUBLIC_URL
from tools.policy import Policy

PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")
_ALONE_ON_LINE = re.compile(r"^([ \t]*)\{([a-z_]+(?:\.[a-z_]+)?)\}[ \t]*$", re.MULTILINE)
_MISSING = object()


def render_policy(text: str, policy: Policy, *, public_url: str = DEFAULT_PUBLIC_URL) -> str:
    """``text`` with every policy placeholder replaced by the policy's value in words."""
    values = {**policy.model_dump(), "public_url": public_url}

    def value(name: str) -> object:
        found: object = values
        for part in name.split("."):
            found = found.get(part, _MISSING) if isinstance(found, dict) else _MISSING
        return found

    def bullets(match: re.Match[str]) -> str:
        indent, found = match[1], value(match[2])
        return "\n".join(f"{indent}- {item}" for item in found) if isinstance(found, list) else match[0]

    def words(match: re.Match[str]) -> str:
        found = value(match[1])
        return match[0] if found is _MISSING or isinstance(found, dict) else _words(found)

    return PLACEHOLDER.sub(words, _ALONE_ON_LINE.sub(bullets, text))


def _words(value: object) -> str:
    if isinstance(value, Decimal):
        return f"${value:,.2f}"
    if isinstance(value, list):
        items = [str(item) for item in value]
        return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)
    return str(value)
