"""sentence-transformers models run by onnxruntime on CPU: the same vectors, about twice as fast.

Why: on the 2-core CPU, torch runs multilingual-e5-small at ~6 chunks of 512 tokens a second. The
same weights exported to ONNX, with attention written out as plain operators (``eager``: the exporter
turns torch's fused SDPA kernel into a slow graph) and then fused by onnxruntime's transformer
optimiser, run at ~14 (in batches of 2), and give the same vectors (cosine ≥ 0.99999 to torch's,
checked at export). Embedding is nearly all of a first index build, and most of a search.

The export has an int8 copy (``onnx/model.int8.onnx``: onnxruntime's dynamic quantisation, weights per
channel) that embeds LeCaRD's facts 1.5-2x faster on the 2-core CPU. Its vectors keep cosine ≥ 0.99 to
the float ones (checked at export; 0.997-0.998 on LeCaRD's queries and facts), so vectors of either
precision can be compared. Queries run on it (a search waits on its query's embedding), and so do the
documents of an index built with int8 vectors (``embed.Embedder``).

An export lives in the model directory: ``onnx/model.onnx`` and ``onnx/export.json``. The metadata
records what running the graph takes besides the model's ``tokenizer.json`` (``Settings``: dimension,
window, prompts, padding), so a loader needs neither sentence-transformers nor torch, and it names
the model fingerprint it was exported from, and a loader uses the export only when that matches
the directory's files, so a model whose weights change goes back to torch until it is exported again.
The export itself is left out of the fingerprint: it computes the same vectors, so indexes and cached
vectors stay valid whichever runtime made them.

Supported: a Transformer module (an encoder taking ``input_ids`` and ``attention_mask``: BERT, XLM-R
and kin) followed by mean or CLS pooling over every token, then optionally Normalize: the layout of
the default model and of most embedding models. Anything else stays on torch.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from leian.errors import ModelUnavailable

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
META_FILE = "export.json"
INT8_MODEL_FILE = "model.int8.onnx"
EXPORT_VERSION = 1  # bump when the exported graph changes: older exports are then ignored
OPSET = 17
MIN_COSINE = 0.99999  # an export that strays further from torch on the probe texts is refused
# An int8 copy further from the float export than this on a probe text is not written (everything
# then runs in float32). LeCaRD's 87 dev queries: min 0.9967, and A/B/C NDCG@30 within 0.0015 of float.
MIN_INT8_COSINE = 0.99
# Texts per run: small batches are faster on CPU (less padding, attention that stays in cache). 72
# chunks of LeCaRD facts, 2 threads, two rounds: 14.2-14.5 chunks/s in batches of 1 or 2, 13.7-14.0
# of 4, 12.7-13.1 of 16 (torch's default).
BATCH_SIZE = 2
# The int8 copy runs one text at a time: dynamic quantisation scales activations over the whole batch,
# so in a batch a chunk's int8 vector would depend on the texts batched with it (cosine 0.998 to itself
# alone), and a case re-embedded on its own would not get the vector of its build. Without padding to
# strip it is no slower either (LeCaRD facts: 13.8 chunks/s against 12.7 in pairs).
INT8_BATCH_SIZE = 1

# What an export is checked on: legal facts of several lengths (one past the 512-token window, so the
# truncation is compared too), padded together in one batch, and spaces at both ends of a text.
_PROBES = (
    "被告人张某于2019年3月12日在某市某区某超市内窃取价值人民币3200元的手机一部。",
    "  经审理查明：被告人李某醉酒后驾驶机动车在道路上行驶，经鉴定其血液中乙醇含量为186mg/100ml。 ",
    "公诉机关指控，被告人王某以非法占有为目的，虚构事实，骗取被害人钱款共计人民币十二万元，"
    "案发后退赔全部损失，取得被害人谅解，并如实供述自己的罪行。",
    "被告人赵某因琐事与被害人发生争执，持刀将被害人捅伤，经鉴定为轻伤二级。" * 30,
    "受贿",
)


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
        from tokenizers import Tokenizer

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
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        if self.pipeline.pooling == "cls":
            vecs = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vecs = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        if self.pipeline.normalize:
            vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs.astype(np.float32)


def current_meta(model_dir: Path, fingerprint: str) -> dict | None:
    """The metadata of the directory's export when this version made it from these files
    (``fingerprint``); None when there is none such, and the export is then not to be used."""
    meta = read_meta(model_dir)
    if not meta or meta.get("version") != EXPORT_VERSION or meta.get("fingerprint") != fingerprint:
        return None
    return meta


def open_session(model_dir: Path, meta: dict, threads: int, *, int8: bool = False):
    """An onnxruntime session on the directory's export (``int8``: its int8 copy), whose metadata
    :func:`current_meta` gave, or None when onnxruntime is not installed or the export cannot be read
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
        import onnxruntime as ort
    except ImportError:
        return None
    try:
        return _session(ort, path, threads)
    except Exception as e:  # onnxruntime raises its own types for a truncated or corrupt file
        logging.getLogger(__name__).warning(
            "cannot read the ONNX export %s (%s): embedding %s; `leian model onnx` exports it again",
            path, str(e).splitlines()[0] if str(e) else type(e).__name__,
            "in float32" if int8 else "on torch",
        )  # fmt: skip
        return None


