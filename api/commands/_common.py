"""Argument groups and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager


def add_backend_arguments(p: argparse.ArgumentParser, index_required: bool = True) -> None:
    g = p.add_argument_group("index")
    g.add_argument(
        "--index",
        required=index_required and not os.environ.get("LEIAN_INDEX"),
        default=os.environ.get("LEIAN_INDEX"),
        help="embedded: index directory; elasticsearch: index (alias) name [env LEIAN_INDEX]",
    )
    g.add_argument(
        "--backend",
        default=os.environ.get("LEIAN_BACKEND", "embedded"),
        choices=["embedded", "elasticsearch"],
        help="where the index lives (default: embedded)",
    )
    from leian.api.commands._es_args import add_es_arguments

    add_es_arguments(p)


def es_options(args: argparse.Namespace):
    if getattr(args, "backend", "embedded") != "elasticsearch":
        return None
    from leian.api.commands._es_args import es_options_from_args

    return es_options_from_args(args)


@contextmanager
def progress(total: int | None, desc: str, unit: str = "doc"):
    """A tqdm bar on stderr (quiet when stderr is not a terminal and LEIAN_PROGRESS=0)."""
    from tqdm import tqdm

    disable = os.environ.get("LEIAN_PROGRESS") == "0"
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True)
    try:
        yield bar.update
    finally:
        bar.close()


def filters_from_args(args: argparse.Namespace):
    """``Filters`` from the filter options a subcommand defines (absent options are no filter)."""
    from leian.errors import InvalidInput, validation_message
    from leian.retrieval.models import Filters

    try:
        return Filters(
            court_level=getattr(args, "court_level", None),
            province=getattr(args, "province", None),
            year_from=getattr(args, "year_from", None),
            year_to=getattr(args, "year_to", None),
            tier=getattr(args, "tier", None),
            charge=getattr(args, "charge_filter", None),
        )
    except ValueError as e:
        raise InvalidInput(f"bad filter: {validation_message(e)}") from None


def add_ranking_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="ranking settings (SearchConfig fields, e.g. w_court=0.5 w_recent=0.5)",
    )


def parse_config(pairs: list[str]):
    """``--config KEY=VALUE …`` as a validated SearchConfig."""
    from leian.errors import InvalidInput, validation_message
    from leian.retrieval.search import SearchConfig

    values = {}
    for pair in pairs:
        key, sep, val = pair.partition("=")
        if not sep or key not in SearchConfig.model_fields:
            valid = ", ".join(SearchConfig.model_fields)
            raise InvalidInput(f"bad --config {pair!r}: use KEY=VALUE with KEY one of {valid}")
        values[key] = val
    try:
        return SearchConfig.model_validate(values)
    except ValueError as e:
        raise InvalidInput(f"bad --config value: {validation_message(e)}") from None
