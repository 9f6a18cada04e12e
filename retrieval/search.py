"""Hybrid ranking over any backend: BM25 + dense candidates, fused, then a structure-aware rerank.

score = w_bm25·z(bm25) + w_dense·z(dense)                       (fusion; z over the candidate pool)
      + w_charge·P(case shares a charge with the query)        (predicted from the facts, or given)
      + w_statute·|shared statutes| / |query statutes|         (statutes implied by those charges)
      + w_circ·|shared circumstances| / |query circumstances|  (自首, 累犯 … found in the facts)
      + w_amount·closeness of amounts on a log scale           (数额 bands)

z-scores use the mean and spread of a fixed pool per query (the top ``candidates`` of each list),
whatever the depth ranked or the candidate list re-ranked, so a case gets the same score under every
evaluation protocol. Ties are broken by case id. Every hit carries its component scores
and Chinese reasons. Optionally (``stage1_depth``) only the top cases of a plain query-tf BM25 first
stage are reranked and the rest follow, the classic retrieve-then-rerank split (off by default).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property, lru_cache
from itertools import islice
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leian import PRODUCT, __version__
from leian.corpora.dictionaries import charge_article, charge_group
from leian.corpora.record import CaseRecord
from leian.errors import IndexIncompatible, InvalidInput
from leian.indexer.charge_model import ChargeModel
from leian.indexer.tokenize import Tokenizer
from leian.retrieval.backends.base import Backend, IndexManifest, Scored, WriteReport
from leian.retrieval.models import ChargePrediction, Highlight, Hit, Query, SearchResult

CHARGE_MODEL_ARTIFACT = "charge_model"
MAX_HIGHLIGHTS_PER_TERM = 5
STAGE_GAP = 100.0  # ranks cases outside the first stage below every case inside it
COURT_PREFERENCE = {"最高": 1.0, "高级": 2 / 3, "中级": 1 / 3}
CONFIDENT = 0.3  # a predicted charge at least this likely is named in reasons and statutes
# idf (1 + ln((1 + n) / (1 + df))) under 2: a word in more than ~37% of the judgments
COMMON_IDF = 2.0
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PARTY_MARK = "某"  # what judgments put for a person's given name (郭某, 李某甲, 某某)
_NUMBER = re.compile(r"[0-9.]+")
# names of administrative divisions (江阴市, 宝安区, 舒景村 …): a 2-character word such as 超市,
# 社区 or 农村 is an ordinary noun and stays, and so do the zones a crime is defined by (禁猎区, 禁渔区,
# 自然保护区, 军事禁区, 军事管理区, 监区 …)
_PLACE = re.compile(r"(?!.*(?:禁|保护|监|危险|风景|军事|管理|管制|边境))[\u4e00-\u9fff]{2,}[省市县区镇乡村]")


class SearchConfig(BaseModel):
    """Ranking configuration; one default for every protocol and every query."""

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


def _z(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """z-scores of ``values`` with the mean and spread of ``reference`` (guarded: sd 0 -> 0)."""
    if len(values) == 0 or len(reference) == 0:
        return np.zeros_like(values)
    sd = float(reference.std())
    if sd < 1e-9:
        return np.zeros_like(values)
    return (values - reference.mean()) / sd


@lru_cache(maxsize=4096)
def _general_part(statute: str) -> bool:
    """Articles 1–101 of the Criminal Law are its general part (自首, 缓刑, 罚金…), not the crime."""
    m = re.match(r"刑法第(.+?)条", statute)
    if not m:
        return True
    try:
        import cn2an

        return int(cn2an.cn2an(m.group(1), "smart")) <= 101
    except (ValueError, KeyError):
        return True


class _Ranking(NamedTuple):
    top: list[tuple[float, str, dict]]  # (score, case id, components), best first
    terms: dict[str, float]
    predicted: list[ChargePrediction]
    charges: list[ChargePrediction] | None
    pending: CaseRecord | None
    timings: dict[str, float]
    t0: float
    n: int  # cases scored


def _distinct_terms(terms: list[str], limit: int) -> list[str]:
    """The first ``limit`` terms, none inside another: 三轮 says nothing that 三轮车 does not, so the
    longer one is kept (in the place of the first shorter one it holds) and the shorter dropped."""
    kept: list[str] = []
    for t in terms:
        if any(t in k for k in kept):
            continue
        inner = [j for j, k in enumerate(kept) if k in t]
        if inner:
            kept[inner[0]] = t
            kept = [k for j, k in enumerate(kept) if j not in inner[1:]]
        else:
            kept.append(t)
        if len(kept) == limit:
            break
    return kept


class _QuerySide(NamedTuple):
    """What the rerank compares every case with, worked out once per query."""

    charges: list[ChargePrediction]
    statutes: set[str]  # implied by the confident charges
    circumstances: set[str]
    amount_yuan: float | None
    this_year: int


class Searcher:
    def __init__(
        self,
        backend: Backend,
        tokenizer: Tokenizer,
        embedder=None,
        config: SearchConfig | None = None,
        charge_model: ChargeModel | None = None,
    ):
        self.backend = backend
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.charge_model = charge_model
        self._qcache: dict[str, np.ndarray] = {}
        self._qlock = threading.Lock()
        self._embed_pool = ThreadPoolExecutor(1, thread_name_prefix="leian-query-embed")

    # ---------------------------------------------------------------- the pending case
    def analyse(self, facts: str) -> CaseRecord:
        """The new case's elements from its facts: candidate circumstances and the main amount
        (charges: ``predict_charges``)."""
        from leian.indexer.pending import analyse_facts

        return analyse_facts(facts)

    def predict_charges(self, facts: str) -> list[ChargePrediction]:
        """The charge distribution a search of these facts would use."""
        return self._rank(Query(facts=facts, top_k=1), None, explain=False).predicted

    def query_terms(self, facts: str) -> tuple[list[str], dict[str, float]]:
        """The facts' tokens and the weighted terms BM25 is asked for; InvalidInput when nothing in
        them can be searched (a batch checks every query with this before it answers any)."""
        tokens = self.tokenizer.tokenize(facts)
        terms = self._weighted_terms(tokens)
        # numbers or Latin words alone ("12345", "hello") are no facts of a case: refuse, do not guess
        if not any(_HAN.search(t) for t in terms):
            raise InvalidInput(
                "facts contain no searchable Chinese words (only punctuation, numbers, place names or "
                "stop-words?); paste the facts of the case"
            )
        return tokens, terms

    def _weighted_terms(self, tokens: list[str]) -> dict[str, float]:
        cfg = self.config
        p = cfg.query_tf_power
        return {
            t: float(n) ** p
            for t, n in Counter(tokens).items()
            if (cfg.query_numbers or not _NUMBER.fullmatch(t))
            and (cfg.query_places or not _PLACE.fullmatch(t))
        }

    def _charge_distribution(self, tokens: list[str], neighbours: list[Scored]) -> list[ChargePrediction]:
        cfg = self.config
        probs: Counter[str] = Counter()
        if self.charge_model is not None:
            for lab, p in self.charge_model.predict(tokens, top=8):
                probs[lab] += (1 - cfg.knn_weight) * p
        if neighbours:
            facets = self.backend.facets([i for i, _ in neighbours])
            total = 0.0
            votes: Counter[str] = Counter()
            for rank, (cid, _) in enumerate(neighbours):
                w = 1.0 / (rank + 1)
                total += w
                for g in facets.get(cid, {}).get("charge_groups", []):
                    votes[g] += w
            share = cfg.knn_weight if self.charge_model is not None else 1.0
            for g, v in votes.items():
                probs[g] += share * v / total
        ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        return [ChargePrediction(charge=g, probability=round(min(p, 1.0), 4)) for g, p in ranked]

    # ---------------------------------------------------------------- ranking
    def search(self, query: Query) -> SearchResult:
        return self._run(query, None)

    def rank(self, query: Query, candidate_ids: list[str] | None = None) -> list[Scored]:
        """(id, score) best first: the whole corpus (top ``query.top_k``) or exactly ``candidate_ids``."""
        return [(cid, round(score, 6)) for score, cid, _ in self._rank(query, candidate_ids, False).top]

    def rank_all(self, query: Query) -> list[Scored]:
        """Every case in the index (filters and ``exclude_ids`` still apply), best first: a TREC run."""
        return self.rank(query, self.backend.ids())

    def _run(self, query: Query, restrict: list[str] | None) -> SearchResult:
        r = self._rank(query, restrict, explain=True)
        records = self.backend.get([cid for _, cid, _ in r.top])
        nameable = self._nameable_terms(r.terms)
        hits = [
            self._hit(rank, cid, score, comp, records.get(cid), nameable, r.charges, r.pending)
            for rank, (score, cid, comp) in enumerate(r.top, 1)
        ]
        return self._result(query, r.terms, hits, r.predicted, r.charges, r.timings, r.t0, r.n)

    def _rank(self, query: Query, restrict: list[str] | None, explain: bool) -> _Ranking:
        """Score and order the cases; ``explain``: the pending case is analysed even without the rerank."""
        cfg = self.config
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        tokens, terms = self.query_terms(query.facts)
        timings["tokenize"] = _ms(t0)
        filters = query.filters
        exclude = set(query.exclude_ids)
        k_stat = cfg.candidates
        k_pool = max(k_stat, query.top_k + len(exclude))

        # the query embedding (the slowest stage; onnxruntime and torch release the GIL) runs in a thread
        # while BM25 runs here: a search costs max(embedding, BM25), not their sum
        embedding = None
        if cfg.use_dense and self.embedder is not None:
            embedding = self._embed_pool.submit(self._timed_query_vector, query.facts)
        t = time.perf_counter()
        lex = self.backend.lexical(terms, filters, k_pool) if cfg.use_bm25 else []
        timings["bm25"] = _ms(t)
        dense: list[Scored] = []
        qvec = None
        if embedding is not None:
            t = time.perf_counter()
            qvec, timings["embed"] = embedding.result()
            timings["embed_wait"] = _ms(t)
            t = time.perf_counter()
            dense = self.backend.dense(qvec, filters, k_pool)
            timings["dense"] = _ms(t)

        # The normalisation pool is the top `candidates` of each list: fixed per query, so a case's
        # score does not depend on how deep the caller ranks or which candidates it re-ranks.
        stat_ids = list(dict.fromkeys([i for i, _ in lex[:k_stat]] + [i for i, _ in dense[:k_stat]]))
        # first stage (retrieve, then rerank): the top `stage1_depth` cases by plain query-tf BM25
        # are reranked first; the rest follow. Fixed per query, like the normalisation pool.
        stage1: set[str] = set()
        if cfg.stage1_depth and cfg.use_bm25:
            tf_terms = {t: float(n) ** cfg.stage1_tf_power for t, n in Counter(tokens).items() if t in terms}
            stage1 = {i for i, _ in self.backend.lexical(tf_terms, filters, cfg.stage1_depth)}
        pool_ids = list(
            dict.fromkeys(
                stat_ids + sorted(stage1) + [i for i, _ in lex] + [i for i, _ in dense] + (restrict or [])
            )
        )
        bm25 = dict(lex)
        cos = dict(dense)
        missing_b = [i for i in pool_ids if i not in bm25]
        if cfg.use_bm25 and missing_b:
            bm25.update(self.backend.lexical(terms, filters, len(missing_b), ids=missing_b))
        missing_d = [i for i in pool_ids if i not in cos]
        if qvec is not None and missing_d:
            cos.update(self.backend.dense(qvec, filters, len(missing_d), ids=missing_d))
        pool_ids = [i for i in pool_ids if (i in bm25 or not cfg.use_bm25) and (i in cos or qvec is None)]
        if not pool_ids:
            return _Ranking([], terms, [], None, None, timings, t0, 0)

        b = np.array([bm25.get(i, 0.0) for i in pool_ids], dtype=np.float64)
        d = np.array([cos.get(i, 0.0) for i in pool_ids], dtype=np.float64)
        in_stat = set(stat_ids)
        ref = np.array([j for j, i in enumerate(pool_ids) if i in in_stat] or range(len(pool_ids)))
        fused = np.zeros(len(pool_ids))
        if cfg.use_bm25:
            fused += (cfg.w_bm25 if qvec is not None else 1.0) * _z(b, b[ref])
        if qvec is not None:
            fused += (cfg.w_dense if cfg.use_bm25 else 1.0) * _z(d, d[ref])

        # the pending case, and the structure rerank
        t = time.perf_counter()
        if query.charges:
            charges = [ChargePrediction(charge=charge_group(c), probability=1.0) for c in query.charges]
            predicted: list[ChargePrediction] = []
        else:
            # the nearest cases by the fused score vote with the charge model
            nearest = [
                (pool_ids[j], float(fused[j])) for j in np.argsort(-fused, kind="stable")[: cfg.knn_votes]
            ]
            predicted = self._charge_distribution(
                tokens, nearest if cfg.knn_from == "fused" else lex[: cfg.knn_votes]
            )
            charges = predicted
        timings["charges"] = _ms(t)
        asked = set(pool_ids if restrict is None else restrict) - exclude
        ranked_ids = [i for i in pool_ids if i in asked]
        facets = self.backend.facets(ranked_ids) if cfg.use_structure else {}
        pending = self.analyse(query.facts) if cfg.use_structure or explain else None
        pos = {cid: j for j, cid in enumerate(pool_ids)}
        side = self._query_side(charges, pending)
        scored: list[tuple[float, str, dict]] = []
        for cid in ranked_ids:
            j = pos[cid]
            comp = {"bm25": float(b[j]), "dense": float(d[j]), "fused": float(fused[j])}
            score = float(fused[j])
            if cfg.use_structure and cid in facets:
                s = self._structure(side, facets[cid])
                comp.update(s)
                score += s["structure"]
            if stage1:
                comp["stage1"] = float(cid in stage1)
                if cid not in stage1:
                    score -= STAGE_GAP
            comp["score"] = score
            scored.append((score, cid, comp))
        scored.sort(key=lambda x: (-x[0], x[1]))
        k = len(scored) if restrict is not None else query.top_k
        top = scored[:k]
        timings["rerank"] = _ms(t)
        return _Ranking(top, terms, predicted, charges, pending, timings, t0, len(pool_ids))

    def _result(self, query, terms, hits, predicted, charges, timings, t0, n) -> SearchResult:
        timings["total"] = _ms(t0)
        return SearchResult(
            query_terms=list(terms)[:200],
            charges_given=query.charges,
            charges_predicted=predicted,
            charges_used=[c.charge for c in (charges or []) if c.probability >= CONFIDENT]
            or ([charges[0].charge] if charges else []),
            filters=query.filters,
            backend=self.backend.name,
            weights=self.config.weights(),
            total_candidates=n,
            hits=hits,
            timings_ms=timings,
        )

    def clear_query_memo(self) -> None:
        """Forget memoised query vectors (a latency benchmark repeating queries must embed each time)."""
        with self._qlock:
            self._qcache.clear()

    def _timed_query_vector(self, facts: str) -> tuple[np.ndarray, float]:
        t = time.perf_counter()
        return self._query_vector(facts), _ms(t)

    def _query_vector(self, facts: str) -> np.ndarray:
        """Query embeddings are memoised in memory only (never on disk: user input is not kept);
        evaluation and the report ask for the same facts several times."""
        with self._qlock:
            vec = self._qcache.get(facts)
        if vec is None:
            text = facts
            if self.config.query_chunks:
                text = "".join(
                    self.embedder.chunks(facts, prompt=self.embedder.query_prompt)[: self.config.query_chunks]
                )
            vec = self.embedder.embed_queries([text])[0]
            with self._qlock:
                if len(self._qcache) >= 256:
                    self._qcache.pop(next(iter(self._qcache)))
                self._qcache[facts] = vec
        return vec

    # ---------------------------------------------------------------- structure
    def _query_statutes(self, charges: list[ChargePrediction]) -> set[str]:
        out = set()
        for c in charges:
            if c.probability >= CONFIDENT:
                art = charge_article(c.charge)
                if art:
                    out.add(art)
        return out

    def _query_side(self, charges: list[ChargePrediction], pending: CaseRecord | None) -> _QuerySide:
        return _QuerySide(
            charges=charges,
            statutes=self._query_statutes(charges),
            circumstances=set(pending.circumstances) if pending else set(),
            amount_yuan=pending.amount_yuan if pending else None,
            this_year=dt.date.today().year,
        )

    def _structure(self, q: _QuerySide, facets: dict) -> dict:
        """Structure similarity (and the configured preferences) from ``base.FACET_KEYS`` of a case."""
        cfg = self.config
        groups = set(facets.get("charge_groups") or [])
        # P(the case shares a charge with the new case), the charges taken as independent (the model is
        # multi-label): 1 − Π(1 − p) over the case's charges. The best single p alone understated a
        # case holding two of the predicted charges (寻衅滋事 and 故意伤害 when either may be right).
        # LeCaRD dev against that max: A@30 +0.004, B@10 +0.010, B@30 +0.005 (paired bootstrap 95%
        # intervals above 0), C@30 -0.007 (interval -0.014..0.000).
        p_miss = 1.0
        for c in q.charges:
            if c.charge in groups:
                p_miss *= 1.0 - c.probability
        p_charge = 1.0 - p_miss
        d_stat = {s for s in facets.get("statutes") or [] if not _general_part(s)}
        statute = len(q.statutes & d_stat) / len(q.statutes) if q.statutes else 0.0
        circ = (
            len(q.circumstances & set(facets.get("circumstances") or [])) / len(q.circumstances)
            if q.circumstances
            else 0.0
        )
        amount = 0.0
        qa, da = q.amount_yuan, facets.get("amount_yuan")
        if qa and da and qa > 0 and da > 0:
            amount = max(0.0, 1.0 - abs(math.log10(qa / da)) / 2.0)
        court = COURT_PREFERENCE.get(facets.get("court_level") or "", 0.0)
        year = facets.get("year")
        recent = float(bool(year) and q.this_year - year < cfg.recent_years)
        structure = (
            cfg.w_charge * p_charge
            + cfg.w_statute * statute
            + cfg.w_circ * circ
            + cfg.w_amount * amount
            + cfg.w_court * court
            + cfg.w_recent * recent
        )
        return {
            "charge": p_charge,
            "statute": statute,
            "circumstance": circ,
            "amount": amount,
            "court": court,
            "recent": recent,
            "structure": structure,
        }

    # ---------------------------------------------------------------- explanation
    @cached_property
    def _idf(self) -> dict[str, float]:
        if self.charge_model is None:
            return {}
        return {t: float(self.charge_model.idf[j]) for t, j in self.charge_model.vocab.items()}

    @cached_property
    def _unseen_idf(self) -> float:
        """The idf of a word the charge model's vocabulary lacks: it occurs in fewer than two of the
        model's judgments, so it is rarer than any word the model knows."""
        return max(self._idf.values(), default=COMMON_IDF)

    def _nameable_terms(self, terms: list[str]) -> list[str]:
        """The query terms a reason may name, best first (rarest and longest): Chinese words a
        prosecutor recognises, not bare numbers or units, not words most judgments share (被害人,
        人民币, 犯罪事实), which say nothing about a case, and not the anonymised names of people (郭某,
        李某甲, 某某, or jieba's cuts through them such as 对罗某): two judgments sharing 郭某 is a
        coincidence of the anonymisation (a fifth of LeCaRD dev's top-10 hits named one). They still
        count in the ranking. Once per query; each hit keeps those in its facts."""
        idf, unseen = self._idf, self._unseen_idf
        order = {t: j for j, t in enumerate(terms)}
        nameable = [
            t
            for t in terms
            if len(t) >= 2 and _HAN.search(t) and _PARTY_MARK not in t and idf.get(t, unseen) >= COMMON_IDF
        ]
        return sorted(nameable, key=lambda t: (-idf.get(t, unseen) * len(t), order[t]))

    def _hit(self, rank, cid, score, comp, rec, nameable, charges, pending) -> Hit:
        if rec is None:
            return Hit(id=cid, rank=rank, score=round(score, 6), components=comp, reasons=[])
        first = rec.defendants[0] if rec.defendants else None
        groups = {charge_group(c): c for c in rec.charges}
        shared_charges = [
            groups[c.charge] for c in charges if c.charge in groups and c.probability >= CONFIDENT
        ]
        q_stat = self._query_statutes(charges)
        shared_statutes = [s for s in rec.statutes if s in q_stat]
        q_circ = pending.circumstances if pending else []
        shared_circ = [c for c in rec.circumstances if c in q_circ]
        facts = rec.sections.facts or ""
        matched = _distinct_terms([t for t in nameable if t in facts], 12)
        highlights = []
        for t in matched:  # a few occurrences per term are enough to read why; long facts repeat words
            for m in islice(re.finditer(re.escape(t), facts), MAX_HIGHLIGHTS_PER_TERM):
                highlights.append(Highlight(section="facts", start=m.start(), end=m.end(), term=t))
        highlights.sort(key=lambda h: (h.start, -h.end))
        reasons = []
        if shared_charges:
            reasons.append("罪名相同：" + "、".join(shared_charges))
        if shared_statutes:
            reasons.append("适用相同法条：" + "、".join(shared_statutes))
        if shared_circ:
            reasons.append("共同量刑情节：" + "、".join(shared_circ))
        if comp.get("amount", 0) >= 0.5 and pending and pending.amount_yuan and rec.amount_yuan:
            reasons.append(f"涉案金额相近：{pending.amount_yuan:,.0f} 元 / {rec.amount_yuan:,.0f} 元")
        if self.config.w_court and comp.get("court", 0) > 0:
            reasons.append(f"{rec.court_level}法院裁判")
        if self.config.w_recent and comp.get("recent", 0) > 0:
            reasons.append(f"近{self.config.recent_years}年的裁判（{rec.year}年）")
        if matched:
            reasons.append("关键事实用语相同：" + "、".join(matched[:8]))
        if "dense" in comp and comp["dense"]:
            reasons.append(f"案情语义相似度 {comp['dense']:.2f}")
        return Hit(
            id=cid,
            rank=rank,
            score=round(score, 6),
            components={k: round(v, 6) for k, v in comp.items()},
            reasons=reasons,
            shared_charges=shared_charges,
            shared_statutes=shared_statutes,
            shared_circumstances=shared_circ,
            matched_terms=matched,
            highlights=highlights,
            case_number=rec.case_number,
            court=rec.court,
            court_level=rec.court_level,
            judgment_date=rec.judgment_date,
            title=rec.title,
            tier=rec.tier,
            charges=rec.charges,
            sentence=first.sentence if first else None,
            record=rec,
        )

    # ---------------------------------------------------------------- the rest of the interface
    def get(self, ids) -> dict[str, CaseRecord]:
        return self.backend.get(ids)

    def describe(self) -> dict:
        m = self.backend.manifest()
        return {
            "product": PRODUCT,
            "version": __version__,
            "backend": self.backend.name,
            "index": m.model_dump(),
            "tokenizer": self.tokenizer.fingerprint,
            "model": m.model,
            # how the query is embedded here (same vectors either way): "onnxruntime" or "torch"
            "embedding_runtime": self.embedder.runtime if self.embedder is not None else None,
            # "int8" (the export's int8 copy: cosine >= 0.99 to the float vectors) or "float32"
            "query_precision": self.embedder.query_precision if self.embedder is not None else None,
            "weights": self.config.weights(),
            "config": self.config.model_dump(),
            "charge_model": self.charge_model is not None,
        }

    def add_documents(self, records: list[CaseRecord]) -> WriteReport:
        from leian.indexer.pipeline import prepare

        cases = list(prepare(records, self.tokenizer, self.embedder if self._has_vectors else None))
        return self.backend.upsert(cases)

    def delete_documents(self, ids: list[str]) -> WriteReport:
        return self.backend.delete(ids)

    @property
    def _has_vectors(self) -> bool:
        return bool(self.backend.manifest().dim)

    def close(self) -> None:
        self._embed_pool.shutdown(wait=True)
        self.backend.close()


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def check_compatible(manifest: IndexManifest, tokenizer: Tokenizer, embedder) -> None:
    if manifest.tokenizer != tokenizer.fingerprint:
        raise IndexIncompatible(
            f"the index was built with tokenizer {manifest.tokenizer}, this installation has "
            f"{tokenizer.fingerprint} (another legal dictionary); rebuild the index with `leian index`"
        )
    if (
        manifest.model_fingerprint
        and embedder is not None
        and embedder.fingerprint != manifest.model_fingerprint
    ):
        raise IndexIncompatible(
            f"the index was built with embedding model {manifest.model} ({manifest.model_fingerprint}), "
            f"but {embedder.name} ({embedder.fingerprint}) is loaded; pass --model with the index's model "
            "or rebuild the index"
        )


