"""`leian index` / `leian search` as a user runs them: real subprocesses on real index directories.

Every bad input must end with one line on stderr and a non-zero exit, and must leave the index
exactly as it was (same count, same search result); an interrupted or killed rebuild must leave the
previous index usable."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leian.corpora.sample import sample_path, sample_queries_path
from leian.errors import InvalidInput
from leian.retrieval.backends.embedded import EmbeddedBackend
from leian.retrieval.search import open_searcher

ENV = {**os.environ, "LEIAN_PROGRESS": "0", "PYTHONUNBUFFERED": "1"}
ENV.pop("LEIAN_INDEX", None)
CLI = [sys.executable, "-m", "leian.api.cli"]
PROBE = "经审理查明，被告人在超市盗窃他人手机一部，价值人民币三千元，后被抓获，如实供述了犯罪事实。"
NEW_FACTS = (
    "经审理查明，2020年5月，被告人王某在古玩市场盗窃他人烟斗一只及鸵鸟蛋壳摆件两件，价值人民币五千元。"
)


def leian(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def one_error_line(p: subprocess.CompletedProcess, *needles: str) -> str:
    assert p.returncode != 0, p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def sample_docs() -> list[dict]:
    with gzip.open(sample_path(), "rt", encoding="utf-8") as fh:
        return [json.loads(x) for x in fh if x.strip()]


def write_jsonl(path: Path, objs: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for o in objs:
            fh.write(json.dumps(o, ensure_ascii=False) + "\n")
    return path


def snapshot(index: Path) -> tuple:
    """What must not change when a command fails: count, CURRENT, the ranking of a probe query."""
    from leian.retrieval.models import Query
    from leian.retrieval.search import open_searcher

    s = open_searcher(index=str(index))
    try:
        ranked = s.rank(Query(facts=PROBE, top_k=20))
        return s.backend.count(), (index / "CURRENT").read_text(), ranked
    finally:
        s.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "idx"
    p = leian("index", str(sample_path()), "--index", str(out), "--no-embeddings", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith(f"indexed 405 judgment(s) into {out} in ") and last.endswith("405 in the index")
    return out


@pytest.fixture
def index(built, tmp_path) -> Path:
    """A private copy of the built index, for tests that change it."""
    dst = tmp_path / "idx"
    shutil.copytree(built, dst)
    return dst


@pytest.fixture(scope="module")
def baseline(built) -> tuple:
    return snapshot(built)


def test_index_builds_a_usable_index(built, baseline):
    count, current, ranked = baseline
    assert count == 405 and current.startswith("gen-") and (built / current).is_dir()
    assert len(ranked) == 20 and ranked == sorted(ranked, key=lambda x: (-x[1], x[0]))
    assert EmbeddedBackend(built).manifest().dim is None


def test_search_json(built):
    p = leian("search", "--index", str(built), "--query", PROBE, "--format", "json", "--top", "7")
    assert p.returncode == 0, p.stderr
    (line,) = p.stdout.splitlines()
    data = json.loads(line)
    assert data["query_id"] == "q" and len(data["hits"]) == 7
    assert [h["rank"] for h in data["hits"]] == list(range(1, 8))
    assert all("record" not in h for h in data["hits"])
    assert data["charges_used"] == ["盗窃罪"]
    assert data["hits"][0]["reasons"] and data["hits"][0]["components"]["bm25"] > 0


def test_search_table(built):
    p = leian("search", "--index", str(built), "--query", PROBE, "--top", "3", "--charges", "盗窃罪")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("# query q  charges: 盗窃罪")
    ranks = [ln.split()[0] for ln in lines[1:] if not ln.startswith(" " * 7)]
    assert ranks == ["1", "2", "3"]
    assert any("罪名相同：盗窃罪" in ln for ln in lines)


def test_search_trec_never_returns_the_query_own_judgment(built, tmp_path):
    queries = [json.loads(x) for x in sample_queries_path().read_text(encoding="utf-8").splitlines() if x]
    qfile = write_jsonl(
        tmp_path / "q.jsonl", [{k: q[k] for k in ("id", "q", "source_doc_id")} for q in queries[:3]]
    )
    p = leian("search", "--index", str(built), "--queries", str(qfile), "--format", "trec", "--top", "30")
    assert p.returncode == 0, p.stderr
    by_q: dict[str, list[list[str]]] = {}
    for line in p.stdout.splitlines():
        f = line.split(" ")
        assert len(f) == 6 and f[1] == "Q0" and f[5] == "leian", line
        by_q.setdefault(f[0], []).append(f)
    assert list(by_q) == [str(q["id"]) for q in queries[:3]]
    for q in queries[:3]:
        rows = by_q[str(q["id"])]
        assert [int(r[3]) for r in rows] == list(range(1, 31))
        scores = [float(r[4]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        assert str(q["source_doc_id"]) not in {r[2] for r in rows}
        assert len({r[2] for r in rows}) == 30
    # without --top a trec run ranks the whole corpus (cases sharing no word included), minus the
    # query's own judgment; its head is the --top run
    deep = leian("search", "--index", str(built), "--queries", str(qfile), "--format", "trec")
    assert deep.returncode == 0, deep.stderr
    every = {c.id for c in EmbeddedBackend(built).iter_records()}
    for q in queries[:3]:
        rows = [ln.split(" ") for ln in deep.stdout.splitlines() if ln.startswith(f"{q['id']} ")]
        expected = every - {str(q["source_doc_id"])}
        assert len(rows) == len(expected) and {r[2] for r in rows} == expected
        assert rows[:30] == by_q[str(q["id"])]


def _searched(searcher, term: str) -> bool:
    try:
        return term in searcher.query_terms(term)[1]
    except InvalidInput:
        return False


def _unique_term(index: Path, cid: str) -> str:
    """A Chinese token only case ``cid`` has, and that a query searches for (no place name), to show
    whether its text still matches."""
    searcher = open_searcher(index=str(index))
    be = EmbeddedBackend(index)
    df: dict[str, int] = {}
    mine: list[str] = []
    for case in be.iter_indexed():
        for t in set(case.tokens):
            df[t] = df.get(t, 0) + 1
        if case.record.id == cid:
            mine = list(dict.fromkeys(case.tokens))
    term = next(
        t
        for t in mine
        if df[t] == 1
        and len(t) >= 2
        and all("\u4e00" <= ch <= "\u9fff" for ch in t)
        and _searched(searcher, t)
    )
    assert [c for c, _ in be.lexical([term], None, 5)] == [cid]
    return term


def _hit_ids(index: Path, query: str) -> list[str]:
    p = leian("search", "--index", str(index), "--query", query, "--format", "json", "--top", "20")
    assert p.returncode == 0, p.stderr
    return [h["id"] for h in json.loads(p.stdout)["hits"]]


def test_add_a_new_and_an_updated_case(index, tmp_path):
    docs = sample_docs()
    target = docs[10]
    old_term = _unique_term(index, str(target["id"]))
    assert _hit_ids(index, old_term)[0] == str(target["id"])
    assert _hit_ids(index, "烟斗 鸵鸟蛋壳") == []  # the new words are not in the corpus yet

    new = {**docs[0], "id": "990001", "ajjbqk": NEW_FACTS, "ajName": "王某盗窃一案"}
    updated = {**target, "ajjbqk": NEW_FACTS.replace("烟斗一只及鸵鸟蛋壳摆件两件", "紫檀茶盘三只")}
    corpus = write_jsonl(tmp_path / "add.jsonl", [new, updated])
    p = leian("index", str(corpus), "--index", str(index), "--add", "--no-embeddings", "--workers", "1")
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("indexed 2 judgment(s)")
    assert p.stderr.strip().endswith("406 in the index")

    assert EmbeddedBackend(index).count() == 406
    assert _hit_ids(index, "烟斗 鸵鸟蛋壳") == ["990001"]
    assert _hit_ids(index, "紫檀")[0] == str(target["id"])
    assert str(target["id"]) not in _hit_ids(index, old_term)  # its old text no longer matches it
    rec = EmbeddedBackend(index).get([str(target["id"])])[str(target["id"])]
    assert "紫檀茶盘" in rec.sections.facts


def test_delete(index):
    docs = sample_docs()
    victim = str(docs[20]["id"])
    term = _unique_term(index, victim)
    p = leian("index", "--index", str(index), "--delete", victim)
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == "deleted 1 case(s); 404 in the index"
    assert victim not in _hit_ids(index, term)
    assert victim not in _hit_ids(index, docs[20]["ajjbqk"][:300])
    again = leian("index", "--index", str(index), "--delete", victim)
    assert again.returncode == 1 and f"{victim}: no such case" in again.stderr
    assert EmbeddedBackend(index).count() == 404


def test_writes_during_a_build_are_refused_in_one_line_and_change_nothing(index, baseline, tmp_path):
    from leian.retrieval.backends import new_manifest

    docs = sample_docs()
    extra = write_jsonl(tmp_path / "add.jsonl", [{**docs[0], "id": "990001", "ajjbqk": NEW_FACTS}])
    victim = str(docs[20]["id"])
    m = new_manifest("embedded", "idx", tokenizer="t", dim=None)
    with pytest.raises(RuntimeError, match="abandoned"), EmbeddedBackend.building(index, m):
        for args, says in (
            ((str(extra), "--add"), "being rebuilt (build by process"),
            (("--delete", victim), "a case written now would be lost"),
            ((str(extra),), "being rebuilt by another process"),
        ):
            p = leian("index", *args, "--index", str(index), "--no-embeddings", "--workers", "1")
            one_error_line(p, "leian index: error:", says)
        raise RuntimeError("abandoned")  # the build fails: the index must be as it was
    assert snapshot(index)[0] == baseline[0] and snapshot(index)[2] == baseline[2]
    p = leian("index", str(extra), "--index", str(index), "--add", "--no-embeddings", "--workers", "1")
    assert p.returncode == 0 and p.stderr.strip().endswith("406 in the index"), p.stderr


def _file_size_limit(max_bytes: int):
    """For the child process: a file size limit, so that its writes fail as on a full disk."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))


