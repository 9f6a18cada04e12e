"""bench/ablation.py's oracle row: the rerank is given each query's labelled charges, nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from leian.corpora.lecard import LecardQuery, LecardSplit
from leian.retrieval.models import Query

ROOT = Path(__file__).resolve().parent.parent


def _ablation():
    spec = importlib.util.spec_from_file_location("ablation", ROOT / "bench" / "ablation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_oracle_row_passes_the_labelled_charges_and_keeps_the_rest_of_the_query():
    split = LecardSplit(
        name="dev",
        data_dir=".",
        queries=[
            LecardQuery(id="1", q="被告人张某窃得手机一部", crime=["盗窃"], query_type="common"),
            LecardQuery(id="2", q="被告人李某醉酒驾驶机动车", query_type="common"),
        ],
        qrels={},
        pools={},
    )
    asked: list[tuple[Query, list[str] | None]] = []

    def rank(query: Query, ids):
        asked.append((query, ids))
        return [("d1", 1.0)]

    oracle = _ablation()._with_true_charges(rank, split)
    assert oracle(Query(facts="被告人张某窃得手机一部", top_k=30, exclude_ids=["9"]), ["d1", "d2"]) == [
        ("d1", 1.0)
    ]
    oracle(Query(facts="被告人李某醉酒驾驶机动车", top_k=100), None)
    (first, ids), (second, _) = asked
    assert first.charges == ["盗窃罪"] and ids == ["d1", "d2"]  # completed like a user's --charges
    assert (first.facts, first.top_k, first.exclude_ids) == ("被告人张某窃得手机一部", 30, ["9"])
    assert second.charges is None and second.top_k == 100  # no label: the charges are predicted
