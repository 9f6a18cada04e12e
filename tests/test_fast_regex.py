"""Guarded regexes (a first-character lookahead in front) match exactly as their plain patterns do."""

from __future__ import annotations

import gzip
import json
import re
from itertools import islice

import pytest

import leian.indexer.extract as extract_mod
import leian.indexer.extract_circumstances as circumstances_mod
import leian.indexer.extract_numbers as numbers_mod
import leian.indexer.sections as sections_mod
from leian.corpora.loaders import Loader
from leian.corpora.sample import sample_path
from leian.indexer.extract import extract
from leian.indexer.fast_regex import compile_guarded, first_chars, unguarded

MODULES = (extract_mod, circumstances_mod, numbers_mod, sections_mod)


def _guarded() -> dict[str, re.Pattern]:
    found = {}
    for mod in MODULES:
        for name, value in vars(mod).items():
            if isinstance(value, re.Pattern) and unguarded(value) is not value:
                found[f"{mod.__name__}.{name}"] = value
    return found


def _matches(pattern: re.Pattern, text: str) -> list:
    return [(m.span(), m.groups(), m.lastgroup) for m in pattern.finditer(text)]


@pytest.fixture(scope="module")
def sample_records():
    return list(Loader(sample_path()))


@pytest.mark.parametrize(
    ("pattern", "chars"),
    [
        ("自首|累犯", "自累"),
        ("(?<!重大)立功|坦白", "立坦"),  # a lookbehind is zero-width: the next item starts the match
        ("(?:人民币)?\\s*[0-9]+元", "人\\s0-9"),  # an optional prefix adds its own first characters
        ("(?P<a>被告人)(?P<b>甲)", "被"),
        ("[一-龥]{2,4}?法院", "一-龥"),
        ("a{0,2}b", "ab"),
        ("\\]x|-y", "\\]\\-"),  # class metacharacters stay escaped
        ("-y|\\]x", "\\-\\]"),
    ],
)
def test_first_chars_of_bounded_patterns(pattern, chars):
    assert first_chars(pattern) == chars


@pytest.mark.parametrize(
    "pattern",
    [
        ".罪",  # any character
        "[^。]+",  # a negated class
        "\\w*罪|\\S罪",  # \S is everything but a few
        "a?",  # can match the empty string
        "(?=罪)",
        "(?s)罪.",  # global inline flags must stay first
        "(?i:x)y",  # case-insensitive: the class would have to list both cases
        "(?:甲|[^乙])",  # one unbounded branch makes the whole pattern unbounded
        "",
    ],
)
def test_unbounded_patterns_stay_plain(pattern):
    assert first_chars(pattern) is None
    assert compile_guarded(pattern).pattern == pattern
    assert unguarded(compile_guarded(pattern)).pattern == pattern


def test_a_class_ending_in_a_bracket_round_trips():
    p = compile_guarded(r"-y|\]x")
    assert unguarded(p).pattern == r"-y|\]x"
    assert _matches(p, "a]x-y]") == _matches(re.compile(r"-y|\]x"), "a]x-y]") != []


def test_guarded_pattern_keeps_groups_and_round_trips():
    p = compile_guarded(r"(?P<n>\d+)元|(?P<c>[一二三]+)元")
    assert p.pattern.startswith("(?=[")
    assert p.groupindex == {"n": 1, "c": 2}
    assert unguarded(p).pattern == r"(?P<n>\d+)元|(?P<c>[一二三]+)元"
    assert _matches(p, "罚金3000元，二三元") == _matches(unguarded(p), "罚金3000元，二三元")


def test_the_extraction_patterns_are_guarded():
    names = {n.rsplit(".", 1)[1] for n in _guarded()}
    assert {"_KEYS", "MONEY_RE", "DURATION_RE", "_LAW_TOKEN", "_TAIL"} <= names


def test_guarded_patterns_match_as_plain_ones_on_every_sample_judgment(sample_records):
    patterns = _guarded()
    for rec in sample_records:
        for name, p in patterns.items():
            assert _matches(p, rec.text) == _matches(unguarded(p), rec.text), (name, rec.id)


def test_extraction_is_the_same_with_plain_patterns(sample_records, monkeypatch):
    fast = [extract(r).model_dump() for r in sample_records]
    for mod in MODULES:
        for name, value in list(vars(mod).items()):
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(mod, name, unguarded(value))
    assert [extract(r).model_dump() for r in sample_records] == fast


@pytest.mark.slow
def test_guarded_patterns_match_as_plain_ones_on_lecard(lecard_dir):
    patterns = _guarded()
    with gzip.open(lecard_dir / "docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in islice(fh, 1500):
            text = json.loads(line)["qw"]
            for name, p in patterns.items():
                assert _matches(p, text) == _matches(unguarded(p), text), name
