"""Opening an index for searching: the backend, the tokenizer and model it was built with, its charge model."""

from __future__ import annotations

from leian.errors import IndexIncompatible
from leian.indexer.charge_model import ChargeModel
from leian.indexer.embedding import Embedder, EmbeddingOptions
from leian.indexer.sentencing_model import VERSION as SENTENCING_VERSION
from leian.indexer.sentencing_model import SentencingModel
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.backends import open_backend
from leian.retrieval.backends.base import IndexManifest
from leian.retrieval.search.config import SearchConfig
from leian.retrieval.search.searcher import HybridSearcher

CHARGE_MODEL_ARTIFACT = "charge_model"
SENTENCING_MODEL_ARTIFACT = "sentencing_model"


def check_compatible(manifest: IndexManifest, tokenizer: Tokenizer, embedder: Embedder | None) -> None:
    if manifest.tokenizer != tokenizer.fingerprint:
        raise IndexIncompatible(
            f"the index was built with tokenizer {manifest.tokenizer}, this installation has "
            f"{tokenizer.fingerprint} (another legal dictionary); rebuild the index with `leian index`"
        )
    if (
        manifest.model_fingerprint
        and embedder is not None
        and embedder.fingerprint != manifest.model_fingerprint
    ):
        raise IndexIncompatible(
            f"the index was built with embedding model {manifest.model} ({manifest.model_fingerprint}), "
            f"but {embedder.name} ({embedder.fingerprint}) is loaded; pass --model with the index's model "
            "or rebuild the index"
        )


def open_searcher(
    backend: str = "embedded",
    index: str | None = None,
    *,
    es_options=None,
    config: SearchConfig | None = None,
    model: str | None = None,
    load_embedder: bool = True,
    embedding_options: EmbeddingOptions | None = None,
) -> HybridSearcher:
    """Open an index for searching; the embedding model recorded in the index is loaded (as
    ``embedding_options`` say: home, runtime, query precision, threads) unless ``model`` names another local
    directory (then its fingerprint must match)."""
    be = open_backend(backend, index=index, es_options=es_options)
    manifest = be.manifest()
    tokenizer = Tokenizer()
    embedder = None
    cfg = config or SearchConfig()
    if manifest.dim and load_embedder and cfg.use_dense:
        # the index's chunk setting: cases added through this searcher are embedded like the rest
        embedder = Embedder.load(
            model or manifest.model_path or manifest.model,
            options=embedding_options,
            max_chunks=manifest.embed_chunks,
            document_precision=manifest.embed_precision,
        )
    check_compatible(manifest, tokenizer, embedder)
    blob = be.get_artifact(CHARGE_MODEL_ARTIFACT)
    charge_model = ChargeModel.from_bytes(blob) if blob else None
    return HybridSearcher(be, tokenizer, embedder, cfg, charge_model, _sentencing_model(be))


def _sentencing_model(be) -> SentencingModel | None:
    """The index's 量刑测算 model; None for an index built before it or by another version (a report
    then says the estimate needs a rebuild)."""
    if be.manifest().sentencing_model != SENTENCING_VERSION:
        return None
    blob = be.get_artifact(SENTENCING_MODEL_ARTIFACT)
    return SentencingModel.from_bytes(blob) if blob else None


__all__ = ["CHARGE_MODEL_ARTIFACT", "SENTENCING_MODEL_ARTIFACT", "check_compatible", "open_searcher"]
