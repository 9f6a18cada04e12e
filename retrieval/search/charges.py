"""The pending case's charges: given by the prosecutor, or predicted from its facts.

Predicted = the corpus-trained charge model's distribution, blended with the charges of the nearest
cases by the fused score (each weighted 1/rank). Never taken from labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from leian.corpora.dictionaries import charge_group
from leian.indexer.charge_model import ChargeModel
from leian.retrieval.models import ChargePrediction

TOP_CHARGES = 5


def given_charges(charges: Sequence[str]) -> list[ChargePrediction]:
    """Charges the prosecutor states count as certain."""
    return [ChargePrediction(charge=charge_group(c), probability=1.0) for c in charges]


def predict_charges(
    charge_model: ChargeModel | None,
    tokens: list[str],
    neighbour_groups: Sequence[Sequence[str]],
    knn_weight: float,
) -> list[ChargePrediction]:
    """The blended distribution, best first (ties by name); ``neighbour_groups``: the charge groups of
    the nearest cases, nearest first."""
    probs: Counter[str] = Counter()
    if charge_model is not None:
        for lab, p in charge_model.predict(tokens, top=8):
            probs[lab] += (1 - knn_weight) * p
    if neighbour_groups:
        share = knn_weight if charge_model is not None else 1.0
        total = sum(1.0 / (rank + 1) for rank in range(len(neighbour_groups)))
        votes: Counter[str] = Counter()
        for rank, groups in enumerate(neighbour_groups):
            for g in groups:
                votes[g] += 1.0 / (rank + 1)
        for g, v in votes.items():
            probs[g] += share * v / total
    ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CHARGES]
    return [ChargePrediction(charge=g, probability=round(min(p, 1.0), 4)) for g, p in ranked]


__all__ = ["given_charges", "predict_charges"]
