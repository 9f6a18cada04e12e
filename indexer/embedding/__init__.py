"""Dense embeddings of cases and queries: the ``Embedder`` facade (``embedder``), the chunking of long
texts (``chunking``), the vector cache (``cache``) and the choice of runtime and precisions
(``runtime_choice``, as the ``options`` ask). The models themselves are ``leian.indexer.models``'s; running them is
``leian.indexer.runtime``'s."""

from leian.indexer.embedding.cache import EmbeddingCache, default_cache_path
from leian.indexer.embedding.chunking import (
    CHUNKING_RULES,
    DEFAULT_MAX_CHUNKS,
    chunk_spans,
    document_text,
    sentence_cuts,
)
from leian.indexer.embedding.embedder import Embedder, ProgressFn
from leian.indexer.embedding.options import EmbeddingOptions, Precision, RuntimeKind

__all__ = [
    "CHUNKING_RULES",
    "DEFAULT_MAX_CHUNKS",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingOptions",
    "Precision",
    "ProgressFn",
    "RuntimeKind",
    "chunk_spans",
    "default_cache_path",
    "document_text",
    "sentence_cuts",
]
