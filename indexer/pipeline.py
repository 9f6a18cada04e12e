"""Turn loaded judgments into what a backend stores: extracted record + tokens + vector.

This is the one place that decides which text is searched (the facts, as queries are facts) so the
embedded and Elasticsearch backends and every query path agree.

The text side (extraction + jieba) is pure Python and CPU-bound, so with ``workers > 1`` it runs in a
pool of processes (spawned, not forked: the parent may hold torch threads); embedding stays in this
process, the model on every core (``torch_threads``): the workers, ~100 times faster than the
embedding, wait on a bounded queue nearly all the time.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice

from leian import usable_cores
from leian.corpora.record import CaseRecord
from leian.indexer.embedding import document_text
from leian.indexer.extract import extract
from leian.indexer.indexed import IndexedCase
from leian.indexer.tokenize import Tokenizer

Progress = Callable[[int], None]


def search_text(record: CaseRecord) -> str:
    """The text BM25 indexes: the facts section (fall back to the full text when none was found)."""
    return record.sections.facts or record.text


def embed_text(record: CaseRecord) -> str:
    return document_text(record)


def extract_keeping_sections(record: CaseRecord) -> CaseRecord:
    """Extract fields; sections the corpus itself supplies (e.g. LeCaRD's 基本案情) win over the
    splitter's guess, since they are what the corpus's own queries were cut from."""
    given = record.sections
    out = extract(record)
    if any(given.model_dump().values()):
        merged = {k: v or getattr(out.sections, k) for k, v in given.model_dump().items()}
        out = out.model_copy(update={"sections": type(given)(**merged)})
    return out


def default_workers() -> int:
    return min(4, usable_cores())


_BULK_THRESHOLD = (100_000, 50, 50)
_bulk_lock = threading.Lock()
_bulk_jobs = 0
_bulk_saved = gc.get_threshold()


@contextlib.contextmanager
def bulk_collection() -> Iterator[None]:
    """Fewer cyclic garbage collections while indexing: every judgment allocates hundreds of objects
    (its record's ~40 spans, token lists, counts), and at the default threshold (a collection every
    700 allocations) the collector kept walking the build's growing heap of live objects. The heap
    the build starts with is frozen out of the walks. LeCaRD text side: ~5-8% less CPU. The setting
    is process-wide: with jobs in several threads, the first to start sets it, the last to end restores."""
    global _bulk_jobs, _bulk_saved
    with _bulk_lock:
        if _bulk_jobs == 0:
            _bulk_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*_BULK_THRESHOLD)
        _bulk_jobs += 1
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_jobs -= 1
            if _bulk_jobs == 0:
                gc.set_threshold(*_bulk_saved)
                gc.unfreeze()


_worker_tokenizer: Tokenizer | None = None


def _worker_init(engine: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = Tokenizer(engine)
    # a worker process only ever indexes
    gc.freeze()
    gc.set_threshold(*_BULK_THRESHOLD)


def _text_side(batch: list[CaseRecord], extracted: bool, embed: bool, tokenizer: Tokenizer | None = None):
    """Each case, and the text to embed when ``embed``. From a worker process, the cases pickle in
    compact form (``IndexedCase.__reduce__``), and the embedder's text comes along so the main process
    need not rebuild the records for it."""
    tok = tokenizer or _worker_tokenizer
    recs = batch if extracted else [extract_keeping_sections(r) for r in batch]
    out = []
    for r in recs:
        # the terms are counted here, where the cores are, not in the main process every case goes through
        tokens = tok.tokenize(search_text(r))
        case = IndexedCase(r, token_text=" ".join(tokens), counts=Counter(tokens))
        out.append((case, embed_text(r) if embed else None))
    return out


def _batches(records: Iterable[CaseRecord], size: int) -> Iterator[list[CaseRecord]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def prepare(
    records: Iterable[CaseRecord],
    tokenizer: Tokenizer,
    embedder=None,
    *,
    batch_size: int = 64,
    already_extracted: bool = False,
    workers: int = 1,
    on_progress: Progress | None = None,
) -> Iterator[IndexedCase]:
    """Extract, tokenise and (when an embedder is given) embed, in batches, in corpus order."""
    embed = embedder is not None
    if workers > 1:
        import multiprocessing as mp

        pool = ProcessPoolExecutor(
            workers,
            mp_context=mp.get_context("spawn"),
            initializer=_worker_init,
            initargs=(tokenizer.engine,),
        )
        # bounded look-ahead: at most 2 batches per worker in flight, so memory stays flat
        done = _ordered(pool, _batches(records, batch_size), already_extracted, embed, ahead=2 * workers)
    else:
        pool = None
        done = (_text_side(b, already_extracted, embed, tokenizer) for b in _batches(records, batch_size))
    try:
        for batch in done:
            if embed:
                vectors = embedder.embed_documents([text for _, text in batch])
                for i, (case, _) in enumerate(batch):
                    case.vector = vectors[i]
            yield from (case for case, _ in batch)
            if on_progress:
                on_progress(len(batch))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _ordered(
    pool: ProcessPoolExecutor, batches: Iterator[list[CaseRecord]], extracted: bool, embed: bool, ahead: int
):
    from collections import deque

    pending: deque = deque()
    for batch in batches:
        pending.append(pool.submit(_text_side, batch, extracted, embed))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
