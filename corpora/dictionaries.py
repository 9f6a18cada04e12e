"""Legal dictionaries shipped as data: 罪名, legal terms for jieba, stop-words."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

_DATA = files("leian.corpora") / "data"


def _lines(name: str) -> list[str]:
    text = (_DATA / name).read_text(encoding="utf-8-sig")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@cache
def legal_words() -> tuple[tuple[str, int], ...]:
    """(word, jieba frequency) pairs that must stay whole when tokenised."""
    out = []
    for ln in _lines("legal_words.txt"):
        word, _, freq = ln.partition(" ")
        out.append((word, int(freq) if freq.strip() else 2000))
    return tuple(out)


@cache
def stopwords() -> frozenset[str]:
    return frozenset(_lines("stopwords.txt"))
