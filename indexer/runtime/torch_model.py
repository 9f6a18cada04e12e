"""A sentence-transformers model directory loaded on torch: offline, quietly, on the threads asked for.

torch and sentence-transformers are imported only inside these functions: a model that runs from its
ONNX export never needs them (their import took ~6 s of every CLI search's start)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from leian.errors import ModelUnavailable
from leian.indexer.runtime.device import torch_threads


@contextlib.contextmanager
def offline() -> Iterator[None]:
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
def quiet_transformers() -> Iterator[None]:
    """No "Loading weights" progress bar on stderr during a load (it would garble CLI output)."""
    try:
        from transformers.utils import logging as hf_logging  # heavy: only when torch loads a model

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


def load_sentence_transformer(model_dir: Path, device: str, threads: int | None) -> Any:
    """The directory's SentenceTransformer on ``device``, in eval mode."""
    with offline():
        try:
            # heavy and optional: an ONNX export runs without them
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelUnavailable(
                f"this model runs on torch, which is not installed ({e.name}); install it with "
                "`pip install 'leian[torch]'` (scripts/setup --torch)"
            ) from e
        torch.set_num_threads(torch_threads(threads))
        try:
            with quiet_transformers():
                st = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        except Exception as e:  # a broken directory surfaces as many exception types
            raise ModelUnavailable(f"cannot load embedding model from {model_dir}: {e}") from e
    return st.eval()
