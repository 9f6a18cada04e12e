"""量刑测算: the principal penalty a case's tier, elements and circumstances lead to, learned from the
indexed judgments at build time.

The model is log-linear quantile regression (scikit-learn's ``QuantileRegressor``): the logarithm of the
custodial term (有期徒刑 and 拘役 on one scale, in months) at its median and at the ends of an 80 %
interval (``QUANTILES``), from

- the statutory tier its elements put the charge in (``indexer.tiering``) — the 量刑起点 the law sets;
- the tier-setting figure on a log scale (数额, grams of drugs, blood alcohol), 次数, injuries, deaths;
- 犯罪形态, the role in a joint crime and the circumstances the court accepted.

Log-linear, because the 2021 量刑指导意见 adjusts the 基准刑 by percentages: a coefficient b of a
circumstance is its effect exp(b) − 1 on the term, the same unit the guidance states its ranges in.
A charge with ``MIN_CASES`` single-charge custodial judgments gets its own fit; the others share a
pooled fit with one intercept per charge (``MIN_POOLED`` judgments at least); a charge with fewer
has no estimate. Every fit is stored with its coefficients and the number of cases it rests on (the
index keeps it as an artifact; ``version`` names the feature set and the fitting settings).
"""

from __future__ import annotations

import json
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
from pydantic import BaseModel

from leian.corpora.dictionaries import canonical_charge
from leian.corpora.record import CaseRecord, Elements
from leian.indexer.tiering import tier_of

VERSION = "leian.sentencing/3"
# The interval's ends are fitted at 7.5 % and 92.5 %: held out (bench/sentencing_eval.py, grouped 5-fold
# on LeCaRD's judgments) they cover 0.80 of the actual terms on three seeds, where ends fitted at 10 %
# and 90 % covered 0.754 (a quantile fit is narrower held out than in its own data).
QUANTILES = (0.075, 0.5, 0.925)
MONTHS_RANGE = (1, 180)
PROBATION_MAX_MONTHS = 36  # 刑法第七十二条: 缓刑 for 拘役 or 有期徒刑 of at most three years  # a single crime's custodial term (刑法第四十二、四十五条): predictions stay inside
MIN_CASES = 120  # a charge's own fit from this many judgments
MIN_POOLED = 15  # below this a charge has no estimate
ALPHA = 1e-3  # L1 penalty: keeps coefficients of rare circumstances near 0 rather than wild
MAX_ROWS = 4_000  # per fit: the LP solver's time grows fast; a seeded sample beyond that
SEED = 20261206
TERM_KINDS = ("有期徒刑", "拘役")
# Circumstances as the extractor names them (extract_circumstances.CIRCUMSTANCE_NAMES), each its own
# effect; 主犯 is the reference of the role, 既遂 of the stage.
CIRCUMSTANCES = (
    "自首", "坦白", "当庭认罪", "认罪认罚", "立功", "重大立功", "退赃", "退赔", "赔偿", "谅解", "刑事和解",
    "累犯", "前科", "未成年", "初犯", "从犯", "胁从犯", "未遂", "中止", "预备",
)  # fmt: skip
MAX_TIER = 5
# figure features (log scale) and their names in an explanation
FIGURES = ("amount", "grams", "bac", "count", "light_injuries", "grave_injuries", "deaths")


class Observation(BaseModel):
    """One defendant convicted of one charge, with a custodial term: what the model learns from."""

    charge: str  # the official 罪名
    months: int
    tier: int  # 0 = the elements do not decide it
    elements: Elements
    circumstances: list[str]
    case_id: str
    defendant: str
    probation: bool = False  # 缓刑
    fine_yuan: float | None = None  # 罚金


def observations(record: CaseRecord) -> list[Observation]:
    """The record's defendants that one charge alone put in custody (数罪并罚 terms say nothing about
    one crime)."""
    out = []
    for d in record.defendants:
        charges = {canonical_charge(c) for c in d.charges}
        s = d.sentence
        if len(charges) != 1 or None in charges or s is None or s.kind not in TERM_KINDS or not s.months:
            continue
        charge = charges.pop()
        decision = tier_of(charge, d.elements, record.province)
        out.append(
            Observation(
                charge=charge,
                months=s.months,
                tier=decision.tier.level if decision else 0,
                elements=d.elements,
                circumstances=list(d.circumstances),
                case_id=record.id,
                defendant=d.name,
                probation=bool(s.probation_months),
                fine_yuan=s.fine_yuan,
            )
        )
    return out


