"""Exporting a sentence-transformers model for onnxruntime (``onnx_encoder`` runs the result): the
torch graph traced to ONNX, fused by onnxruntime's transformer optimiser, checked against torch, and
its int8 copy made and checked against the float export. Needs torch, onnx and onnxruntime, imported
only when an export is made.

The graph is traced with attention written out as plain operators (``eager``: the exporter turns
torch's fused SDPA kernel into a slow graph) so that the optimiser can fuse it. The int8 copy is
onnxruntime's dynamic quantisation with weights per channel.

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
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from leian.errors import ModelUnavailable
from leian.indexer.runtime.onnx_encoder import (
    EXPORT_VERSION,
    INT8_BATCH_SIZE,
    INT8_MODEL_FILE,
    META_FILE,
    MODEL_FILE,
    ONNX_DIR,
    OnnxEncoder,
    Pipeline,
    Settings,
    new_session,
    pipeline,
)

OPSET = 17
MIN_COSINE = 0.99999  # an export that strays further from torch on the probe texts is refused
# An int8 copy further from the float export than this on a probe text is not written (everything
# then runs in float32). LeCaRD's 87 dev queries: min 0.9967, and A/B/C NDCG@30 within 0.0015 of float.
MIN_INT8_COSINE = 0.99

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


def export(st: Any, model_dir: Path, fingerprint: str, *, threads: int = 1) -> dict:
    """Export ``st`` (loaded on CPU from ``model_dir``) to ``model_dir/onnx``; returns the metadata.

    Written to a hidden temporary folder in the model directory and renamed into place, so a loader
    never sees half an export; an export whose vectors stray from torch's on the probe texts is
    refused (ModelUnavailable). The int8 copy is written next to it when its vectors stay
    within ``MIN_INT8_COSINE`` of the float export's (``meta["int8"]`` is None otherwise)."""
    pipe = pipeline(st)
    try:
        # heavy and optional: only an export needs them
        import onnxruntime as ort
        import torch
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as e:
        raise ModelUnavailable(
            f"exporting a model needs torch and onnx, which are not installed ({e.name}); install them "
            "with `pip install 'leian[torch]'` (scripts/setup --torch)"
        ) from e
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
    # heavy: the quantiser and onnx's protobuf types, only when an export is made
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
        new_session(ort, path, threads), st.tokenizer.backend_tokenizer, Settings.of(st), pipe, batch_size
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
