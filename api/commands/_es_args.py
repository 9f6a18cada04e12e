"""The Elasticsearch connection options shared by `leian index/search/serve/report/...`: flags over
the ``es`` part of the settings (``LEIAN_ES_*``, the config file's ``[es]``).

Secrets are better given through the environment (LEIAN_ES_PASSWORD, LEIAN_ES_API_KEY) than on the
command line, where other users of the machine can read them in the process list.
"""

from __future__ import annotations

import argparse
from typing import Any, get_args

from leian.api.settings import load_settings
from leian.retrieval.backends.elastic import ElasticOptions

# ElasticOptions field -> its flag
ES_FLAGS = {
    "url": "--es-url",
    "username": "--es-user",
    "password": "--es-password",
    "api_key": "--es-api-key",
    "ca_certs": "--es-ca-certs",
    "verify_certs": "--es-no-verify-certs",
    "request_timeout": "--es-timeout",
    "shards": "--es-shards",
    "replicas": "--es-replicas",
    "refresh": "--es-refresh",
}


def add_es_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("elasticsearch (with --backend elasticsearch)")
    g.add_argument("--es-url", help="cluster URL (default http://127.0.0.1:9200) [env LEIAN_ES_URL]")
    g.add_argument("--es-user", help="basic-auth user [env LEIAN_ES_USERNAME]")
    g.add_argument("--es-password", help="basic-auth password [env LEIAN_ES_PASSWORD]")
    g.add_argument("--es-api-key", help="API key (base64 id:key) [env LEIAN_ES_API_KEY]")
    g.add_argument("--es-ca-certs", help="PEM file of the cluster's CA [env LEIAN_ES_CA_CERTS]")
    g.add_argument(
        "--es-no-verify-certs",
        action="store_true",
        help="do not verify the cluster's TLS certificate (test clusters only)",
    )
    g.add_argument(
        "--es-timeout",
        type=float,
        help="seconds before a search or admin call gives up (default 10) [env LEIAN_ES_TIMEOUT]",
    )
    g.add_argument("--es-shards", type=int, help="primary shards of a new index (default 1)")
    g.add_argument("--es-replicas", type=int, help="replicas of a new index (default 0)")
    g.add_argument(
        "--es-refresh",
        choices=get_args(ElasticOptions.model_fields["refresh"].annotation),
        help="when incremental writes become searchable (default wait_for: before the command returns)",
    )


def es_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ElasticOptions`` fields given on the command line (to override the settings' ``es``)."""
    values = {
        field: getattr(args, flag.removeprefix("--").replace("-", "_"), None)
        for field, flag in ES_FLAGS.items()
    }
    values["verify_certs"] = False if values["verify_certs"] else None  # the flag only turns it off
    return {k: v for k, v in values.items() if v is not None}


def es_options_from_args(args: argparse.Namespace) -> ElasticOptions:
    """The settings' Elasticsearch options with the flags on top (a bad value raises ``InvalidInput``
    naming its flag)."""
    return load_settings({f"es.{k}": v for k, v in ES_FLAGS.items()}, es=es_flags(args)).es


__all__ = ["ES_FLAGS", "add_es_arguments", "es_flags", "es_options_from_args"]
