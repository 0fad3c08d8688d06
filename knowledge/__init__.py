"""The help-center knowledge base: chunked documents in Chroma, ingested incrementally, searched by meaning."""

from knowledge._sources import UnusableDocument
from knowledge.articles import Article, ArticleStore, ArticleText
from knowledge.help_center import HelpCenter
from knowledge.ingest import IngestReport, ensure_default_help_center, ingest
from knowledge.store import KnowledgeBase, Passage, open_collection

__all__ = ["Article", "ArticleStore", "ArticleText", "HelpCenter", "IngestReport", "KnowledgeBase", "Passage",
           "UnusableDocument", "ensure_default_help_center", "ingest", "open_collection"]
