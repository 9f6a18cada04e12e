"""How this installation embeds: where models and caches live, which runtime, the queries' precision,
CPU threads and where a model is fetched from. The CLI and the service fill it from their settings
(LEIAN_HOME, LEIAN_EMBED_RUNTIME, LEIAN_QUERY_PRECISION, LEIAN_TORCH_THREADS, LEIAN_MAVEN_URL);
the defaults are what a bare ``Embedder.load`` does.

A plain dataclass, not a pydantic model: the GPU box of ``scripts/embed_corpus.py --embed-export``
loads the embedder without pydantic. The settings (pydantic) validate it all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from leian.errors import InvalidInput
from leian.indexer.models.bge_zh import MAVEN_CENTRAL
from leian.indexer.models.home import DEFAULT_HOME


class _Choice(StrEnum):
    @classmethod
    def _missing_(cls, value):  # " ONNX" is onnx, as the variables were always read
        return cls.__members__.get(value.strip().lower()) if isinstance(value, str) else None

    @classmethod
    def of(cls, value, param: str):
        """``value`` as a member; InvalidInput naming ``param`` and the valid values."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"{param} must be one of {', '.join(cls)}; got {value!r}") from None


class RuntimeKind(_Choice):
    """What runs the model: onnxruntime when the model has a current export and torch otherwise
    (auto), the export or an error (onnx), or torch."""

    auto = "auto"
    onnx = "onnx"
    torch = "torch"


class Precision(_Choice):
    """Of the vectors: the export's int8 copy (1.5-2x faster on CPU), or float32."""

    int8 = "int8"
    float32 = "float32"


@dataclass(frozen=True)
class EmbeddingOptions:
    __pydantic_config__: ClassVar[dict] = {"extra": "forbid"}  # a typo in the settings is an error

    home: Path = DEFAULT_HOME  # built models, the embedding cache, the fingerprints' memo
    runtime: RuntimeKind = RuntimeKind.auto
    # queries on the int8 copy when the model has one; float32 for queries like the float vectors
    query_precision: Precision = Precision.int8
    threads: int | None = None  # None: every core this process may use
    maven_url: str = MAVEN_CENTRAL  # where bge-small-zh is fetched from (a mirror, or Maven Central)

    def __post_init__(self):
        put = object.__setattr__  # frozen: the checked values replace the given ones once, here
        put(self, "home", Path(self.home).expanduser())
        put(self, "runtime", RuntimeKind.of(self.runtime, "runtime"))
        put(self, "query_precision", Precision.of(self.query_precision, "query_precision"))
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise InvalidInput(
                f"threads (LEIAN_TORCH_THREADS) must be a positive integer, got {self.threads!r}"
            )


__all__ = ["EmbeddingOptions", "Precision", "RuntimeKind"]