def test_writes_that_fail_are_one_line_and_change_nothing(index, baseline, tmp_path):
    docs = sample_docs()
    extra = write_jsonl(tmp_path / "add.jsonl", [{**docs[0], "id": "990001", "ajjbqk": NEW_FACTS}])
    for args, limit, says in (
        ((str(sample_path()),), 2 << 20, "the build is abandoned and the previous index kept"),
        ((str(extra), "--add"), 50 << 10, "nothing was changed"),
        (("--delete", *[str(d["id"]) for d in docs[:40]]), 50 << 10, "nothing was changed"),
    ):
        p = subprocess.run(
            [*CLI, "index", *args, "--index", str(index), "--no-embeddings", "--workers", "1"],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=300,
            preexec_fn=_file_size_limit(limit),
        )
        one_error_line(p, "leian index: error: could not write to the index", says)
        after = snapshot(index)
        assert after[0] == baseline[0] and after[2] == baseline[2]
    assert not list(index.glob("gen-*.tmp"))
    # so full that the index cannot even be opened: said so, and no advice to rebuild it
    p = subprocess.run(
        [*CLI, "search", "--index", str(index), "--query", PROBE],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        preexec_fn=_file_size_limit(1 << 10),
    )
    assert "rebuild" not in one_error_line(p, "cannot be opened", "is the disk full?")
    assert snapshot(index)[2] == baseline[2]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    huge = write_jsonl(d / "huge.jsonl", [{"id": "big", "q": "被告人盗窃财物。" * 131072}])  # ~1 MB
    # judgment-shaped lines that hold no judgment: every one is skipped, so nothing is indexed
    lines = [
        {"id": str(i), "ajName": "x", "ajjbqk": "", "cpfxgc": "", "pjjg": "", "qw": "lorem ipsum"}
        for i in range(3)
    ]
    unreadable = write_jsonl(d / "unreadable.jsonl", lines)
    with open(unreadable, "a", encoding="utf-8") as fh:
        fh.write("{broken json\n")
    return {"huge": huge, "unreadable": unreadable}


