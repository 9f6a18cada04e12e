"""Export a sentence-transformers model directory for onnxruntime: the model loaded on torch, its
fingerprint taken, and ``runtime.onnx_export`` run on it."""

from __future__ import annotations

from pathlib import Path

from leian.errors import ModelUnavailable
from leian.indexer.models.fingerprint import model_fingerprint
from leian.indexer.models.home import DEFAULT_HOME
from leian.indexer.runtime.device import torch_threads
from leian.indexer.runtime.onnx_encoder import is_onnx_only, read_meta
from leian.indexer.runtime.onnx_export import export
from leian.indexer.runtime.torch_model import load_sentence_transformer


def export_onnx(model_dir: Path, threads: int | None = None, home: Path = DEFAULT_HOME) -> dict:
    """Export the model in ``model_dir`` to its ``onnx/`` (see ``runtime.onnx_export``) on ``threads``
    (None: every core); returns the export's metadata. ModelUnavailable when it cannot be exported.
    ``home`` keeps the fingerprints' memo."""
    if is_onnx_only(read_meta(model_dir)):
        raise ModelUnavailable(
            f"{model_dir} holds an int8 ONNX graph and no torch weights: it runs on onnxruntime as it "
            "is, and there is nothing to export"
        )
    st = load_sentence_transformer(model_dir, "cpu", threads)
    return export(st, model_dir, model_fingerprint(model_dir, home), threads=torch_threads(threads))
