"""Index a corpus into a backend: load → extract → tokenise → embed → write, with progress.

A full build writes a fresh index and swaps it in only at the end (atomic for both backends) and
trains the charge model on the corpus it indexed; ``add`` upserts into the live index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from itertools import islice
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leian.corpora.loaders import load
from leian.errors import CorpusReadError, InvalidInput
from leian.indexer.charge_model import ChargeModel
from leian.indexer.embedding import DEFAULT_MAX_CHUNKS, Embedder, EmbeddingOptions
from leian.indexer.pipeline import bulk_collection, default_workers, prepare
from leian.indexer.postings import CountsTerms, TermCounts
from leian.indexer.sentencing_model import VERSION as SENTENCING_VERSION
from leian.indexer.sentencing_model import observations, train
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.backends import BackendKind, build_backend, new_manifest, open_backend
from leian.retrieval.search import CHARGE_MODEL_ARTIFACT, SENTENCING_MODEL_ARTIFACT, check_compatible

ProgressFactory = Callable[..., AbstractContextManager]


class IndexSummary(BaseModel):
    indexed: int = 0
    skipped: int = 0  # unreadable judgments (reported one by one through on_problem)
    failed: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0
    index: str = ""
    total: int = 0
    charge_labels: int = 0

    def line(self) -> str:
        rate = self.indexed / self.seconds if self.seconds else 0.0
        s = (
            f"indexed {self.indexed} judgment(s) into {self.index} in {self.seconds:.1f} s "
            f"({rate:.1f}/s); {self.total} in the index"
        )
        if self.skipped:
            s += f"; skipped {self.skipped} unreadable"
        if self.failed:
            s += f"; {len(self.failed)} failed to write"
        return s


class IndexJob(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    corpus: str
    fmt: str = "auto"
    backend: BackendKind = BackendKind.embedded
    index: str
    es_options: object | None = None
    model: str | None = None
    embeddings: bool = True
    embedding_options: EmbeddingOptions = Field(default_factory=EmbeddingOptions)  # home, runtime, threads …
    embedding_cache: str | None = None
    # chunks of the facts embedded per case (0: all). None: the default for a new index, the
    # index's own number for ``add`` (vectors of one index must be made the same way)
    max_chunks: int | None = Field(default=None, ge=0)
    # the vectors' precision (see indexer/embedding/). None: int8 when the model's export has its int8
    # copy, else float32, for a new index; the index's own for ``add``
    embed_precision: Literal["int8", "float32"] | None = None
    limit: int | None = None
    batch_size: int = 32
    workers: int = Field(default_factory=lambda: default_workers())
    corpus_name: str | None = None
    on_problem: Callable[[str], None] = lambda msg: None
    progress: ProgressFactory | None = None

    def _records(self):
        loader = load(self.corpus, fmt=self.fmt, on_problem=self.on_problem)
        return loader, (islice(loader, self.limit) if self.limit else loader)

    def _embedder(self, model: str | None, chunks: int, precision: str | None):
        # a job embeds documents only: queries are asked in their precision, so no other session opens
        embedder = Embedder.load(
            model, options=self.embedding_options, cache=self.embedding_cache or "default", max_chunks=chunks,
            query_precision=precision or "int8", document_precision=precision,
        )  # fmt: skip
        embedder.require_documents()  # before anything is read or written
        return embedder

    def _bar(self, desc: str, unit: str = "doc"):
        return self.progress(None, desc, unit) if self.progress else nullcontext(lambda n: None)

    @bulk_collection()
    def build(self) -> IndexSummary:
        t0 = time.perf_counter()
        tokenizer = Tokenizer()
        chunks = DEFAULT_MAX_CHUNKS if self.max_chunks is None else self.max_chunks
        if self.embed_precision is not None and not self.embeddings:
            raise InvalidInput("an embedding precision applies to embeddings; it cannot go without them")
        embedder = self._embedder(self.model, chunks, self.embed_precision) if self.embeddings else None
        manifest = new_manifest(
            self.backend,
            Path(self.index).name,
            tokenizer=tokenizer.fingerprint,
            model=embedder.name if embedder else None,
            model_path=str(self.model) if (embedder and self.model) else None,
            model_fingerprint=embedder.fingerprint if embedder else None,
            dim=embedder.dim if embedder else None,
            embed_chunks=chunks,
            **({"embed_precision": embedder.document_precision} if embedder else {}),
            corpus={"name": self.corpus_name or Path(self.corpus).name, "path": str(self.corpus)},
            sentencing_model=SENTENCING_VERSION,
        )
        loader, records = self._records()
        summary = IndexSummary(index=self.index)
        with build_backend(
            self.backend, index=self.index, manifest=manifest, es_options=self.es_options
        ) as b:
            # what the charge model learns from, without keeping the corpus's token strings; the
            # embedded builder's postings are these counts already
            ours = not isinstance(b, CountsTerms)
            counts = TermCounts() if ours else b.term_counts
            sentenced = []  # what the 量刑测算 model learns from: one charge, a custodial term
            with self._bar("indexing") as tick:
                for case in self._write_all(b, records, tokenizer, embedder, summary, tick):
                    if ours:
                        counts.add_counts(case.term_counts, case.charge_groups)
                    sentenced += observations(case.record)
            summary.skipped = _skipped(loader)
            if summary.indexed == 0:
                raise CorpusReadError(
                    f"nothing could be indexed from {self.corpus}; the previous index is kept"
                )
            with self._bar("charge model", unit="charge") as tick:
                model = ChargeModel.train_counts(counts, on_progress=tick)
            if model is not None:
                b.put_artifact(CHARGE_MODEL_ARTIFACT, model.to_bytes())
                summary.charge_labels = len(model.labels)
            with self._bar("sentencing model", unit="fit") as tick:
                sentencing = train(sentenced, on_progress=tick)
            if sentencing is not None:
                b.put_artifact(SENTENCING_MODEL_ARTIFACT, sentencing.to_bytes())
        summary.total = open_backend(self.backend, index=self.index, es_options=self.es_options).count()
        summary.seconds = time.perf_counter() - t0
        return summary

    @bulk_collection()
    def add(self) -> IndexSummary:
        t0 = time.perf_counter()
        be = open_backend(self.backend, index=self.index, es_options=self.es_options)
        # builds are kept out for the whole job, so that none swaps the index out between two batches
        with be.updating():
            return self._add(be, t0)

    def _add(self, be, t0: float) -> IndexSummary:
        manifest = be.manifest()
        tokenizer = Tokenizer()
        if self.max_chunks is not None and self.max_chunks != manifest.embed_chunks:
            raise InvalidInput(
                f"this index embeds {_chunks(manifest.embed_chunks)} of each case's facts; cases added "
                f"with {_chunks(self.max_chunks)} would not be comparable: leave out the chunk setting, "
                "or rebuild the index"
            )
        if self.embed_precision is not None and not manifest.dim:
            raise InvalidInput("this index has no vectors: an embedding precision does not apply to it")
        if self.embed_precision not in (None, manifest.embed_precision):
            raise InvalidInput(
                f"this index's vectors are {manifest.embed_precision}; cases added in {self.embed_precision} "
                "would not be made alike: leave out the precision, or rebuild the index"
            )
        embedder = None
        if manifest.dim:
            embedder = self._embedder(
                self.model or manifest.model_path or manifest.model,
                manifest.embed_chunks,
                manifest.embed_precision,
            )
        check_compatible(manifest, tokenizer, embedder)
        loader, records = self._records()
        summary = IndexSummary(index=self.index)
        with self._bar("adding") as tick:
            for _ in self._write_all(be, records, tokenizer, embedder, summary, tick):
                pass
        summary.skipped = _skipped(loader)
        summary.total = be.count()
        summary.seconds = time.perf_counter() - t0
        return summary

    def _write_all(self, backend, records, tokenizer, embedder, summary: IndexSummary, tick):
        """Prepare and write in batches; yields each case once it is handed to the backend."""
        batch = []
        cases = prepare(
            records, tokenizer, embedder, batch_size=self.batch_size, workers=self.workers, on_progress=tick
        )
        for case in cases:
            batch.append(case)
            yield case
            if len(batch) >= 256:
                self._write(backend, batch, summary)
        self._write(backend, batch, summary)

    def _write(self, backend, batch: list, summary: IndexSummary) -> None:
        if not batch:
            return
        rep = backend.upsert(batch)
        summary.indexed += rep.written
        for cid, why in rep.failed.items():
            summary.failed[cid] = why
            self.on_problem(f"{cid}: not written: {why}")
        batch.clear()


def _chunks(n: int) -> str:
    return "every chunk" if n == 0 else f"the first {n} chunk(s)"


def _skipped(loader) -> int:
    report = getattr(loader, "report", None)
    return int(getattr(report, "skipped", 0) or 0) if report is not None else 0