SEARCH_ERRORS = {
    "empty-query": (["--query", ""], "facts is empty"),
    "whitespace-query": (["--query", "  \t "], "facts is empty"),
    "punctuation-query": (["--query", "！！。。"], "no searchable Chinese words"),
    "unknown-court-level": (["--query", PROBE, "--court-level", "乡镇"], "乡镇"),
    "unknown-tier": (["--query", PROBE, "--tier", "特别"], "特别"),
    "bad-config-key": (["--query", PROBE, "--config", "nonsense=1"], "nonsense"),
    "bad-config-value": (["--query", PROBE, "--config", "candidates=3"], "candidates"),
    "bad-year": (["--query", PROBE, "--year-from", "1800"], "year_from"),
    "top-zero": (["--query", PROBE, "--top", "0"], "top"),
    "top-too-large": (["--query", PROBE, "--top", "5000"], "top"),
    # values that could never match: refused, not an empty result
    "unknown-province": (["--query", PROBE, "--province", "火星"], "unknown province '火星'"),
    "unknown-charge-filter": (["--query", PROBE, "--charge-filter", "外星罪"], "unknown 罪名 '外星罪'"),
    "unknown-given-charge": (["--query", PROBE, "--charges", "醉驾"], "unknown 罪名 '醉驾'"),
}