def figures(e: Elements) -> dict[str, float]:
    """The tier-setting figures on the scale the model uses (0 when absent)."""
    grams = sum(q.grams for q in e.drugs)
    return {
        "amount": math.log1p(e.amount_yuan / 1000) if e.amount_yuan else 0.0,
        "grams": math.log1p(grams) if grams else 0.0,
        "bac": math.log1p(e.bac_mg_per_100ml / 100) if e.bac_mg_per_100ml else 0.0,
        "count": math.log(e.offence_count) if e.offence_count and e.offence_count > 1 else 0.0,
        "light_injuries": float(sum(1 for g in e.injuries if g.startswith("轻伤"))),
        "grave_injuries": float(sum(1 for g in e.injuries if g.startswith("重伤"))),
        "deaths": float(e.deaths or 0),
    }


def _features(tier: int, e: Elements, circumstances: Iterable[str]) -> list[float]:
    have = set(circumstances)
    if e.stage in ("未遂", "中止", "预备"):
        have.add(e.stage)
    if e.role in ("从犯", "胁从犯"):
        have.add(e.role)
    tiers = [1.0 if tier == k else 0.0 for k in range(2, MAX_TIER + 1)]  # tier 1 (or unknown) is the base
    return [*tiers, *figures(e).values(), *(1.0 if c in have else 0.0 for c in CIRCUMSTANCES)]


FEATURES = (*(f"tier{k}" for k in range(2, MAX_TIER + 1)), *FIGURES, *CIRCUMSTANCES)


class Fit(BaseModel):
    """One fitted model: a charge's own, or the pooled one (with an intercept per charge)."""

    charges: list[str]
    n: int
    intercepts: dict[str, list[float]]  # charge -> intercept per quantile
    coefficients: list[list[float]]  # feature -> coefficient per quantile
    months_range: tuple[int, int]  # the terms it was fitted on
    # 缓刑: a logistic regression over the cases where it was possible (刑法第七十二条: 拘役 or at most
    # three years); None when too few or all alike
    probation_intercepts: dict[str, float] | None = None
    probation_coefficients: list[float] | None = None
    probation_n: int = 0
    # 罚金: the median of the fine (log yuan) over the cases fined
    fine_intercepts: dict[str, float] | None = None
    fine_coefficients: list[float] | None = None
    fine_n: int = 0


class SentencingModel(BaseModel):
    version: str = VERSION
    features: list[str] = list(FEATURES)
    quantiles: list[float] = list(QUANTILES)
    fits: list[Fit]
    counts: dict[str, int]  # observations per charge (the charges with none are absent)

    def fit_for(self, charge: str) -> Fit | None:
        official = canonical_charge(charge) or charge
        return next((f for f in self.fits if official in f.intercepts), None)

    def predict(
        self, charge: str, tier: int, elements: Elements, circumstances: Iterable[str]
    ) -> list[float] | None:
        """The term in months at each quantile (sorted, within ``MONTHS_RANGE``: a misread figure far
        outside the data must not give a term no court could pass), or None without a fit."""
        fit = self.fit_for(charge)
        if fit is None:
            return None
        x = np.asarray(_features(tier, elements, circumstances))
        logs = np.asarray(fit.intercepts[canonical_charge(charge) or charge]) + x @ np.asarray(
            fit.coefficients
        )
        lo, hi = MONTHS_RANGE
        return sorted(min(max(float(math.exp(v)), lo), hi) for v in logs)

    def probation(
        self, charge: str, tier: int, elements: Elements, circumstances: Iterable[str]
    ) -> float | None:
        """The chance of 缓刑 where it is possible, or None without a fit for it."""
        fit = self.fit_for(charge)
        if fit is None or fit.probation_coefficients is None:
            return None
        official = canonical_charge(charge) or charge
        z = fit.probation_intercepts[official] + np.asarray(
            _features(tier, elements, circumstances)
        ) @ np.asarray(fit.probation_coefficients)
        return float(1 / (1 + math.exp(-z)))

    def fine(self, charge: str, tier: int, elements: Elements, circumstances: Iterable[str]) -> float | None:
        """The median fine in yuan for a case that is fined, or None without a fit for it."""
        fit = self.fit_for(charge)
        if fit is None or fit.fine_coefficients is None:
            return None
        official = canonical_charge(charge) or charge
        v = fit.fine_intercepts[official] + np.asarray(_features(tier, elements, circumstances)) @ np.asarray(
            fit.fine_coefficients
        )
        return float(math.exp(min(v, math.log(1e9))))

    def effect(self, charge: str, feature: str, quantile: float = 0.5) -> float | None:
        """A feature's coefficient at a quantile (log scale); None without a fit."""
        fit = self.fit_for(charge)
        if fit is None:
            return None
        return fit.coefficients[self.features.index(feature)][self.quantiles.index(quantile)]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> SentencingModel:
        model = cls.model_validate(json.loads(data))
        if model.version != VERSION or model.features != list(FEATURES):
            raise ValueError(f"sentencing model {model.version} does not match this version ({VERSION})")
        return model