def open_searcher(
    backend: str = "embedded",
    index: str | None = None,
    *,
    es_options=None,
    config: SearchConfig | None = None,
    model: str | None = None,
    load_embedder: bool = True,
) -> Searcher:
    """Open an index for searching; the embedding model recorded in the index is loaded unless
    ``model`` names another local directory (then its fingerprint must match)."""
    from leian.retrieval.backends import open_backend

    be = open_backend(backend, index=index, es_options=es_options)
    manifest = be.manifest()
    tokenizer = Tokenizer()
    embedder = None
    cfg = config or SearchConfig()
    if manifest.dim and load_embedder and cfg.use_dense:
        from leian.indexer.embed import Embedder

        # the index's chunk setting: cases added through this searcher are embedded like the rest
        embedder = Embedder.load(
            model or manifest.model_path or manifest.model,
            max_chunks=manifest.embed_chunks,
            document_precision=manifest.embed_precision,
        )
        # After a product (the dense scores) OpenBLAS's threads keep spinning, on the very cores the
        # model embeds the next query on: with torch, that took query embedding from p50 83 to 157 ms
        # on the 2-core box.
        # One BLAS thread scores 100k vectors in ~5 ms.
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    check_compatible(manifest, tokenizer, embedder)
    blob = be.get_artifact(CHARGE_MODEL_ARTIFACT)
    charge_model = ChargeModel.from_bytes(blob) if blob else None
    return Searcher(be, tokenizer, embedder, cfg, charge_model)


__all__ = ["CHARGE_MODEL_ARTIFACT", "SearchConfig", "Searcher", "open_searcher"]
