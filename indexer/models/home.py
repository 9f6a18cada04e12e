"""Where leian keeps its models and caches, and the file that says where a model came from."""

from __future__ import annotations

from pathlib import Path

# Written into every model directory leian makes (name, source, build version); not part of the
# model's fingerprint
PROVENANCE_FILE = "leian_model.json"

# where built models and the embedding cache live unless the caller names another home (the CLI and
# the service take it from LEIAN_HOME)
DEFAULT_HOME = Path.home() / ".cache" / "leian"


def models_root(home: Path = DEFAULT_HOME) -> Path:
    return home / "models"
