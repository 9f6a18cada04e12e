"""The charge model: TF-IDF identical to scikit-learn's, learns, round-trips, subsamples fairly."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from leian.indexer.charge_model import (
    MAX_NEGATIVES,
    NEGATIVES_PER_POSITIVE,
    ChargeModel,
    _balanced_subset,
    _tfidf,
    _training_rows,
)
from leian.indexer.postings import TermCounts

THEFT = ["盗窃", "财物", "价值", "窃取", "手机", "超市"]
DRUNK = ["醉酒", "驾驶", "机动车", "血液", "酒精", "道路"]
FRAUD = ["诈骗", "虚构", "骗取", "转账", "冒充", "微信"]


def corpus(n=30):
    rng = np.random.default_rng(1)
    docs, labels = [], []
    for i in range(n):
        for words, lab in ((THEFT, "盗窃罪"), (DRUNK, "危险驾驶罪"), (FRAUD, "诈骗罪")):
            docs.append(list(rng.choice(words, size=12)) + [f"名字{i}", "被告人", "查明"])
            labels.append([lab])
    return docs, labels


def test_tfidf_matches_scikit_learn():
    docs, labels = corpus()
    model = ChargeModel.train(docs, labels)
    ref = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=2, dtype=np.float64)
    x_ref = ref.fit_transform(docs)
    assert sorted(model.vocab) == sorted(ref.vocabulary_)
    cols = [ref.vocabulary_[t] for t in sorted(model.vocab, key=model.vocab.get)]
    ours = _tfidf(docs, model.vocab, model.idf).toarray()
    assert np.allclose(ours, x_ref.toarray()[:, cols], atol=1e-5)


def test_learns_and_round_trips():
    docs, labels = corpus()
    model = ChargeModel.train(docs, labels)
    assert model.predict(["醉酒", "驾驶", "机动车", "血液"])[0][0] == "危险驾驶罪"
    assert model.predict(["虚构", "骗取", "转账"])[0][0] == "诈骗罪"
    again = ChargeModel.from_bytes(model.to_bytes())
    q = ["盗窃", "手机", "超市"]
    assert again.predict(q)[0][0] == model.predict(q)[0][0] == "盗窃罪"
    assert abs(again.predict(q)[0][1] - model.predict(q)[0][1]) < 1e-2  # float16 coefficients


def test_too_few_labelled_cases_gives_no_model():
    assert ChargeModel.train([["盗窃"]] * 5, [["盗窃罪"]] * 5) is None


def test_judgments_sharing_no_word_give_no_model_instead_of_failing():
    docs = [[f"词{i}"] for i in range(12)]
    labels = [["盗窃罪"] if i % 2 else ["诈骗罪"] for i in range(12)]
    assert ChargeModel.train(docs, labels) is None
    assert ChargeModel.train(docs, labels, workers=2) is None


def test_balanced_subset_is_bounded_deterministic_and_keeps_rare_charges():
    labels = [["盗窃罪"]] * 900 + [["危险驾驶罪"]] * 90 + [["抢劫罪"]] * 10
    keep = list(range(len(labels)))
    a = _balanced_subset(keep, labels, 200)
    assert a == _balanced_subset(keep, labels, 200)
    assert len(a) <= 200
    assert sum(labels[i] == ["抢劫罪"] for i in a) == 10
    counts = TermCounts()
    for i in range(len(labels)):
        counts.add(["词"], labels[i])
    assert counts.matrix().shape == (1000, 1)


def test_each_charge_trains_on_its_positives_and_a_bounded_seeded_sample_of_negatives():
    n = 3 * MAX_NEGATIVES
    rare = np.zeros(n, dtype=bool)
    rare[[5, 700, 4000]] = True
    rows = _training_rows(rare, seed=7)
    assert set(np.flatnonzero(rare)) <= set(rows) and len(rows) == 3 + MAX_NEGATIVES
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == len(rows)
    assert np.array_equal(rows, _training_rows(rare, seed=7))
    assert not np.array_equal(rows, _training_rows(rare, seed=8))
    frequent = np.arange(n) % 5 == 0  # many positives keep NEGATIVES_PER_POSITIVE negatives each
    want = min(n, frequent.sum() * (1 + NEGATIVES_PER_POSITIVE))
    assert len(_training_rows(frequent, seed=0)) == want
    few = np.arange(50) < 3  # a small corpus: every case
    assert np.array_equal(_training_rows(few, seed=0), np.arange(50))


def test_training_is_reproducible():
    # liblinear shuffles at random: with its seed fixed, two builds of one corpus give one model
    docs, labels = corpus()
    first = ChargeModel.train(docs, labels)
    again = ChargeModel.train(docs, labels)
    assert first.labels == again.labels
    assert np.array_equal(first.coef, again.coef) and np.array_equal(first.bias, again.bias)


def test_fitting_in_several_processes_gives_the_one_process_model():
    docs, labels = corpus()
    serial = ChargeModel.train(docs, labels, workers=1)
    ticks = []
    parallel = ChargeModel.train(docs, labels, workers=2, on_progress=ticks.append)
    assert sum(ticks) == len(parallel.labels) == 3  # progress counts every charge fitted
    assert serial.labels == parallel.labels
    assert np.array_equal(serial.coef, parallel.coef) and np.array_equal(serial.bias, parallel.bias)
