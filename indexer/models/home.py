"""Where leian keeps its models and caches, and the file that says where a model came from."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Written into every model directory leian makes (name, source, build version); not part of the
# model's fingerprint
PROVENANCE_FILE = "leian_model.json"

# where built models and the embedding cache live unless the caller names another home (the CLI and
# the service take it from LEIAN_HOME)
DEFAULT_HOME = Path.home() / ".cache" / "leian"


def models_root(home: Path = DEFAULT_HOME) -> Path:
    return home / "models"


def make_directory(
    out: Path, write: Callable[[Path], None], is_complete: Callable[[Path], bool], force: bool
) -> Path:
    """``write`` a model directory into a temporary sibling and rename it to ``out``, so a crash or a
    concurrent maker never leaves a half-written model where a loader would find it. When another
    process finished ``out`` first, theirs is kept (unless ``force``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.making-", dir=out.parent))
    try:
        write(tmp)
        # mkdtemp makes the folder private (0700) and safetensors writes 0600: a model is readable data
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out.exists():
            if not force and is_complete(out):
                shutil.rmtree(tmp)
                return out
            old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, out)
            except OSError:  # lost a race to another process that made `out` meanwhile
                if not is_complete(out):
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
