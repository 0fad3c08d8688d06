"""The project's exception tree.

* :class:`ToolControl` — control flow a tool raises: retry with other arguments, failed, denied by
  policy, or outside policy but approvable by a person.
* :class:`UserError` — configuration and user mistakes, with a message safe to show.
* :class:`RuntimeFailure` — the model, a store or another part failed at run time.

Third-party errors are translated into these at one seam per dependency; what a customer or the model
reads is always a chosen message, never ``repr(exc)``.
"""


class SupportError(Exception):
    """Base of every error this project raises on purpose."""


class UserError(SupportError):
    """A mistake in configuration or input; ``str(exc)`` is safe to show."""


class ConfigError(UserError):
    """A setting or a file it names is missing or unusable."""


class NotFound(UserError):
    """An id that does not exist for the caller (also used for ids that belong to someone else)."""


class ToolControl(SupportError):
    """A tool stopped on purpose; ``customer_message`` says why in words a customer may read."""

    def __init__(self, customer_message: str) -> None:
        super().__init__(customer_message)
        self.customer_message = customer_message


class ToolRetry(ToolControl):
    """The call had wrong or missing arguments; retry with better ones."""


class ToolFailed(ToolControl):
    """The call cannot succeed (unknown id, not allowed)."""


class PolicyDenied(ToolControl):
    """Policy forbids the call; ``rule`` names the rule that decided."""

    def __init__(self, rule: str, customer_message: str) -> None:
        super().__init__(customer_message)
        self.rule = rule


class ApprovalRequired(ToolControl):
    """Outside policy, but a person may approve it; ``detail`` tells that person why."""

    def __init__(self, rule: str, customer_message: str, detail: str) -> None:
        super().__init__(customer_message)
        self.rule = rule
        self.detail = detail


class RuntimeFailure(SupportError):
    """A dependency failed at run time (model, database, vector store)."""


class ModelError(RuntimeFailure):
    """The language model could not be loaded or did not answer."""
