"""The searcher the settings describe, opened the one way every process that searches opens it
(`leian search`, `report`, `batch`, `eval` and the service)."""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from leian.api.settings import Settings
from leian.retrieval.search import HybridSearcher
from leian.retrieval.search import open_searcher as open_index


def open_searcher(settings: Settings, model: str | None = None) -> HybridSearcher:
    """The index of ``settings`` (embedded directory or Elasticsearch index) with its ranking;
    ``model`` names another local copy of the index's embedding model."""
    searcher = open_index(
        settings.backend,
        settings.require_index(),
        es_options=settings.es,
        config=settings.ranking,
        model=model,
        embedding_options=settings.embedding,
    )
    if searcher.embedder is not None:
        one_blas_thread()
    return searcher


def one_blas_thread() -> None:
    """BLAS on one thread, for the whole process: after a product (the dense scores) OpenBLAS's
    threads keep spinning, on the very cores the model embeds the next query on; with torch, that
    took query embedding from p50 83 to 157 ms on the 2-core box. One BLAS thread scores 100k vectors
    in ~5 ms. It changes the process, so the process's entry point does it, never the library."""
    threadpool_limits(1, user_api="blas")


__all__ = ["one_blas_thread", "open_searcher"]
