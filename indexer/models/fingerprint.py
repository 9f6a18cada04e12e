"""A model directory's fingerprint: what an index and the embedding cache record its vectors under."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from leian.errors import ModelUnavailable
from leian.indexer.models.home import DEFAULT_HOME, PROVENANCE_FILE
from leian.indexer.runtime.onnx_encoder import INT8_MODEL_FILE, ONNX_DIR, is_onnx_only, read_meta

# Weight files are hashed in full once; the digest is remembered per (path, size, mtime).
_HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".model", ".txt", ".pt", ".pth")
_FINGERPRINT_SKIP = {"README.md", PROVENANCE_FILE}


def file_digest(path: Path, memo: dict[str, Any]) -> str:
    """sha256 of the file, hex; ``memo`` keeps digests by (path, size, mtime)."""
    st = path.stat()
    where = f"{path.resolve()}|"
    key = f"{where}{st.st_size}|{st.st_mtime_ns}"
    if key in memo:
        return memo[key]
    for old in [k for k in memo if k.startswith(where)]:  # the file was rewritten
        del memo[old]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    memo[key] = h.hexdigest()
    return memo[key]


def model_fingerprint(model_dir: str | os.PathLike, home: Path = DEFAULT_HOME) -> str:
    """sha256 over the relative names and contents of the model's config, tokenizer and weight files;
    for a model that is its int8 ONNX graph alone (bge-small-zh), the graph's sha256.

    Two directories with the same files give the same fingerprint (so vectors built on a GPU box
    are reused here); any change to weights, tokenizer or pooling gives another. Full-file digests
    are memoised in ``home/fingerprints.json`` by (path, size, mtime) so loads stay fast.
    """
    root = Path(model_dir)
    memo_path = home / "fingerprints.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    before = dict(memo)
    if is_onnx_only(read_meta(root)):
        graph = root / ONNX_DIR / INT8_MODEL_FILE
        try:
            fingerprint = file_digest(graph, memo)
        except OSError as e:
            raise ModelUnavailable(f"cannot read the model's graph {graph}: {e.strerror or e}") from e
    else:
        fingerprint = _files_digest(root, memo)
    if memo != before:
        # files of a temporary build directory (build_model) or of a deleted model are gone
        memo = {k: v for k, v in memo.items() if os.path.exists(k.rsplit("|", 2)[0])}
        with contextlib.suppress(OSError):
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(memo, indent=0), encoding="utf-8")
            os.replace(tmp, memo_path)
    return fingerprint


def _files_digest(root: Path, memo: dict[str, Any]) -> str:
    h = hashlib.sha256()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in _HASHED_SUFFIXES
        and p.name not in _FINGERPRINT_SKIP
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        # an ONNX export computes the same vectors from these files (is_current checks that it
        # was made from them): indexes and cached vectors stay valid whichever runtime made them
        and p.relative_to(root).parts[0] != ONNX_DIR
    )
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + file_digest(p, memo).encode() + b"\n")
    return h.hexdigest()[:32]
