"""leian 类案 — similar-case retrieval for Chinese criminal judgments.

The code lives in four layers, imported as ``leian.corpora → leian.indexer → leian.retrieval → leian.api``;
data flows one way and nothing imports upwards.
"""

__version__ = "0.2.0"
PRODUCT = "leian 类案"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's count), at least one."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
