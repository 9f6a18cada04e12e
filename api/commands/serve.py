"""`leian serve`: the HTTP API (/v1, OpenAPI at /openapi.json, docs at /docs) and the web page (/)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import sys

import uvicorn

from leian.api.app import create_app
from leian.api.commands._common import add_backend_arguments, add_ranking_argument, settings_from_args
from leian.api.opening import open_searcher


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_backend_arguments(p)
    g = p.add_argument_group("server")
    g.add_argument("--host", help="address to listen on (default 127.0.0.1) [env LEIAN_HOST]")
    g.add_argument("--port", type=int, help="port (default 8000) [env LEIAN_PORT]")
    g.add_argument("--data-dir", help="where reports and batch jobs are kept (default: next to the index)")
    g.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without API keys, for local use only (otherwise keys come from `leian keys`, "
        "LEIAN_API_KEYS or the config file named by LEIAN_CONFIG)",
    )
    g.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_ranking_argument(g)


M_ARENA_MAX = -8  # glibc's mallopt parameter


def _two_malloc_arenas() -> None:
    """glibc gives threads that allocate their own malloc arenas (up to 8 per core), and the request
    threads then keep freed memory apart: under 16 clients the RSS climbed for minutes (bench/soak.py:
    716 → 878 MiB; with two arenas 701 → 777 MiB, flat). Set before any thread starts; an explicit
    MALLOC_ARENA_MAX, another libc or another OS is left alone."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)


def run(args: argparse.Namespace) -> int:
    _two_malloc_arenas()
    settings = settings_from_args(
        args,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        auth_disabled=True if args.no_auth else None,
    )
    # Our loggers only (uvicorn configures its own); the warning about --no-auth must be visible.
    logger = logging.getLogger("leian")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(args.log_level.upper())
    # Opened here, not in the app's lifespan, so that a missing or incompatible index is one line on
    # stderr and exit 1 (the CLI's contract) instead of a traceback from the server's startup.
    searcher = open_searcher(settings)
    try:
        app = create_app(settings, searcher=searcher)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    finally:
        searcher.close()
    return 0