def test_short_province_and_charge_names_filter_as_the_full_ones(built):
    def ids(*args: str) -> list[str]:
        p = leian("search", "--index", str(built), "--query", PROBE, "--format", "json", "--top", "5", *args)
        assert p.returncode == 0, p.stderr
        return [h["id"] for h in json.loads(p.stdout)["hits"]]

    full = ids("--province", "北京市", "--charge-filter", "盗窃罪")
    assert full and ids("--province", "北京", "--charge-filter", "盗窃") == full


@pytest.mark.parametrize("case", list(SEARCH_ERRORS), ids=list(SEARCH_ERRORS))
def test_bad_search_input_is_one_line_and_changes_nothing(built, baseline, case):
    args, needle = SEARCH_ERRORS[case]
    one_error_line(leian("search", "--index", str(built), *args), needle)
    assert snapshot(built) == baseline


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('{"id": "b", "q": ""}', "facts is empty"),
        ('{"id": "b", "q": "12345 678"}', "no searchable Chinese words"),
        ('{"id": "b", "q": "被告人盗窃", "charges": "盗窃罪"}', "charges"),
        ("not json", "not a line of JSON"),
        ('["q"]', "'id' and 'q'"),
        ('{"id": "a", "q": "被告人抢劫手机一部。"}', "duplicate query id 'a' (first on line 1)"),
    ],
)
def test_a_bad_line_of_a_batch_is_named_before_anything_is_searched(built, tmp_path, line, needle):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(f'{{"id": "a", "q": "{PROBE}"}}\n\n{line}\n', encoding="utf-8")
    p = leian("search", "--index", str(built), "--queries", str(qfile), "--format", "trec")
    one_error_line(p, f"{qfile}:3: ", needle)
    assert p.stdout == ""  # no half run


def test_a_one_megabyte_query_is_refused(built, baseline, bad_inputs):
    assert bad_inputs["huge"].stat().st_size > 1_000_000
    p = leian("search", "--index", str(built), "--queries", str(bad_inputs["huge"]))
    one_error_line(p, "limit")
    assert snapshot(built) == baseline


