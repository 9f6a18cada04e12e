"""Running an embedding model: on onnxruntime from its ONNX export (``onnx_encoder``; making that
export is ``onnx_export``'s) or on torch through sentence-transformers (``torch_model``), on the
device and threads of ``device``. Nothing here imports torch, transformers or onnx at import time."""

from leian.indexer.runtime.device import default_device, torch_threads
from leian.indexer.runtime.onnx_encoder import (
    BATCH_SIZE,
    EXPORT_VERSION,
    INT8_BATCH_SIZE,
    INT8_MODEL_FILE,
    META_FILE,
    MODEL_FILE,
    ONNX_DIR,
    OnnxEncoder,
    Pipeline,
    Settings,
    is_current,
    is_onnx_only,
    load_tokenizer,
    open_session,
    pipeline,
    read_meta,
)
from leian.indexer.runtime.onnx_export import MIN_COSINE, MIN_INT8_COSINE, export
from leian.indexer.runtime.torch_model import load_sentence_transformer

__all__ = [
    "BATCH_SIZE",
    "EXPORT_VERSION",
    "INT8_BATCH_SIZE",
    "INT8_MODEL_FILE",
    "META_FILE",
    "MIN_COSINE",
    "MIN_INT8_COSINE",
    "MODEL_FILE",
    "ONNX_DIR",
    "OnnxEncoder",
    "Pipeline",
    "Settings",
    "default_device",
    "export",
    "is_current",
    "is_onnx_only",
    "load_sentence_transformer",
    "load_tokenizer",
    "open_session",
    "pipeline",
    "read_meta",
    "torch_threads",
]
