"""The indexing pipeline's fast path (terms counted in worker processes, tokens kept as one string,
records sent back in compact form) gives exactly what extracting and tokenising each case here gives:
same records, tokens, counts and fields, in the same order."""

from __future__ import annotations

import pickle
from collections import Counter
from itertools import islice

import numpy as np
import pytest

from leian.corpora.dictionaries import charge_group
from leian.corpora.loaders import load
from leian.corpora.record import CaseRecord
from leian.corpora.sample import sample_path
from leian.indexer.indexed import CaseFields, IndexedCase
from leian.indexer.pipeline import extract_keeping_sections, prepare, search_text
from leian.indexer.tokenize import Tokenizer


@pytest.fixture(scope="module")
def records():
    return list(islice(load(str(sample_path())), 60))


@pytest.mark.parametrize("workers", [1, 2])
def test_prepared_cases_equal_tokenising_each_case(records, workers):
    tok = Tokenizer()
    got = list(prepare(records, tok, batch_size=16, workers=workers))
    assert [c.record.id for c in got] == [r.id for r in records]
    for case, r in zip(got, records, strict=True):
        want = tok.tokenize(search_text(extract_keeping_sections(r)))
        assert case.tokens == want and case.token_text == " ".join(want)
        assert dict(case.term_counts) == Counter(want) and case.n_tokens == len(want)
        assert list(case.term_counts) == list(dict.fromkeys(want))  # first-seen order: term ids


@pytest.mark.parametrize("workers", [1, 2])
def test_prepared_cases_carry_the_extracted_record(records, workers):
    # from a worker process a case arrives as its compact JSON and fields; both must give back
    # exactly the record extracted here, and the fields computed from it
    got = list(prepare(records, Tokenizer(), batch_size=16, workers=workers))
    for case, r in zip(got, records, strict=True):
        want = extract_keeping_sections(r)
        assert case.id == r.id and case.fields == CaseFields.of(want)
        assert case.charge_groups == sorted({charge_group(c) for c in want.charges})
        assert case.record == want and CaseRecord.from_compact_json(case.compact) == want


def test_a_case_crosses_processes_in_compact_form_and_decodes_its_record_only_when_asked(records):
    r = extract_keeping_sections(records[0])
    vec = np.arange(4, dtype=np.float32)
    case = IndexedCase(r, token_text="盗窃 手机 盗窃", vector=vec)
    back = pickle.loads(pickle.dumps(case))
    assert back.id == r.id and back.fields == CaseFields.of(r) and back.charge_groups == case.charge_groups
    assert back.token_text == case.token_text and dict(back.term_counts) == {"盗窃": 2, "手机": 1}
    assert np.array_equal(back.vector, vec)
    assert repr(back) == f"IndexedCase(id={r.id!r}, 3 tokens, vector[4])"
    assert "record" not in vars(back)  # nothing above needed the record itself
    assert back.record == r
    # the compact form alone (as an index stores it) is a case too; its fields come from the record
    stored = IndexedCase(compact=r.to_compact_json(), token_text="")
    assert stored.fields == CaseFields.of(r) and stored.tokens == [] and stored.n_tokens == 0
    with pytest.raises(TypeError):
        IndexedCase(token_text="盗窃")
    with pytest.raises(TypeError):
        IndexedCase(r)


def test_a_case_made_from_a_token_list_is_the_same_case():
    r = next(iter(load(str(sample_path()))))
    a = IndexedCase(record=r, tokens=["盗窃", "手机", "盗窃"])
    b = IndexedCase(record=r, token_text="盗窃 手机 盗窃", counts={"盗窃": 2, "手机": 1})
    for c in (a, b):
        assert c.tokens == ["盗窃", "手机", "盗窃"] and c.token_text == "盗窃 手机 盗窃"
        assert dict(c.term_counts) == {"盗窃": 2, "手机": 1} and c.n_tokens == 3
    empty = IndexedCase(record=r, tokens=[])
    assert empty.tokens == [] and empty.n_tokens == 0 and not empty.term_counts


def test_bulk_collection_restores_the_collector_after_overlapping_jobs():
    import gc
    import threading

    from leian.indexer.pipeline import bulk_collection

    before = gc.get_threshold()
    first, second = bulk_collection(), bulk_collection()
    first.__enter__()
    assert gc.get_threshold() != before
    entered, leave = threading.Event(), threading.Event()

    def job():
        with second:
            entered.set()
            leave.wait(10)

    t = threading.Thread(target=job)
    t.start()
    entered.wait(10)
    first.__exit__(None, None, None)  # the first job ends while the second still runs
    assert gc.get_threshold() != before
    leave.set()
    t.join(10)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
