"""Fill ``{field}`` placeholders in help-center text with the numbers of the store :class:`Policy`.

Articles never state a policy number themselves: ``{return_window_days}`` becomes ``30``, money fields
(the ``Decimal`` ones) become ``$200.00``, and lists read as ``a and b`` inline or as a bullet list when
the placeholder stands alone on its line. Names that are not policy fields are left as written.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tools.policy import Policy

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_ALONE_ON_LINE = re.compile(r"^([ \t]*)\{([a-z_]+)\}[ \t]*$", re.MULTILINE)


def render_policy(text: str, policy: Policy) -> str:
    """``text`` with every policy placeholder replaced by the policy's value in words."""
    values = policy.model_dump()

    def bullets(match: re.Match[str]) -> str:
        indent, value = match[1], values.get(match[2])
        return "\n".join(f"{indent}- {item}" for item in value) if isinstance(value, list) else match[0]

    def words(match: re.Match[str]) -> str:
        return _words(values[match[1]]) if match[1] in values else match[0]

    return PLACEHOLDER.sub(words, _ALONE_ON_LINE.sub(bullets, text))


def _words(value: object) -> str:
    if isinstance(value, Decimal):
        return f"${value:,.2f}"
    if isinstance(value, list):
        items = [str(item) for item in value]
        return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)
    return str(value)
