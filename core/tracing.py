"""OpenTelemetry traces: a span per turn with child spans per node, tool call, retrieval and model call.

Off unless :func:`exporting` (``SUPPORT_OTLP_ENDPOINT``) or :func:`install` gives a tracer provider: then
:func:`span` hands out one shared no-op context, so a turn pays next to nothing. Customer text goes into span
attributes only when ``SUPPORT_TRACE_CONTENT`` allows it (:func:`content_allowed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from core.settings import Settings

SERVICE_NAME = "support-agent"
_OFF: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)
_tracer: trace.Tracer | None = None
_content = False


def install(provider: TracerProvider | None, *, content: bool = False) -> None:
    """Trace with ``provider`` from now on (None: stop tracing); ``content``: customer text may go into spans."""
    global _tracer, _content
    _tracer = provider.get_tracer("support_agent") if provider is not None else None
    _content = content and provider is not None


@contextmanager
def exporting(settings: Settings) -> Iterator[None]:
    """For the block, export spans by OTLP/HTTP to ``settings.otlp_endpoint`` in the background, then send what is
    left; nothing (and no network) when it is unset."""
    if not settings.otlp_endpoint:
        yield
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    install(provider, content=settings.trace_content)
    try:
        yield
    finally:
        install(None)
        provider.shutdown()


def span(name: str, attributes: Attributes = None) -> AbstractContextManager[trace.Span]:
    """A child of the current span, current for the block (a shared no-op when tracing is off)."""
    if _tracer is None:
        return _OFF
    return _tracer.start_as_current_span(name, attributes=attributes)


def start_span(name: str, attributes: Attributes = None) -> trace.Span:
    """A child of the current span that the caller ends (for work that starts and ends in callbacks)."""
    if _tracer is None:
        return trace.INVALID_SPAN
    return _tracer.start_span(name, attributes=attributes)


def content_allowed() -> bool:
    """Customer text may go into span attributes (``SUPPORT_TRACE_CONTENT`` with tracing on)."""
    return _content
