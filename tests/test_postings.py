"""Term counts: first-seen term ids, the judgments x terms matrix and its term-major postings."""

from leian.indexer.postings import CountsTerms, TermCounts


def test_term_ids_are_first_seen_and_the_matrices_hold_the_counts():
    counts = TermCounts()
    counts.add(["盗窃", "手机", "盗窃"], ["盗窃罪"])
    counts.add_counts({"诈骗": 1, "手机": 3}, [])
    assert counts.vocab == {"盗窃": 0, "手机": 1, "诈骗": 2} and counts.terms() == ["盗窃", "手机", "诈骗"]
    assert counts.labels == [["盗窃罪"], []]
    assert counts.matrix().toarray().tolist() == [[2, 1, 0], [0, 3, 1]]
    postings = counts.term_major()
    assert postings.toarray().tolist() == [[2, 0], [1, 3], [0, 1]] and postings.has_sorted_indices


def test_a_builder_that_counts_terms_is_told_apart_by_its_type():
    class Counting:
        def __init__(self):
            self.term_counts = TermCounts()

    assert isinstance(Counting(), CountsTerms) and not isinstance(object(), CountsTerms)