def _session(ort: Any, path: Path, threads: int):
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


# ------------------------------------------------------------------------------------------- export
def export(st: Any, model_dir: Path, fingerprint: str, *, threads: int = 1) -> dict:
    """Export ``st`` (loaded on CPU from ``model_dir``) to ``model_dir/onnx``; returns the metadata.

    Written to a hidden temporary folder in the model directory and renamed into place, so a loader
    never sees half an export; an export whose vectors stray from torch's on the probe texts is
    refused (ModelUnavailable). The int8 copy is written next to it when its vectors stay
    within ``MIN_INT8_COSINE`` of the float export's (``meta["int8"]`` is None otherwise)."""
    pipe = pipeline(st)
    try:
        import onnxruntime as ort
        import torch
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as e:
        raise ModelUnavailable(f"cannot export to ONNX: {e} (install onnx and onnxruntime)") from e
    hf = st[0].auto_model
    cfg = hf.config
    target = model_dir / ONNX_DIR
    tmp = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.exporting-", dir=model_dir))
    try:
        raw = tmp / "raw.onnx"
        try:
            _torch_export(torch, hf, st.tokenizer, raw)
            with _quiet_onnx_tools():
                opt = optimize_model(
                    str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                    hidden_size=cfg.hidden_size, opt_level=1,
                )  # fmt: skip
                fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
                opt.save_model_to_file(str(tmp / MODEL_FILE))
        except Exception as e:  # the exporter and the optimiser fail in many ways on unusual models
            raise ModelUnavailable(f"cannot export {model_dir} to ONNX: {type(e).__name__}: {e}") from e
        raw.unlink()
        with torch.inference_mode():
            ref = st.encode(list(_PROBES), batch_size=16, convert_to_numpy=True, show_progress_bar=False)
        got = _probe_vectors(ort, tmp / MODEL_FILE, st, pipe, threads, 16)
        cos = _min_cosine(ref, got)
        if cos < MIN_COSINE:
            raise ModelUnavailable(
                f"the ONNX export of {model_dir} disagrees with torch (cosine {cos:.6f} on a "
                f"probe text, below {MIN_COSINE}); it is not used"
            )
        int8 = _quantise(ort, tmp, st, pipe, threads, got)
        meta = {
            "version": EXPORT_VERSION,
            "fingerprint": fingerprint,
            "opset": OPSET,
            "pooling": pipe.pooling,
            "normalize": pipe.normalize,
            "settings": Settings.of(st)._asdict(),
            "fused_operators": fused,
            "probe_min_cosine": round(cos, 8),
            "int8": int8,
            "torch": torch.__version__,
            "sentence_transformers": _version("sentence-transformers"),
            "onnxruntime": ort.__version__,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        for p in (tmp, *tmp.iterdir()):
            p.chmod(0o755 if p.is_dir() else 0o644)
        old = None
        if target.exists():
            old = model_dir / f".{ONNX_DIR}.old-{tmp.name.rsplit('-', 1)[-1]}"
            target.replace(old)
        tmp.replace(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return meta
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _quantise(ort: Any, folder: Path, st: Any, pipe: Pipeline, threads: int, ref: np.ndarray) -> dict | None:
    """Write ``folder``'s int8 copy of its float export and check it on the probe texts against the
    float vectors ``ref``; its metadata, or None (and no file) when it cannot be made or strays too
    far: the float export stands either way."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = folder / MODEL_FILE, folder / INT8_MODEL_FILE
    log = logging.getLogger(__name__)
    try:
        with _quiet_onnx_tools():
            quantize_dynamic(
                src, dst, weight_type=QuantType.QInt8, per_channel=True,
                # the optimiser's fused operators (Attention, SkipLayerNormalization) carry no type
                # information the quantiser can infer: their outputs are float32
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )  # fmt: skip
        # checked as it runs: one text at a time
        cos = _min_cosine(ref, _probe_vectors(ort, dst, st, pipe, threads, INT8_BATCH_SIZE))
    except Exception as e:  # the quantiser fails in many ways on unusual graphs
        log.warning("cannot make an int8 copy of the ONNX export (%s: %s): everything is embedded in float32",
                    type(e).__name__, e)  # fmt: skip
        dst.unlink(missing_ok=True)
        return None
    if cos < MIN_INT8_COSINE:
        log.warning(
            "the int8 copy of the ONNX export strays from it (cosine %.4f on a probe text, below %s): "
            "everything is embedded in float32", cos, MIN_INT8_COSINE,
        )  # fmt: skip
        dst.unlink()
        return None
    return {"probe_min_cosine": round(cos, 6)}


def _probe_vectors(
    ort: Any, path: Path, st: Any, pipe: Pipeline, threads: int, batch_size: int
) -> np.ndarray:
    """The probe texts' vectors as the graph at ``path`` computes them, ``batch_size`` texts a run."""
    enc = OnnxEncoder(
        _session(ort, path, threads), st.tokenizer.backend_tokenizer, Settings.of(st), pipe, batch_size
    )
    return enc.encode(list(_PROBES))


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest cosine between the rows of ``a`` and ``b``, row for row."""
    return float(((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min())


def _torch_export(torch: Any, hf: Any, tokenizer: Any, path: Path) -> None:
    was = getattr(hf.config, "_attn_implementation", None)
    _set_attention(hf, "eager")  # plain operators: the optimiser fuses those, not what SDPA exports to
    try:
        _trace(torch, hf, tokenizer, path)
    finally:
        if was:
            _set_attention(hf, was)


def _set_attention(hf: Any, impl: str) -> None:
    if hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation(impl)
    else:
        hf.config._attn_implementation = impl


def _trace(torch: Any, hf: Any, tokenizer: Any, path: Path) -> None:

    class _Hidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    dummy = tokenizer(["被告人 probe"], return_tensors="pt")
    kwargs: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: no onnxscript needed, dynamic axes as named
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings about transformers' code
        torch.onnx.export(
            _Hidden(hf.eval()),
            (dummy["input_ids"], dummy["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            **kwargs,
        )


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


@contextlib.contextmanager
def _quiet_onnx_tools():
    """onnxruntime's optimiser logs every fusion pass at INFO/WARNING on its own loggers, and its
    quantiser advises pre-processing on the root logger."""
    names = ("onnxruntime.transformers", "fusion", "onnx_model", "onnx_model_bert")
    loggers = [logging.getLogger(n) for n in names]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    root = logging.getLogger()
    advice = _FromPackage("onnxruntime")
    root.addFilter(advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(advice)
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)


class _FromPackage(logging.Filter):
    """Drops records below ERROR logged from code inside ``package``."""

    def __init__(self, package: str):
        super().__init__()
        self._part = f"{os.sep}{package}{os.sep}"

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or self._part not in record.pathname