def test_missing_index(tmp_path):
    p = leian("search", "--index", str(tmp_path / "nowhere"), "--query", PROBE)
    one_error_line(p, "no index at", "leian index")
    p = leian("index", "--index", str(tmp_path / "nowhere"), "--delete", "1")
    one_error_line(p, "no index at")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("damage", ["dangling-CURRENT", "garbage-manifest"])
def test_corrupt_index(index, damage):
    gen = index / (index / "CURRENT").read_text().strip()
    if damage == "dangling-CURRENT":
        (index / "CURRENT").write_text("gen-19700101T000000-000000")
        needle = "CURRENT names gen-19700101T000000-000000"
    else:
        (gen / "manifest.json").write_text("\x00\x01 not a manifest", encoding="utf-8")
        needle = "unreadable manifest"
    for cmd in (
        ["search", "--index", str(index), "--query", PROBE],
        ["index", "--index", str(index), "--delete", "1"],
    ):
        one_error_line(leian(*cmd), needle, "rebuild")


def test_an_unreadable_corpus_keeps_the_previous_index(index, bad_inputs, baseline):
    p = leian(
        "index", str(bad_inputs["unreadable"]), "--index", str(index), "--no-embeddings", "--workers", "1"
    )
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1] == (
        f"leian index: error: nothing could be indexed from {bad_inputs['unreadable']}; the previous index is kept"
    )
    missing = leian("index", str(index / "no-such-corpus.jsonl"), "--index", str(index), "--no-embeddings")
    one_error_line(missing, "no-such-corpus.jsonl")
    assert snapshot(index) == baseline
    assert not list(index.glob("*.tmp"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "pdf"], "pdf"),
        (["--limit", "-1"], "limit"),
        (["--batch-size", "0"], "batch"),
        (["--max-chunks", "1"], "--max-chunks applies to embeddings"),
        (["--embed-precision", "int8"], "--embed-precision applies to embeddings"),
        (["--embed-precision", "int4"], "invalid choice: 'int4'"),
    ],
    ids=["format", "limit", "batch-size", "chunks-without-vectors", "precision-without-vectors", "precision"],
)
def test_bad_index_options_change_nothing(index, baseline, args, needle):
    p = leian("index", str(sample_path()), "--index", str(index), "--no-embeddings", *args)
    one_error_line(p, needle)
    assert snapshot(index) == baseline


def test_an_index_path_that_cannot_be_created_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    p = leian("index", str(sample_path()), "--index", str(blocker / "idx"), "--no-embeddings", "--limit", "5")
    one_error_line(p, f"cannot create the index directory {blocker / 'idx'}: Not a directory")
    assert blocker.read_text() == "mine"


def _big_corpus(path: Path, copies: int = 6) -> Path:
    docs = sample_docs()
    out = [{**d, "id": str(int(d["id"]) + 1_000_000 * k)} for k in range(1, copies + 1) for d in docs]
    return write_jsonl(path, out)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_rebuild_keeps_the_previous_index(index, baseline, tmp_path, sig):
    big = _big_corpus(tmp_path / "big.jsonl.gz")
    proc = subprocess.Popen(
        [*CLI, "index", str(big), "--index", str(index), "--no-embeddings", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        # A shell that runs the tests in the background (`scripts/test &`) leaves SIGINT ignored, and
        # children inherit that: give the build the default disposition a terminal's Ctrl-C meets.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while not list(index.glob("gen-*.tmp")):  # wait until the new generation is being written
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the build never started writing"
            time.sleep(0.05)
        time.sleep(1.0)
        assert proc.poll() is None, "the build finished before it could be interrupted; use a bigger corpus"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0, err[-2000:]
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
        assert not list(index.glob("*.tmp"))  # an interrupted build cleans up after itself
    assert snapshot(index) == baseline  # the first index is untouched and still searchable
    assert _hit_ids(index, PROBE)
