"""leian 类案 — similar-case retrieval for Chinese criminal judgments.

The code lives in four layers, imported as ``leian.corpora → leian.indexer → leian.retrieval → leian.api``;
data flows one way and nothing imports upwards.
"""

__version__ = "0.1.0"
PRODUCT = "leian 类案"
