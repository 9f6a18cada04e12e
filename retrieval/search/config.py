"""The ranking's configuration: one default for every protocol and every query."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SearchConfig(BaseModel):
    """Weights and switches of the hybrid ranking (``leian search --config KEY=VALUE``, ``[ranking]``)."""

    model_config = ConfigDict(extra="forbid")

    use_bm25: bool = True
    use_dense: bool = True
    use_structure: bool = True
    # query term weight = (count in the facts) ** query_tf_power: 0 counts each term once (long fact
    # texts repeat words), 1 is plain BM25 query term frequency; the square root keeps what the facts
    # dwell on without letting one repeated word (a name, 盗窃) drown the rest
    query_tf_power: float = Field(default=0.5, ge=0.0, le=1.0)
    # numbers in the facts (dates, weights, amounts) rarely recur verbatim in a similar case
    query_numbers: bool = True
    # where a case happened (江阴市, 舒景村) does not make it similar, yet BM25 rewards a rare town's
    # name; dropping division names from the query: LeCaRD dev A@30 +0.004, B@10 +0.008 (paired
    # bootstrap 95% intervals above 0), C@30 -0.008 (its pools were drawn lexically, places included)
    query_places: bool = False
    candidates: int = Field(default=200, ge=10, le=5000)
    # long facts: embed only their opening chunks, 0 = all (never more than the index embeds per case).
    # One chunk (512 tokens; the median dev query has 276) halves p95 latency; LeCaRD dev moved by
    # -0.004..+0.002 against two (noise)
    query_chunks: int = Field(default=1, ge=0, le=16)
    stage1_depth: int = Field(default=0, ge=0, le=5000)  # 0: no first stage, everything is reranked
    stage1_tf_power: float = Field(default=1.0, ge=0.0, le=1.0)
    w_bm25: float = 0.75
    w_dense: float = 0.25
    w_charge: float = 1.5
    w_statute: float = 0.1
    w_circ: float = 0.1
    w_amount: float = 0.1
    # agreement on the sentencing elements (法定刑 tier of the shared charge, drug kinds, blood-alcohol
    # band, deaths and injuries: retrieval/search/elements.py); 0 reads none. LeCaRD dev against 0
    # (paired bootstrap): facts only A@30 +0.003, B@10 +0.004 (95% intervals above 0), given charges
    # ±0.001 (intervals across 0); 0.1 is what 5-fold cross-validation over {0, 0.1, 0.2} picks
    w_elements: float = 0.1
    # The SPC's search order (法发〔2020〕24号 art. 4): judgments of higher courts, and of the last three
    # years, first. Off by default: neither makes a case more similar, and the report applies that
    # order itself; an office that wants it in the ranking sets these.
    w_court: float = 0.0  # × 1 最高, 2/3 高级, 1/3 中级, 0 基层 or unknown
    w_recent: float = 0.0  # × 1 for a judgment of the last ``recent_years`` calendar years
    recent_years: int = Field(default=3, ge=1, le=100)
    knn_from: Literal["fused", "bm25"] = "fused"
    knn_votes: int = 20  # top lexical hits whose charges vote with the charge model
    knn_weight: float = 0.5  # share of the kNN vote in the charge distribution

    def weights(self) -> dict[str, float]:
        weights = {k: getattr(self, k) for k in type(self).model_fields if k.startswith("w_")}
        return weights | {"knn_weight": self.knn_weight}


__all__ = ["SearchConfig"]
