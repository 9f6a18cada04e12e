"""Where a model runs and on how many CPU threads: shared by the torch and onnxruntime runtimes."""

from __future__ import annotations

import os
import sys

from leian import usable_cores


def torch_threads(requested: int | None = None) -> int:
    """CPU threads for the model (torch's, or onnxruntime's intra-op pool): ``requested`` (the CLI and
    the service take it from LEIAN_TORCH_THREADS), else every core this process may use (never more).
    Measured with torch:

    Every core for serving and for indexing alike. A query is embedded one at a time: on the idle
    2-core box a one-chunk query took p50 87 / p95 154 ms with two threads against 144 / 276 ms with
    one. An index build embeds ~2 judgments/s while its jieba workers do ~400/s, so they sit idle on
    a bounded queue nearly all the time: two threads embedded 48 uncached judgments 1.7x faster
    than one (29.5 against 47.7 s), and a build from the cache (no embedding) took the same time.
    On a machine shared with other busy processes, OpenMP threads spin while their partner is
    descheduled (two threads took 0.8-2.3 s for a short query at load ~8, one took 130 ms): set
    LEIAN_TORCH_THREADS=1 there."""
    cores = usable_cores()
    return max(1, min(int(cores if requested is None else requested), cores))


def default_device() -> str:
    """cuda when torch finds a GPU, else cpu. On Linux CUDA needs the NVIDIA driver, which shows in
    /proc: without it the answer is known without importing torch (~2-5 s), and without torch at all."""
    if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
        return "cpu"
    try:
        import torch  # heavy and optional: only where the NVIDIA driver is
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
