"""Argument groups and helpers shared by the subcommands: their flags go over the settings tree
(``leian.api.settings``), which holds the environment's and the config file's values."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from leian.api.commands._es_args import ES_FLAGS, add_es_arguments, es_flags
from leian.api.settings import Settings, load_settings
from leian.errors import InvalidInput, validation_message
from leian.retrieval.backends import BackendKind
from leian.retrieval.models import Filters
from leian.retrieval.search import SearchConfig

# setting -> the flag that sets it, for error messages
FLAGS = {
    "index": "--index",
    "backend": "--backend",
    "host": "--host",
    "port": "--port",
    "data_dir": "--data-dir",
    **{f"es.{field}": flag for field, flag in ES_FLAGS.items()},
}


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("index")
    g.add_argument(
        "--index", help="embedded: index directory; elasticsearch: index (alias) name [env LEIAN_INDEX]"
    )
    g.add_argument(
        "--backend",
        choices=[k.value for k in BackendKind],
        help="where the index lives (default: embedded) [env LEIAN_BACKEND]",
    )
    add_es_arguments(p)


def settings_from_args(args: argparse.Namespace, **more: Any) -> Settings:
    """The settings with the flags in ``args`` on top, and ``more`` (a subcommand's own settings)."""
    return load_settings(
        FLAGS,
        index=getattr(args, "index", None),
        backend=getattr(args, "backend", None),
        es=es_flags(args),
        ranking=ranking_flags(getattr(args, "config", None) or []),
        **more,
    )


@contextmanager
def progress(total: int | None, desc: str, unit: str = "doc", *, enabled: bool = True):
    """A tqdm bar on stderr (none unless ``enabled``: the settings' ``progress``, LEIAN_PROGRESS)."""
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled, dynamic_ncols=True)
    try:
        yield bar.update
    finally:
        bar.close()


def filters_from_args(args: argparse.Namespace) -> Filters:
    """``Filters`` from the filter options a subcommand defines (absent options are no filter)."""
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
        help="ranking settings (SearchConfig fields, e.g. w_court=0.5 w_recent=0.5) "
        "[env LEIAN_RANKING as JSON; [ranking] in the LEIAN_CONFIG file]",
    )


def parse_config(pairs: list[str]) -> SearchConfig:
    """``--config KEY=VALUE …`` as a validated SearchConfig."""
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


def ranking_flags(pairs: list[str]) -> dict[str, Any]:
    """The ranking settings ``--config KEY=VALUE …`` gives, validated (to override the settings' ``ranking``)."""
    return parse_config(pairs).model_dump(exclude_unset=True)
