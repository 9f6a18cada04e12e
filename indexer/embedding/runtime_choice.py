"""Which runtime embeds, in which precisions: onnxruntime on CPU when the model directory has an ONNX
export of its current files (the same vectors, about twice as fast), otherwise, and on GPUs, torch.
The options' ``runtime`` (auto, onnx, torch) overrides the choice. On onnxruntime, the export's int8
copy (1.5-2x faster on CPU; cosine ≥ 0.99 to the float vectors) embeds queries unless the query
precision asked for is float32, and documents when the index asks for int8 vectors (its
manifest's ``embed_precision``: a new index's default when the copy exists).

torch is imported only when something cannot run on the export: the export records what running it
takes, and the tokenizer runs from ``tokenizer.json`` through ``tokenizers``, so such a load reads
neither sentence-transformers nor the torch weights (~1 s against ~8 s on 2 cores). A model that is
its int8 graph alone (``onnx_only``) runs on onnxruntime on the CPU, in int8, or not at all.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple

from leian.errors import ModelUnavailable
from leian.indexer.embedding.options import Precision, RuntimeKind
from leian.indexer.runtime.device import default_device, torch_threads
from leian.indexer.runtime.onnx_encoder import (
    BATCH_SIZE,
    INT8_BATCH_SIZE,
    META_FILE,
    OnnxEncoder,
    Pipeline,
    Settings,
    is_current,
    is_onnx_only,
    load_tokenizer,
    open_session,
    read_meta,
)
from leian.indexer.runtime.torch_model import load_sentence_transformer

log = logging.getLogger(__name__)


class Runtime(NamedTuple):
    """How a loaded model embeds: what ``open_runtime`` chose and opened."""

    settings: Settings
    tokenizer: Any  # the model's ``tokenizers.Tokenizer``: chunking and the ONNX encoders use it
    device: str
    batch_size: int
    st: Any  # the SentenceTransformer, when torch had to be loaded
    onnx: OnnxEncoder | None  # the float export
    int8: OnnxEncoder | None  # its int8 copy
    query_precision: str
    document_precision: str | None  # None: documents cannot be embedded as asked (``document_problem``)
    document_problem: str


def open_runtime(
    model_dir: Path,
    fingerprint: str,
    *,
    runtime: RuntimeKind,
    device: str | None,
    threads: int | None,
    batch_size: int | None,
    query_precision: Precision,
    document_precision: Precision | None,
) -> Runtime:
    """Open what embedding ``model_dir`` takes (``runtime``, ``query_precision`` and
    ``document_precision`` already checked; see ``Embedder.load``). Only the sessions these need are
    opened: an int8 copy alone saves ~0.5 GB."""
    # the export's metadata, read once
    meta = read_meta(model_dir)
    onnx_only = is_onnx_only(meta)
    if onnx_only:
        _check_onnx_only(model_dir, runtime, device, query_precision, document_precision)
        if not is_current(meta, fingerprint):
            raise ModelUnavailable(
                f"the int8 graph in {model_dir} is not the one its {META_FILE} was written for (another "
                "sha256): delete the directory and load the model again"
            )
        device = "cpu"
    device = device or default_device()
    # None unless the export serves this device from these files
    if runtime == "torch" or device != "cpu" or not is_current(meta, fingerprint):
        meta = None
    session = int8_session = None
    if meta is not None:
        if "int8" in (query_precision, document_precision or "int8"):
            int8_session = open_session(model_dir, meta, torch_threads(threads), int8=True)
        if int8_session is None or "float32" in (query_precision, document_precision):
            session = open_session(model_dir, meta, torch_threads(threads))
    if onnx_only and int8_session is None:
        raise ModelUnavailable(
            f"the int8 graph in {model_dir} cannot be run (onnxruntime missing, or the file unreadable: "
            "the warning above says which)"
        )
    # sentence-transformers (and torch) only for what the export cannot serve: float32 without
    # the float export, another device, or an export that did not record its settings
    settings = Settings.read(meta)
    if (session or int8_session) and settings is None:
        log.warning(
            "the ONNX export in %s was made before exports recorded their settings: the model loads "
            "through sentence-transformers and torch (~8 s); `leian model onnx --model %s` exports it "
            "again (the same vectors), and it then loads in ~1 s", model_dir, model_dir,
        )  # fmt: skip
    floats = int8_session is None or "float32" in (query_precision, document_precision)
    st = None
    if settings is None or (floats and session is None) or device != "cpu":
        st = load_sentence_transformer(model_dir, device, threads)
        device, settings = str(st.device), Settings.of(st)
    pipe = Pipeline(meta["pooling"], meta["normalize"]) if meta and st is None else None
    tokenizer = st.tokenizer.backend_tokenizer if st is not None else load_tokenizer(model_dir)
    if tokenizer is None:
        raise ModelUnavailable(
            f"{model_dir}: the model has no fast (tokenizer.json) tokenizer, which chunking needs for "
            "token offsets; save the model with a fast tokenizer"
        )

    def encoder(sess, size: int) -> OnnxEncoder | None:
        if sess is None:
            return None
        if st is not None:
            return OnnxEncoder.of(sess, st, size)
        return OnnxEncoder(sess, tokenizer, settings, pipe, size)

    onnx = encoder(session, batch_size or BATCH_SIZE)
    int8 = encoder(int8_session, INT8_BATCH_SIZE)
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
    return Runtime(
        settings, tokenizer, device, batch_size, st, onnx, int8, query_precision, documents, problem
    )


def _check_onnx_only(
    model_dir: Path,
    runtime: RuntimeKind,
    device: str | None,
    query_precision: Precision,
    document_precision: Precision | None,
) -> None:
    """ModelUnavailable, naming the fix, for what a model that is its int8 graph alone cannot do."""
    what = f"{model_dir} holds an int8 ONNX graph and no torch weights"
    if runtime == "torch":
        raise ModelUnavailable(
            f"{what}: it runs on onnxruntime only; set LEIAN_EMBED_RUNTIME to auto or onnx"
        )
    if device not in (None, "cpu"):
        raise ModelUnavailable(f"{what}: it runs on the CPU only, not on {device}")
    asked = [
        p for p, v in (("queries", query_precision), ("documents", document_precision)) if v == "float32"
    ]
    if asked:
        raise ModelUnavailable(
            f"{what}: float32 vectors cannot be made (asked for {' and '.join(asked)}); use int8 "
            "(unset LEIAN_QUERY_PRECISION, or --embed-precision int8)"
        )
