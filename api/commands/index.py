"""`leian index`: build an index from a corpus, or add / update / delete cases in one."""

from __future__ import annotations

import argparse
import sys

from leian.api.commands._common import add_backend_arguments, progress, settings_from_args
from leian.corpora.loaders import FORMATS
from leian.errors import InvalidInput
from leian.indexer.embedding import Precision
from leian.indexer.models import DEFAULT_MODEL, MODEL_NAMES
from leian.retrieval.backends import open_backend
from leian.retrieval.indexing import IndexJob


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "corpus", nargs="?", help="LeCaRD .jsonl(.gz), leian case-record .jsonl, a .txt or a folder of .txt"
    )
    add_backend_arguments(p)
    p.add_argument("--format", default="auto", choices=FORMATS, help="corpus format")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--add", action="store_true", help="add or update the corpus's cases in an existing index"
    )
    mode.add_argument(
        "--delete", nargs="+", metavar="ID", help="delete these case ids from an existing index"
    )
    p.add_argument(
        "--model",
        help=f"a model name ({', '.join(MODEL_NAMES)}) or a local sentence-transformers directory "
        f"(default: {DEFAULT_MODEL}, or with --add the index's)",
    )
    p.add_argument("--no-embeddings", action="store_true", help="BM25 and structure only (fast, no vectors)")
    p.add_argument("--embedding-cache", help="SQLite embedding cache (default: under $LEIAN_HOME)")
    p.add_argument(
        "--max-chunks",
        type=int,
        metavar="N",
        help="embed the first N chunks (512 tokens each) of every case's facts, 0 = all (default 4; "
        "1 embeds 2-3x faster for slightly lower quality, see the README); --add uses the index's",
    )
    p.add_argument(
        "--embed-precision",
        choices=[p.value for p in Precision],
        help="embed cases with the model's int8 ONNX copy (1.5-2x faster on CPU) or in float32 (default: "
        "int8 when the model has that copy; float32 to use vectors precomputed on a GPU); --add uses the index's",
    )
    p.add_argument("--limit", type=int, help="index at most N judgments")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, help="processes for extraction + jieba (default: cores, at most 4)")
    p.add_argument("--corpus-name", help="name recorded in the manifest (default: the file name)")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.delete:
        be = open_backend(settings.backend, index=settings.require_index(), es_options=settings.es)
        rep = be.delete(args.delete)
        for cid, why in rep.failed.items():
            print(f"leian index: {cid}: {why}", file=sys.stderr)
        print(f"deleted {rep.deleted} case(s); {be.count()} in the index", file=sys.stderr)
        return 0 if rep.deleted else 1
    for name in ("limit", "batch_size", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InvalidInput(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if args.max_chunks is not None and args.max_chunks < 0:
        raise InvalidInput(f"--max-chunks {args.max_chunks}: must be 0 (all chunks) or more")
    for name in ("max_chunks", "embed_precision"):
        if getattr(args, name) is not None and args.no_embeddings:
            flag = f"--{name.replace('_', '-')}"
            raise InvalidInput(f"{flag} applies to embeddings; it cannot go with --no-embeddings")
    if not args.corpus:
        raise InvalidInput("give a CORPUS to index (or --delete ID …)")
    job = IndexJob(
        corpus=args.corpus,
        fmt=args.format,
        backend=settings.backend,
        index=settings.require_index(),
        es_options=settings.es,
        model=args.model,
        embedding_options=settings.embedding,
        embeddings=not args.no_embeddings,
        embedding_cache=args.embedding_cache,
        max_chunks=args.max_chunks,
        embed_precision=args.embed_precision,
        limit=args.limit,
        batch_size=args.batch_size,
        **({"workers": args.workers} if args.workers else {}),
        corpus_name=args.corpus_name,
        on_problem=lambda msg: print(f"leian index: {msg}", file=sys.stderr),
        progress=progress if settings.progress else None,
    )
    summary = job.add() if args.add else job.build()
    print(summary.line(), file=sys.stderr)
    return 0 if summary.indexed else 1
