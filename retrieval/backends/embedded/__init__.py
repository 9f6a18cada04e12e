"""The embedded backend: one directory per index, no server.

Layout (``DIR`` is what the user names)::

    DIR/CURRENT              name of the live generation (replaced atomically: os.replace)
    DIR/LOCK                 who may write: one build, or any number of updates (writer_lock)
    DIR/gen-<stamp>/         one complete, immutable-at-build generation
        manifest.json        IndexManifest, checked on load
        cases.sqlite         records, tokens, vectors, filter columns, artifacts, audit log
        bm25.npz             term-major postings (CSR: term -> cases, tf) of the base segment
        vocab.json           term -> row in bm25.npz
        vectors.faiss        IndexFlatIP over the base segment's vectors

A full build writes a new generation next to the live one and swaps ``CURRENT`` only when it is
complete (``builder``), so a crash or Ctrl-C mid-build leaves the previous index fully usable.
Incremental writes (add / update / delete) are single SQLite transactions on the live generation
(``store``): new cases go to a small in-memory "delta" segment rebuilt from SQLite, deleted base
cases are tombstoned, and BM25 statistics (N, df, avgdl) are computed over live cases only
(``bm25``) — Lucene's segment model, so no stale terms or vectors survive a delete. Readers notice
writes from other processes through a sequence number in SQLite and reload the delta (``state``).

Modules: ``layout`` (the directory, the manifest, the format version), ``writer_lock``, ``store``
(SQLite), ``bm25``, ``vectors`` (faiss), ``state`` (what a search reads), ``builder`` (a full build),
``backend`` (EmbeddedBackend).
"""

from leian.retrieval.backends.embedded.backend import EmbeddedBackend
from leian.retrieval.backends.embedded.layout import EMBEDDED_FORMAT_VERSION

__all__ = ["EMBEDDED_FORMAT_VERSION", "EmbeddedBackend"]
