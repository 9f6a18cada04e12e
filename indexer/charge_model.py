"""Predict a new case's charges from its facts, learned from the indexed corpus itself.

A one-vs-rest linear classifier over TF-IDF of the same jieba tokens the index uses, trained at
index time on the charges extracted from each judgment (canonical charge groups, so 贩卖毒品罪 and
走私、贩卖、运输、制造毒品罪 are one label). The model ships inside the index (an artifact), so a
query never needs the training corpus, and it is rebuilt with every full build.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

SIGMOID_SCALE = 1.5
MIN_EXAMPLES = 3  # a charge seen fewer times cannot be learned; it can still match via the search itself


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
        cls, token_lists: Sequence[list[str]], label_lists: Sequence[list[str]], *, c: float = 0.5
    ) -> ChargeModel | None:
        """Returns None when the corpus has too few labelled cases to learn from."""
        from sklearn.svm import LinearSVC

        counts = Counter(lab for labs in label_lists for lab in set(labs))
        labels = sorted(lab for lab, n in counts.items() if n >= MIN_EXAMPLES)
        keep = [i for i, labs in enumerate(label_lists) if labs]
        if len(labels) < 2 or len(keep) < 10:
            return None
        df = Counter(t for i in keep for t in set(token_lists[i]))
        vocab = {t: j for j, t in enumerate(sorted(t for t, n in df.items() if n >= 2))}
        n_docs = len(keep)
        idf = np.zeros(len(vocab), dtype=np.float64)
        for t, j in vocab.items():
            idf[j] = np.log((1 + n_docs) / (1 + df[t])) + 1.0  # sklearn's smooth idf
        x = _tfidf([token_lists[i] for i in keep], vocab, idf.astype(np.float32))
        y = np.zeros((len(keep), len(labels)), dtype=bool)
        index = {lab: j for j, lab in enumerate(labels)}
        for row, i in enumerate(keep):
            for lab in label_lists[i]:
                if lab in index:
                    y[row, index[lab]] = True
        coef = np.zeros((len(labels), len(vocab)), dtype=np.float32)
        bias = np.full(len(labels), -10.0, dtype=np.float32)
        for j in range(len(labels)):
            if y[:, j].all():
                bias[j] = 10.0
                continue
            # A linear SVM per charge (as accurate as logistic regression here, 5x faster to train);
            # its margin is mapped to a probability by a fixed sigmoid: margin +1 -> 0.82, -1 -> 0.18.
            clf = LinearSVC(C=c, dual=True, max_iter=2000)
            clf.fit(x, y[:, j])
            coef[j] = SIGMOID_SCALE * clf.coef_[0]
            bias[j] = SIGMOID_SCALE * clf.intercept_[0]
        return cls(vocab, idf, coef, bias, labels)

    # ---------------------------------------------------------------- predicting
    def predict(self, tokens: list[str], top: int = 5) -> list[tuple[str, float]]:
        """(charge group, probability) best first; probabilities are independent (multi-label)."""
        x = _tfidf([tokens], self.vocab, self.idf)
        logits = np.asarray(x @ self.coef.T).ravel() + self.bias
        prob = 1.0 / (1.0 + np.exp(-logits))
        order = sorted(range(len(prob)), key=lambda j: (-prob[j], self.labels[j]))[:top]
        return [(self.labels[j], float(prob[j])) for j in order]

    # ---------------------------------------------------------------- storage
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        terms = sorted(self.vocab, key=self.vocab.get)
        np.savez_compressed(
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
