"""The help-center knowledge base: chunked documents in Chroma, ingested incrementally, searched by meaning."""

from knowledge.ingest import IngestReport, ensure_default_help_center, ingest
from knowledge.store import KnowledgeBase, Passage, open_collection

__all__ = ["IngestReport", "KnowledgeBase", "Passage", "ensure_default_help_center", "ingest", "open_collection"]