def train(
    obs: Iterable[Observation], on_progress: Callable[[int], None] | None = None
) -> SentencingModel | None:
    """Fit the per-charge and pooled models; None when there is nothing to learn from."""
    by_charge: dict[str, list[Observation]] = defaultdict(list)
    for o in obs:
        by_charge[o.charge].append(o)
    counts = {c: len(v) for c, v in by_charge.items()}
    own = sorted(c for c, n in counts.items() if n >= MIN_CASES)
    pooled = sorted(c for c, n in counts.items() if MIN_POOLED <= n < MIN_CASES)
    fits = []
    for charge in own:
        fits.append(_fit([charge], by_charge[charge]))
        if on_progress:
            on_progress(1)
    if pooled:
        fits.append(_fit(pooled, [o for c in pooled for o in by_charge[c]]))
        if on_progress:
            on_progress(1)
    if not fits:
        return None
    return SentencingModel(fits=fits, counts=dict(sorted(counts.items())))


def _fit(charges: list[str], obs: list[Observation]) -> Fit:
    from sklearn.exceptions import ConvergenceWarning  # lazy: only an index build fits
    from sklearn.linear_model import QuantileRegressor

    rng = np.random.default_rng(SEED)
    if len(obs) > MAX_ROWS:
        obs = [obs[i] for i in sorted(rng.choice(len(obs), MAX_ROWS, replace=False))]
    x = np.asarray([_features(o.tier, o.elements, o.circumstances) for o in obs])
    y = np.log(np.asarray([o.months for o in obs], dtype=float))
    dummies = np.asarray([[1.0 if o.charge == c else 0.0 for c in charges] for o in obs])
    design = np.hstack([dummies, x])
    intercepts: dict[str, list[float]] = {c: [] for c in charges}
    coefficients = np.zeros((x.shape[1], len(QUANTILES)))
    for k, q in enumerate(QUANTILES):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg = QuantileRegressor(quantile=q, alpha=ALPHA, fit_intercept=False, solver="highs").fit(
                design, y
            )
        for j, c in enumerate(charges):
            intercepts[c].append(float(reg.coef_[j]))
        coefficients[:, k] = reg.coef_[len(charges) :]
    months = [o.months for o in obs]
    fit = Fit(
        charges=charges,
        n=len(obs),
        intercepts=intercepts,
        coefficients=coefficients.round(6).tolist(),
        months_range=(min(months), max(months)),
    )
    return _with_probation_and_fine(fit, charges, obs, design)


MIN_SIDE_CASES = 30  # a probation or fine fit needs this many cases


def _with_probation_and_fine(fit: Fit, charges: list[str], obs: list[Observation], design: np.ndarray) -> Fit:
    from sklearn.linear_model import LogisticRegression, QuantileRegressor

    k = len(charges)
    update: dict = {}
    eligible = [i for i, o in enumerate(obs) if o.months <= PROBATION_MAX_MONTHS]
    labels = np.asarray([obs[i].probation for i in eligible], dtype=int)
    if len(eligible) >= MIN_SIDE_CASES and 0 < labels.sum() < len(labels):
        reg = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000).fit(design[eligible], labels)
        coef = reg.coef_[0]
        update |= {
            "probation_intercepts": {c: float(coef[j]) for j, c in enumerate(charges)},
            "probation_coefficients": coef[k:].round(6).tolist(),
            "probation_n": len(eligible),
        }
    fined = [i for i, o in enumerate(obs) if o.fine_yuan and o.fine_yuan > 0]
    if len(fined) >= MIN_SIDE_CASES:
        y = np.log(np.asarray([obs[i].fine_yuan for i in fined]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg = QuantileRegressor(quantile=0.5, alpha=ALPHA, fit_intercept=False, solver="highs").fit(
                design[fined], y
            )
        update |= {
            "fine_intercepts": {c: float(reg.coef_[j]) for j, c in enumerate(charges)},
            "fine_coefficients": reg.coef_[k:].round(6).tolist(),
            "fine_n": len(fined),
        }
    return fit.model_copy(update=update)


def present_figures(e: Elements) -> list[str]:
    """The figure features the elements give (for an explanation's lines)."""
    return [k for k, v in figures(e).items() if v]


__all__ = [
    "FEATURES",
    "VERSION",
    "Fit",
    "Observation",
    "SentencingModel",
    "figures",
    "observations",
    "present_figures",
    "train",
]
