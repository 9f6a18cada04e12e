"""Sentence vectors on onnxruntime from a model directory's ONNX export: sessions, the export's
recorded settings, tokenising and pooling. Needs onnxruntime (imported when a session is opened) and
tokenizers only; making an export is ``onnx_export``'s, which needs torch.

Why: on the 2-core CPU, torch runs multilingual-e5-small at ~6 chunks of 512 tokens a second; its
ONNX export runs at ~14 (in batches of 2) and gives the same vectors (cosine ≥ 0.99999 to torch's,
checked at export). Embedding is nearly all of a first index build, and most of a search. The
export's int8 copy (``onnx/model.int8.onnx``) embeds LeCaRD's facts 1.5-2x faster still, with
vectors within cosine 0.99 of the float ones (0.997-0.998 on LeCaRD's queries and facts), so vectors
of either precision can be compared.

An export lives in the model directory: ``onnx/model.onnx``, ``onnx/model.int8.onnx`` and
``onnx/export.json``. The metadata records what running the graph takes besides the model's
``tokenizer.json`` (``Settings``: dimension, window, prompts, padding; the pooling), so a loader
needs neither sentence-transformers nor torch, and it names the model fingerprint it was made from:
a loader uses the export only when that matches the directory's files, so a model whose weights
change goes back to torch until it is exported again. A model that is nothing but an int8 graph
(``onnx_only``: bge-small-zh, fetched as such) has no float graph and no torch weights.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tokenizers import Tokenizer

from leian.errors import ModelUnavailable

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
META_FILE = "export.json"
INT8_MODEL_FILE = "model.int8.onnx"
EXPORT_VERSION = 1  # bump when the exported graph changes: older exports are then ignored
# Texts per run: small batches are faster on CPU (less padding, attention that stays in cache). 72
# chunks of LeCaRD facts, 2 threads, two rounds: 14.2-14.5 chunks/s in batches of 1 or 2, 13.7-14.0
# of 4, 12.7-13.1 of 16 (torch's default).
BATCH_SIZE = 2
# The int8 copy runs one text at a time: dynamic quantisation scales activations over the whole batch,
# so in a batch a chunk's int8 vector would depend on the texts batched with it (cosine 0.998 to itself
# alone), and a case re-embedded on its own would not get the vector of its build. Without padding to
# strip it is no slower either (LeCaRD facts: 13.8 chunks/s against 12.7 in pairs).
INT8_BATCH_SIZE = 1


class Pipeline(NamedTuple):
    pooling: str  # "mean" or "cls"
    normalize: bool


def pipeline(st: Any) -> Pipeline:
    """How ``st`` turns token vectors into a sentence vector, or ModelUnavailable when an export could
    not reproduce it (other modules, other pooling, pooling that leaves the prompt out)."""
    mods = list(st)
    kinds = [type(m).__name__ for m in mods]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ModelUnavailable(
            f"cannot run on onnxruntime: modules {kinds} (supported: Transformer, Pooling, Normalize)"
        )
    pool = mods[1]
    mode = getattr(pool, "pooling_mode", None)
    if mode is None and hasattr(pool, "get_pooling_mode_str"):
        mode = pool.get_pooling_mode_str()
    mode = mode if isinstance(mode, str) else "/".join(mode or ())
    if mode not in ("mean", "cls"):
        raise ModelUnavailable(f"cannot run on onnxruntime: {mode!r} pooling (supported: mean, cls)")
    if not getattr(pool, "include_prompt", True):
        raise ModelUnavailable("cannot run on onnxruntime: pooling that leaves the prompt out")
    return Pipeline(mode, len(mods) == 3)


def read_meta(model_dir: Path) -> dict | None:
    try:
        meta = json.loads((model_dir / ONNX_DIR / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_onnx_only(meta: dict | None) -> bool:
    """True for a model that is its int8 graph alone: no torch weights, no float graph."""
    return bool(meta and meta.get("onnx_only"))


class Settings(NamedTuple):
    """What running an export needs besides its graph and ``tokenizer.json``: read off the
    sentence-transformers model when it is exported (``meta["settings"]``), so that a loader with an
    export needs neither sentence-transformers nor torch (their import and the torch weights took ~6 s
    of every CLI search's start)."""

    dim: int
    max_seq_length: int
    prompts: dict[str, str]
    pad_id: int
    pad_token: str
    padding_side: str  # "right" or "left"
    truncation_side: str

    @classmethod
    def of(cls, st: Any) -> Settings:
        get_dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        tok = st.tokenizer
        return cls(
            int(get_dim()), int(st.max_seq_length), dict(getattr(st, "prompts", None) or {}),
            int(tok.pad_token_id if tok.pad_token_id is not None else 0), str(tok.pad_token or ""),
            str(getattr(tok, "padding_side", "right")), str(getattr(tok, "truncation_side", "right")),
        )  # fmt: skip

    @classmethod
    def read(cls, meta: dict | None) -> Settings | None:
        """The settings an export recorded; None for an export made before they were recorded."""
        try:
            return cls(**meta["settings"])  # type: ignore[index]
        except (KeyError, TypeError):
            return None


def load_tokenizer(model_dir: Path) -> Any | None:
    """The model's fast tokenizer (``tokenizer.json``) as the ``tokenizers`` library loads it, or None
    when the directory has none (a transformers wrapper is not needed: ``OnnxEncoder`` and chunking
    set truncation and padding themselves)."""
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # a truncated or foreign file surfaces as tokenizers' own exception
        raise ModelUnavailable(f"cannot read {path}: {e}") from e


class OnnxEncoder:
    """Texts → float32 sentence vectors, as ``SentenceTransformer.encode`` computes them.

    ``tokenizer`` is the model's ``tokenizers.Tokenizer`` (what the transformers wrapper runs): it
    is set to pad and truncate as that wrapper does on every call, since the embedder also uses it
    without truncation to chunk (the embedder's lock keeps the two apart)."""

    def __init__(self, session: Any, tokenizer: Any, settings: Settings, pipe: Pipeline, batch_size: int):
        self._session = session
        self._tok = tokenizer
        self.settings = settings
        self.max_length = settings.max_seq_length
        self.pipeline = pipe
        self.batch_size = batch_size
        # BERT graphs also take the segment ids (all 0 for one text); XLM-R's exports do not
        self._token_types = "token_type_ids" in {i.name for i in session.get_inputs()}

    @classmethod
    def of(cls, session: Any, st: Any, batch_size: int) -> OnnxEncoder | None:
        """``session`` (see :func:`open_session`) computing ``st``'s vectors, or None when ``st``'s
        modules are ones an export cannot reproduce."""
        try:
            pipe = pipeline(st)
        except ModelUnavailable:
            return None
        return cls(session, st.tokenizer.backend_tokenizer, Settings.of(st), pipe, batch_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # longest first, as sentence-transformers does: batches of similar length waste less padding
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        bs = self.batch_size
        stacked = np.concatenate(
            [self._batch([texts[i] for i in order[k : k + bs]]) for k in range(0, len(order), bs)]
        )
        out = np.empty_like(stacked)
        out[order] = stacked
        return out

    def tokenise(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(input ids, attention mask) as sentence-transformers >= 5 tokenises: the transformers
        wrapper with padding=True, truncation="longest_first" to max_seq_length (3.x stripped each
        text first; the probe texts of the export check include spaces at both ends, so a mismatch
        is refused there)."""
        st = self.settings
        self._tok.enable_truncation(self.max_length, strategy="longest_first", direction=st.truncation_side)
        self._tok.enable_padding(direction=st.padding_side, pad_id=st.pad_id, pad_token=st.pad_token)
        encs = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        return ids, np.array([e.attention_mask for e in encs], dtype=np.int64)

    def _batch(self, texts: list[str]) -> np.ndarray:
        ids, mask = self.tokenise(texts)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._token_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session.run(None, feed)
        if self.pipeline.pooling == "cls":
            vecs = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vecs = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        if self.pipeline.normalize:
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs.astype(np.float32)


def is_current(meta: dict | None, fingerprint: str) -> bool:
    """True when the export of ``meta`` (see :func:`read_meta`) was made by this version from the
    files of ``fingerprint``; an export that is not is not to be used."""
    return bool(meta) and meta.get("version") == EXPORT_VERSION and meta.get("fingerprint") == fingerprint


def open_session(model_dir: Path, meta: dict, threads: int, *, int8: bool = False):
    """An onnxruntime session on the directory's export (``int8``: its int8 copy), whose metadata
    :func:`is_current` approved, or None when onnxruntime is not installed or the export cannot be read
    (logged: searches and builds go on, in float32 or on torch)."""
    if int8 and not meta.get("int8"):
        if "int8" not in meta:  # exported before int8 copies existed (None: the copy strayed too far)
            logging.getLogger(__name__).warning(
                "the ONNX export in %s has no int8 copy: queries and new indexes are embedded in float32; "
                "`leian model onnx` adds one (1.5-2x faster on CPU)", model_dir,
            )  # fmt: skip
        return None
    path = model_dir / ONNX_DIR / (INT8_MODEL_FILE if int8 else MODEL_FILE)
    if not path.is_file():
        return None
    try:
        import onnxruntime as ort  # optional: without it everything runs on torch
    except ImportError:
        return None
    try:
        return new_session(ort, path, threads)
    except Exception as e:  # onnxruntime raises its own types for a truncated or corrupt file
        logging.getLogger(__name__).warning(
            "cannot read the ONNX export %s (%s): embedding %s; `leian model onnx` exports it again",
            path, str(e).splitlines()[0] if str(e) else type(e).__name__,
            "in float32" if int8 else "on torch",
        )  # fmt: skip
        return None


def new_session(ort: Any, path: Path, threads: int):
    """An onnxruntime CPU session on the graph at ``path`` (``ort``: the imported onnxruntime)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: no warnings about unused initialisers on stderr
    # Idle threads sleep instead of spinning: a search runs BM25 on the other core while the query
    # is embedded, and a build's jieba workers share the cores too. LeCaRD dev searches, one client,
    # alternated runs: p50 61-64 against 65-67 ms on the idle box with 20% less CPU, and 89-94 against
    # 130-149 ms while another job ran.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
