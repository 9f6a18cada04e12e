"""The index directory: which generation is live, its manifest, and swapping a new one in.

A full build writes a new generation next to the live one and swaps ``CURRENT`` only when it is
complete, so a crash or Ctrl-C mid-build leaves the previous index fully usable.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from leian.errors import IndexCorrupt, IndexIncompatible, IndexMissing
from leian.retrieval.backends.base import IndexManifest
from leian.retrieval.backends.embedded.writer_lock import LOCK_FILE

# This backend's index format (Elasticsearch has its own, ELASTIC_FORMAT_VERSION): 2 facets stored
# per case, 3 a record's sections stored as offsets into its text
EMBEDDED_FORMAT_VERSION = 3

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
CASES = "cases.sqlite"
BM25 = "bm25.npz"
VOCAB = "vocab.json"
VECTORS = "vectors.faiss"


def current_generation(root: Path) -> Path:
    if not root.exists():
        raise IndexMissing(f"no index at {root}: build one with `leian index CORPUS --index {root}`")
    cur = root / CURRENT
    if not cur.is_file():
        raise IndexCorrupt(f"{root} is not a leian index (no CURRENT file); rebuild it with `leian index`")
    gen = root / cur.read_text().strip()
    if not gen.is_dir():
        raise IndexCorrupt(f"{root}: CURRENT names {gen.name}, which is missing; rebuild the index")
    return gen


def read_manifest(root: Path, gen: Path) -> IndexManifest:
    path = gen / MANIFEST
    try:
        manifest = IndexManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{gen}: manifest.json is missing; rebuild the index") from None
    except ValueError as e:
        raise IndexCorrupt(f"{path}: unreadable manifest ({str(e).splitlines()[0]}); rebuild") from None
    if manifest.format_version != EMBEDDED_FORMAT_VERSION:
        raise IndexIncompatible(
            f"{root} has index format {manifest.format_version}, this leian reads "
            f"{EMBEDDED_FORMAT_VERSION}; rebuild it with `leian index` (cached embeddings are reused)"
        )
    return manifest


def write_manifest(gen: Path, manifest: IndexManifest) -> None:
    (gen / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")


def generation_name() -> str:
    return "gen-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def left_by_a_build(name: str) -> bool:
    """The lock file, and what a build killed before its first swap leaves."""
    return name in (LOCK_FILE, "CURRENT.tmp") or (name.startswith("gen-") and name.endswith(".tmp"))


def make_current(root: Path, gen: Path) -> None:
    """Name ``gen`` in ``CURRENT``, atomically and durably."""
    cur_tmp = root / "CURRENT.tmp"
    cur_tmp.write_text(gen.name)
    with open(cur_tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(cur_tmp, root / CURRENT)
    fsync_dir(root)  # the renames themselves survive a power cut


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_files(gen: Path) -> None:
    for f in gen.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
