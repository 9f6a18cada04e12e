"""The Elasticsearch connection options shared by `leian index/search/serve/report/...`.

Secrets are better given through the environment (LEIAN_ES_PASSWORD, LEIAN_ES_API_KEY) than on the
command line, where other users of the machine can read them in the process list.
"""

from __future__ import annotations

import argparse
import os


def add_es_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    g = p.add_argument_group("elasticsearch (with --backend elasticsearch)")
    g.add_argument(
        "--es-url",
        default=env("LEIAN_ES_URL", "http://127.0.0.1:9200"),
        help="cluster URL (default http://127.0.0.1:9200) [env LEIAN_ES_URL]",
    )
    g.add_argument(
        "--es-user", default=env("LEIAN_ES_USERNAME"), help="basic-auth user [env LEIAN_ES_USERNAME]"
    )
    g.add_argument(
        "--es-password", default=env("LEIAN_ES_PASSWORD"), help="basic-auth password [env LEIAN_ES_PASSWORD]"
    )
    g.add_argument(
        "--es-api-key", default=env("LEIAN_ES_API_KEY"), help="API key (base64 id:key) [env LEIAN_ES_API_KEY]"
    )
    g.add_argument(
        "--es-ca-certs",
        default=env("LEIAN_ES_CA_CERTS"),
        help="PEM file of the cluster's CA [env LEIAN_ES_CA_CERTS]",
    )
    g.add_argument(
        "--es-no-verify-certs",
        action="store_true",
        help="do not verify the cluster's TLS certificate (test clusters only)",
    )
    g.add_argument(
        "--es-timeout",
        type=float,
        default=float(env("LEIAN_ES_TIMEOUT", "10")),
        help="seconds before a search or admin call gives up (default 10) [env LEIAN_ES_TIMEOUT]",
    )
    g.add_argument("--es-shards", type=int, default=1, help="primary shards of a new index (default 1)")
    g.add_argument("--es-replicas", type=int, default=0, help="replicas of a new index (default 0)")
    g.add_argument(
        "--es-refresh",
        choices=["true", "false", "wait_for"],
        default="wait_for",
        help="when incremental writes become searchable (default wait_for: before the command returns)",
    )


def es_options_from_args(args: argparse.Namespace):
    """An ``ElasticOptions`` from the parsed arguments (invalid combinations raise ``InvalidInput``)."""
    from pydantic import ValidationError

    from leian.errors import InvalidInput
    from leian.retrieval.backends.elastic import ElasticOptions

    fields = {
        "url": args.es_url,
        "username": args.es_user,
        "password": args.es_password,
        "api_key": args.es_api_key,
        "ca_certs": args.es_ca_certs,
        "verify_certs": not args.es_no_verify_certs,
        "request_timeout": args.es_timeout,
        "shards": args.es_shards,
        "replicas": args.es_replicas,
        "refresh": args.es_refresh,
    }
    try:
        return ElasticOptions(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        flag = _FLAGS.get(field, "--es-" + field.replace("_", "-"))
        raise InvalidInput(f"{flag}: {err['msg']} (got {err.get('input')!r})") from None


_FLAGS = {"request_timeout": "--es-timeout", "username": "--es-user", "verify_certs": "--es-no-verify-certs"}


__all__ = ["add_es_arguments", "es_options_from_args"]
