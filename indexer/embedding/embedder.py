"""Dense embeddings for cases and queries: the ``Embedder`` facade over a loaded model.

The model is configuration: ``Embedder.load(None)`` is the default (``models.DEFAULT_MODEL``), a name
("e5-small", "bge-small-zh") one of the models leian makes under the options' home, a path any
local sentence-transformers directory. Nothing is ever fetched from a model hub.

Long texts are embedded in chunks (``chunking``). Chunk vectors of documents are kept in the SQLite
cache (``cache``) keyed by (model fingerprint, sha256 of prompt + chunk), and so is each document's
final vector (keyed by its whole text and the chunk setting), so re-indexing unchanged text neither
embeds nor even re-chunks it. Which runtime and precisions embed is ``runtime_choice``'s; vectors of
the two precisions are cached apart. Importing this module stays cheap: torch is imported only when
a model needs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from leian.errors import InvalidInput, ModelUnavailable
from leian.indexer.embedding.cache import EmbeddingCache, default_cache_path
from leian.indexer.embedding.chunking import (
    CHUNK_SLACK,
    CHUNKING_RULES,
    DEFAULT_MAX_CHUNKS,
    chunk_spans,
    sentence_cuts,
)
from leian.indexer.embedding.options import EmbeddingOptions, Precision, RuntimeKind
from leian.indexer.embedding.runtime_choice import Runtime, open_runtime
from leian.indexer.models.fingerprint import model_fingerprint
from leian.indexer.models.home import PROVENANCE_FILE
from leian.indexer.models.registry import resolve_model_dir

ProgressFn = Callable[[int], None]


class Embedder:
    """A loaded embedding model. Use :meth:`load`; vectors are float32, L2-normalised, ``dim`` wide."""

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str,
        fingerprint: str,
        runtime: Runtime,
        cache: EmbeddingCache | None,
        max_chunks: int | None,
    ):
        settings, onnx = runtime.settings, runtime.onnx
        query_precision, document_precision = runtime.query_precision, runtime.document_precision
        self._onnx = onnx
        self._int8 = runtime.int8  # the export's int8 copy
        self.query_precision = query_precision
        # None: documents cannot be embedded in the precision asked for (``document_problem`` says why)
        self.document_precision = document_precision
        self.document_problem = runtime.document_problem
        # torch's model is kept only when something is embedded in float32 without the float export
        needs_float = "float32" in (query_precision, document_precision)
        self._model = runtime.st if needs_float and onnx is None else None
        self.model_dir = model_dir
        self.name = name
        self.fingerprint = fingerprint
        self.cache = cache
        self.max_chunks = max_chunks
        self.batch_size = runtime.batch_size
        self.device = runtime.device
        self.dim = settings.dim
        self.max_tokens = settings.max_seq_length
        self.query_prompt = settings.prompts.get("query", "")
        self.passage_prompt = settings.prompts.get("passage", settings.prompts.get("document", ""))
        # the model's Rust tokenizer (``tokenizers.Tokenizer``): chunking reads token offsets from it
        # directly, and the ONNX encoders tokenise with it too
        self._backend_tok = runtime.tokenizer
        self._lock = threading.Lock()  # one encode or chunking at a time: they share the tokenizer
        # Tokens that the model adds around every input (<s> ... </s>).
        specials = self._count("", add_special_tokens=True) - self._count("")
        self._budget = {
            prompt: max(8, self.max_tokens - specials - self._count(prompt) - CHUNK_SLACK)
            for prompt in {self.query_prompt, self.passage_prompt}
        }

    # -------------------------------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        model: str | os.PathLike | None = None,
        *,
        options: EmbeddingOptions | None = None,
        device: str | None = None,
        cache: EmbeddingCache | str | os.PathLike | None = "default",
        max_chunks: int | None = DEFAULT_MAX_CHUNKS,
        batch_size: int | None = None,
        threads: int | None = None,
        runtime: str | None = None,
        query_precision: str | None = None,
        document_precision: str | None = None,
    ) -> Embedder:
        """Load ``model`` (a name such as "bge-small-zh", made on first use; None: the default,
        ``DEFAULT_MODEL``; or a model directory) on ``device`` (default: cuda when available, else
        cpu; a model that is an int8 ONNX graph alone runs on the CPU). ``options``: this
        installation's (``EmbeddingOptions``: home, runtime, query precision, threads, Maven URL;
        default: their defaults); ``threads``, ``runtime`` and ``query_precision`` override theirs.
        ``cache`` is an EmbeddingCache, a path to its SQLite file, "default" (``embeddings.sqlite`` in
        the options' home, where ``scripts/embed_corpus.py`` puts precomputed corpus vectors) or None
        (no cache). ``threads``: CPU threads (default: see :func:`torch_threads`).
        ``runtime``: "auto" (onnxruntime on CPU when the directory has an export of these files, else
        torch), "onnx" (that export or an error) or "torch". ``query_precision``: "int8" (queries on
        the export's int8 copy when it has one, else float32) or "float32". ``document_precision``: None (int8
        when the export has its copy, else float32: what a new index takes), "int8" or "float32" (what
        an index's manifest says: its vectors must all be made alike, so without the int8 copy this
        embedder refuses documents, while it still embeds queries).
        Only the sessions these need are opened: an int8 copy alone saves ~0.5 GB. When the export
        serves every precision asked for, neither sentence-transformers nor torch is even imported."""
        options = options or EmbeddingOptions()
        runtime = RuntimeKind.of(runtime or options.runtime, "runtime")
        query_precision = Precision.of(query_precision or options.query_precision, "query_precision")
        if document_precision is not None:
            document_precision = Precision.of(document_precision, "document_precision")
        threads = options.threads if threads is None else threads
        model_dir = resolve_model_dir(model, home=options.home, maven_url=options.maven_url, threads=threads)
        fingerprint = model_fingerprint(model_dir, options.home)
        name = model_dir.name
        prov = model_dir / PROVENANCE_FILE
        if prov.is_file():
            with contextlib.suppress(OSError, ValueError):
                name = json.loads(prov.read_text(encoding="utf-8")).get("name") or name
        if max_chunks is not None and max_chunks < 0:
            raise InvalidInput(f"max_chunks must be at least 1, or 0 / None for all chunks; got {max_chunks}")
        max_chunks = max_chunks or None  # 0 is how the CLI and the index manifest say "all"
        if cache == "default":
            cache = default_cache_path(options.home)
        if cache is not None and not isinstance(cache, EmbeddingCache):
            cache = EmbeddingCache(cache)
        run = open_runtime(
            model_dir, fingerprint, runtime=runtime, device=device, threads=threads, batch_size=batch_size,
            query_precision=query_precision, document_precision=document_precision,
        )  # fmt: skip
        return cls(
            model_dir, name=name, fingerprint=fingerprint, runtime=run, cache=cache, max_chunks=max_chunks
        )

    # ------------------------------------------------------------------------------------ chunking
    def _count(self, text: str, add_special_tokens: bool = False) -> int:
        return len(self._token_offsets([text], add_special_tokens)[0].ids)

    def chunks(self, text: str, prompt: str | None = None) -> list[str]:
        """The chunks a text is embedded as (after ``max_chunks``): each fits the model's window."""
        prompt = self.passage_prompt if prompt is None else prompt
        return self._chunk_many([text], prompt)[0]

    def _token_offsets(self, texts: Sequence[str], add_special_tokens: bool = False) -> list:
        """Encodings of whole texts (no special tokens unless asked), for their offsets and ids.

        The Rust tokenizer is the one the model encodes with, and it keeps whatever truncation the
        last encode set (512 tokens), which would silently cut the offsets: it is switched off here,
        under the lock. The transformers wrapper sets what it needs on every call, so nothing is
        restored. (A private copy of the tokenizer would cost ~250 MB of memory.)"""
        with self._lock:
            self._backend_tok.no_truncation()
            self._backend_tok.no_padding()
            return self._backend_tok.encode_batch(list(texts), add_special_tokens=add_special_tokens)

    def _chunk_many(self, texts: Sequence[str], prompt: str) -> list[list[str]]:
        budget = self._budget[prompt]
        encs = self._token_offsets(texts)
        all_offsets = [e.offsets for e in encs]
        out = []
        for text, offsets in zip(texts, all_offsets, strict=True):
            if len(offsets) <= budget:
                out.append([text])
                continue
            starts = sorted(a for a, _ in offsets)
            spans = chunk_spans(starts, sentence_cuts(text), len(text), budget, self.max_chunks)
            parts = [text[a:b].strip() for a, b in spans]
            out.append([p for p in parts if p] or [text])
        return out

    # ----------------------------------------------------------------------------------- embedding
    def _encode(self, texts: Sequence[str], prompt: str, int8: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        onnx = self._int8 if int8 else self._onnx
        if onnx is not None:
            with self._lock:
                return onnx.encode([prompt + t for t in texts])
        import torch  # heavy: loaded already when the model runs on torch, the one way here

        with self._lock, torch.inference_mode():
            vecs = self._model.encode(
                list(texts),
                prompt=prompt,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)

    def _embed(self, texts: Sequence[str], prompt: str, use_cache: bool, progress: ProgressFn | None,
               group: int, query: bool) -> np.ndarray:  # fmt: skip
        if isinstance(texts, str):
            raise InvalidInput("embed_* takes a list of texts, not a single string")
        int8 = (self.query_precision if query else self.document_precision) == "int8"
        space = self.cache_name(int8)
        out = np.zeros((len(texts), self.dim), np.float32)
        cache = self.cache if use_cache else None
        for g0 in range(0, len(texts), group):
            part = [t if isinstance(t, str) else str(t) for t in texts[g0 : g0 + group]]
            if cache is None or query:
                out[g0 : g0 + len(part)] = self._embed_chunked(part, prompt, cache, int8)
            else:
                # Whole documents first: a hit needs neither chunking (tokenising the full text, ~2 ms
                # a judgment: most of a rebuild from the cache) nor a lookup per chunk
                wprompt = self.whole_prompt(prompt)
                wkeys = [EmbeddingCache.key(wprompt, t) for t in part]
                found = cache.get_many(space, wkeys, self.dim)
                todo = [j for j, k in enumerate(wkeys) if k not in found]
                if todo:
                    new = self._embed_chunked([part[j] for j in todo], prompt, cache, int8)
                    fresh = list(zip((wkeys[j] for j in todo), new, strict=True))
                    found.update(fresh)
                    cache.put_many(space, fresh)
                out[g0 : g0 + len(part)] = [found[k] for k in wkeys]
            if progress is not None:
                progress(len(part))
        return out

    def _embed_chunked(self, texts: list[str], prompt: str, cache: EmbeddingCache | None,
                       int8: bool) -> np.ndarray:  # fmt: skip
        """Each text's normalised mean of its chunk vectors; chunk vectors go through ``cache``."""
        chunked = self._chunk_many(texts, prompt)
        flat = [c for cs in chunked for c in cs]
        keys = [EmbeddingCache.key(prompt, c) for c in flat]
        space = self.cache_name(int8)
        vecs = cache.get_many(space, keys, self.dim) if cache is not None else {}
        todo = {k: c for k, c in zip(keys, flat, strict=True) if k not in vecs}
        if todo:
            # Longest first: batches of similar length waste less padding.
            order = sorted(todo, key=lambda k: -len(todo[k]))
            fresh = list(zip(order, self._encode([todo[k] for k in order], prompt, int8), strict=True))
            vecs.update(fresh)
            if cache is not None:
                cache.put_many(space, fresh)
        out = np.zeros((len(texts), self.dim), np.float32)
        i = 0
        for j, cs in enumerate(chunked):
            m = np.mean([vecs[k] for k in keys[i : i + len(cs)]], axis=0)
            out[j] = m / max(float(np.linalg.norm(m)), 1e-12)
            i += len(cs)
        return out

    @property
    def runtime(self) -> str:
        return "onnxruntime" if self._onnx or self._int8 else "torch"

    def require_documents(self) -> None:
        """ModelUnavailable, saying why, when documents cannot be embedded in the precision asked for."""
        if self.document_precision is None:
            raise ModelUnavailable(self.document_problem)

    def cache_name(self, int8: bool) -> str:
        """The name vectors are cached under: int8 vectors are not the float ones."""
        return f"{self.fingerprint}+int8" if int8 else self.fingerprint

    def whole_prompt(self, prompt: str) -> str:
        """What a whole document's cache key is made with instead of the chunk prompt: the chunk
        setting and rules, so a text embedded with another ``max_chunks`` is never taken for it."""
        return f"\x00whole:{CHUNKING_RULES}:{self.max_chunks or 0}\x00{prompt}"

    def embed_queries(self, texts: Sequence[str], use_cache: bool = False) -> np.ndarray:
        """(n, dim) vectors for query texts (the model's query prompt, e.g. ``query: ``); long
        queries are chunked like documents. Queries reach the cache only with ``use_cache=True``
        (evaluation re-running fixed queries): a service's user input is not kept on disk."""
        return self._embed(
            texts, self.query_prompt, use_cache=use_cache, progress=None, group=256, query=True
        )

    def embed_documents(self, texts: Sequence[str], progress: ProgressFn | None = None,
                        group: int = 64) -> np.ndarray:  # fmt: skip
        """(n, dim) vectors for documents (the passage prompt), each the normalised mean of its first
        ``max_chunks`` chunk vectors. ``progress(n_done)`` is called after every ``group`` documents
        with the number just finished, so ``tqdm(total=len(texts)).update`` can be passed as is.
        ModelUnavailable when documents cannot be embedded in the precision asked for at load."""
        self.require_documents()
        return self._embed(
            texts, self.passage_prompt, use_cache=True, progress=progress, group=group, query=False
        )

    @property
    def cache_hits(self) -> int:
        return self.cache.hits if self.cache is not None else 0

    @property
    def cache_misses(self) -> int:
        return self.cache.misses if self.cache is not None else 0

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.model_dir),
            "dim": self.dim,
            "fingerprint": self.fingerprint,
            "max_tokens": self.max_tokens,
            "max_chunks": self.max_chunks,
            "query_prompt": self.query_prompt,
            "passage_prompt": self.passage_prompt,
            "device": self.device,
            "runtime": self.runtime,
            "query_precision": self.query_precision,
            "document_precision": self.document_precision,
        }
