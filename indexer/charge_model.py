"""Predict a new case's charges from its facts, learned from the indexed corpus itself.

A one-vs-rest linear classifier over TF-IDF of the same jieba tokens the index uses, trained at
index time on the charges extracted from each judgment (canonical charge groups, so 贩卖毒品罪 and
走私、贩卖、运输、制造毒品罪 are one label). The model ships inside the index (an artifact), so a
query never needs the training corpus, and it is rebuilt with every full build.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from leian import usable_cores
from leian.indexer.postings import TermCounts

SIGMOID_SCALE = 1.5
# The SVMs' regularisation, chosen by cross-validation on the corpus's own judgments (bench/charge_cv.py,
# labels = the charges each judgment states, no benchmark queries): on LeCaRD's 9,088, top-1 accuracy
# 0.861 at C 0.5, 0.882 at 2, 0.886 at 4, 0.887 at 8 (one fold's fit: 5.1, 6.6, 7.4, 9.2 s)
SVM_C = 4.0
MIN_EXAMPLES = 3
FIT_GROUP = 8  # charges fitted per task (and per progress tick)
MAX_TRAIN_DOCS = (
    20_000  # a charge seen fewer times cannot be learned; it can still match via the search itself
)
# Negatives each charge's SVM sees: every positive, and this many (at least NEGATIVES_PER_POSITIVE
# per positive) of the other cases, drawn at random. Fitting on the whole corpus cost 0.14 s a charge,
# 13 s of a LeCaRD build; on LeCaRD dev the subsample moved A/B/C by -0.002..0 (paired bootstrap
# intervals around 0) and took the fit to a third.
MAX_NEGATIVES = 2_000
NEGATIVES_PER_POSITIVE = 4


class ChargeModel:
    def __init__(
        self, vocab: dict[str, int], idf: np.ndarray, coef: np.ndarray, bias: np.ndarray, labels: list[str]
    ):
        self.vocab = vocab
        self.idf = idf.astype(np.float32)
        self.coef = coef.astype(np.float32)  # (n_labels, n_terms)
        self.bias = bias.astype(np.float32)
        self.labels = labels

    # ---------------------------------------------------------------- training
    @classmethod
    def train(
        cls, token_lists: Sequence[list[str]], label_lists: Sequence[list[str]], **kw
    ) -> ChargeModel | None:
        counts = TermCounts()
        for tokens, labels in zip(token_lists, label_lists, strict=True):
            counts.add(tokens, labels)
        return cls.train_counts(counts, **kw)

    @classmethod
    def train_counts(
        cls,
        counts: TermCounts,
        *,
        c: float = SVM_C,
        max_docs: int = MAX_TRAIN_DOCS,
        workers: int | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ChargeModel | None:
        """Train from compact term counts. Returns None when too few labelled cases to learn from.

        Past ``max_docs`` labelled cases a deterministic, label-balanced subsample is used, so the
        training time of a 100k-judgment build stays bounded (frequent charges lose examples first).
        ``workers``: processes fitting charges side by side (default: the usable cores);
        ``on_progress(n)`` is called as each group of n charges is fitted."""
        label_lists = counts.labels
        freq = Counter(lab for labs in label_lists for lab in set(labs))
        labels = sorted(lab for lab, n in freq.items() if n >= MIN_EXAMPLES)
        keep = [i for i, labs in enumerate(label_lists) if labs]
        if len(labels) < 2 or len(keep) < 10:
            return None
        if len(keep) > max_docs:
            keep = _balanced_subset(keep, label_lists, max_docs)
        fitters = _start_fitters(workers, -(-len(labels) // FIT_GROUP))
        tf = counts.matrix()[keep]
        df = np.diff(tf.tocsc().indptr)
        terms = counts.terms()
        cols = sorted((j for j in np.flatnonzero(df >= 2)), key=lambda j: terms[j])
        if not cols:  # no word is shared by two judgments: nothing to learn (the build goes on without)
            _wait_started(fitters)  # the processes started above finish loading before they are left
            return None
        vocab = {terms[j]: k for k, j in enumerate(cols)}
        n_docs = len(keep)
        idf = (np.log((1 + n_docs) / (1 + df[cols])) + 1.0).astype(np.float32)  # sklearn's smooth idf
        x = tf[:, cols].tocsr()
        x.data = (1.0 + np.log(x.data)) * idf[x.indices]  # sublinear tf x idf, rows L2-normalised
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x = sp.csr_matrix(sp.diags(1.0 / norms) @ x, dtype=np.float32)
        # sklearn converts to float64 and sorts the indices of a copy on every fit: once here instead
        # (float32 -> float64 is exact, so the model is the same)
        x = x.astype(np.float64)
        x.sort_indices()
        y = np.zeros((len(keep), len(labels)), dtype=bool)
        index = {lab: j for j, lab in enumerate(labels)}
        for row, i in enumerate(keep):
            for lab in label_lists[i]:
                if lab in index:
                    y[row, index[lab]] = True
        coef = np.zeros((len(labels), len(vocab)), dtype=np.float32)
        bias = np.full(len(labels), -10.0, dtype=np.float32)
        # a charge every example has is certain; one the subsample lost keeps -10 (cannot be learned)
        bias[y.all(axis=0)] = 10.0
        todo = [j for j in range(len(labels)) if y[:, j].any() and not y[:, j].all()]
        for j, (w, b) in zip(todo, _fit_charges(x, y, todo, c, fitters, on_progress), strict=True):
            coef[j] = SIGMOID_SCALE * w
            bias[j] = SIGMOID_SCALE * b
        return cls(vocab, idf, coef, bias, labels)

    # ---------------------------------------------------------------- predicting
    def predict(self, tokens: list[str], top: int = 5) -> list[tuple[str, float]]:
        """(charge group, probability) best first; probabilities are independent (multi-label)."""
        x = _tfidf([tokens], self.vocab, self.idf)
        # a query has a few hundred distinct terms: gather those columns instead of a full product
        logits = self.coef[:, x.indices] @ x.data + self.bias
        prob = 1.0 / (1.0 + np.exp(-logits))
        order = sorted(range(len(prob)), key=lambda j: (-prob[j], self.labels[j]))[:top]
        return [(self.labels[j], float(prob[j])) for j in order]

    # ---------------------------------------------------------------- storage
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        terms = sorted(self.vocab, key=self.vocab.get)
        # not compressed: deflating the coefficients took 2 s of every build (and 0.1 s of every open)
        # to save ~24 MB; np.load reads both forms, so older indexes still open
        np.savez(
            buf,
            terms=np.array(terms, dtype=str),
            idf=self.idf,
            coef=self.coef.astype(np.float16),
            bias=self.bias,
            labels=np.array(self.labels, dtype=str),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ChargeModel:
        with np.load(io.BytesIO(data)) as z:
            vocab = {t: j for j, t in enumerate(z["terms"].tolist())}
            return cls(vocab, z["idf"], z["coef"].astype(np.float32), z["bias"], z["labels"].tolist())


def _fit_charge(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, float]:
    """A linear SVM for one charge (as accurate as logistic regression here, 5x faster to train);
    its margin is mapped to a probability by a fixed sigmoid: margin +1 -> 0.82, -1 -> 0.18."""
    from sklearn.svm import LinearSVC

    rows = _training_rows(y, seed)
    # liblinear shuffles with a generator seeded from random_state at every fit: the same model on
    # every build, whichever process fits it
    clf = LinearSVC(C=c, dual=True, max_iter=2000, random_state=0)
    clf.fit(x[rows], y[rows])
    return clf.coef_[0], float(clf.intercept_[0])


def _training_rows(y: np.ndarray, seed: int) -> np.ndarray:
    """The positives and a seeded random sample of the negatives (all of them when few), in order."""
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    n = max(MAX_NEGATIVES, NEGATIVES_PER_POSITIVE * len(pos))
    if len(neg) > n:
        neg = np.random.default_rng(seed).choice(neg, n, replace=False)
    return np.sort(np.concatenate([pos, neg]))


def _start_fitters(workers: int | None, n_groups: int):
    """The processes the charges will be fitted in, started now: spawning them and importing
    scikit-learn there (~0.8 s) then overlaps the preparation of the matrix in this process.
    None when the charges are fitted here (one worker, or one group of charges)."""
    n = min(workers or usable_cores(), n_groups)
    if n <= 1:
        return None
    from joblib import Parallel, delayed

    # results come back in order as they finish; joblib memory-maps the matrix once for them all
    run = Parallel(n_jobs=n, backend="loky", return_as="generator")
    return run, run(delayed(_load_fitter)() for _ in range(n))


def _wait_started(fitters):
    """Wait until every process of ``_start_fitters`` is up (its generator done, so the pool can be
    called again); the pool, or None when there is none."""
    if fitters is None:
        return None
    run, started = fitters
    for _ in started:
        pass
    return run


def _load_fitter() -> None:
    from sklearn.svm import LinearSVC  # noqa: F401


def _fit_charges(
    x: sp.csr_matrix,
    y: np.ndarray,
    todo: list[int],
    c: float,
    fitters,
    on_progress: Callable[[int], None] | None,
) -> Iterator[tuple[np.ndarray, float]]:
    """Fit the charges in ``todo``, yielded in that order, in the processes of ``_start_fitters``.
    Across processes, not threads: liblinear's generator is process-wide, so threads would draw from
    it in a racy order and builds would differ. Charges go out in groups of ``FIT_GROUP`` (one task
    per charge costs more in transfers)."""
    groups = [todo[k : k + FIT_GROUP] for k in range(0, len(todo), FIT_GROUP)]
    if fitters is None:
        fitted = (_fit_some(x, y[:, g], c, g) for g in groups)
    else:
        run = _wait_started(fitters)
        from joblib import delayed

        fitted = run(delayed(_fit_some)(x, y[:, g], c, g) for g in groups)
    for part in fitted:
        yield from part
        if on_progress:
            on_progress(len(part))


def _fit_some(x: sp.csr_matrix, ys: np.ndarray, c: float, seeds: list[int]) -> list[tuple[np.ndarray, float]]:
    """Fit the charges in the columns of ``ys``; each draws its negatives with its own seed (its label
    number), so the model is the same whichever process fits which group."""
    return [_fit_charge(x, ys[:, k], c, seed) for k, seed in enumerate(seeds)]


def _tfidf(token_lists: Sequence[list[str]], vocab: dict[str, int], idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf × idf, L2-normalised rows (sklearn's TfidfVectorizer(sublinear_tf=True) semantics)."""
    indptr, indices, data = [0], [], []
    for toks in token_lists:
        counts = Counter(vocab[t] for t in toks if t in vocab)
        cols = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
        vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * idf[cols]
        norm = float(np.linalg.norm(vals)) or 1.0
        indices.extend(cols.tolist())
        data.extend((vals / norm).tolist())
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.array(data, dtype=np.float32), np.array(indices, dtype=np.int32), np.array(indptr)),
        shape=(len(token_lists), len(vocab)),
    )


def _balanced_subset(keep: list[int], label_lists: Sequence[list[str]], max_docs: int) -> list[int]:
    """At most ``max_docs`` of ``keep``: each charge keeps up to an equal share, in a fixed random order."""
    order = np.random.default_rng(0).permutation(len(keep))
    n_labels = len({lab for i in keep for lab in label_lists[i]}) or 1
    cap = max(MIN_EXAMPLES, max_docs // n_labels)
    taken: Counter[str] = Counter()
    chosen = []
    for k in order:
        i = keep[k]
        if any(taken[lab] < cap for lab in label_lists[i]):
            chosen.append(i)
            taken.update(label_lists[i])
            if len(chosen) == max_docs:
                break
    return sorted(chosen)
