"""Hybrid ranking over any backend, in one pass: candidates (exclusions out first), fusion,
charges, the structure rerank, explained hits, and the pool the sentencing statistics use.

score = w_bm25·z(bm25) + w_dense·z(dense)   (``fusion``; z over a fixed pool per query)
      + structure                            (``structure``: shared charges, statutes, circumstances, amount)

z-scores use the mean and spread of a fixed pool per query (the top ``candidates`` of each list),
whatever the depth ranked or the candidate list re-ranked, so a case gets the same score under every
evaluation protocol. Ties are broken by case id.
"""

from leian.retrieval.search.config import SearchConfig
from leian.retrieval.search.opening import (
    CHARGE_MODEL_ARTIFACT,
    SENTENCING_MODEL_ARTIFACT,
    check_compatible,
    open_searcher,
)
from leian.retrieval.search.searcher import HybridSearcher, Searcher, SearchRun, statistics_charges

__all__ = [
    "CHARGE_MODEL_ARTIFACT",
    "HybridSearcher",
    "SENTENCING_MODEL_ARTIFACT",
    "SearchConfig",
    "SearchRun",
    "Searcher",
    "check_compatible",
    "open_searcher",
    "statistics_charges",
]
