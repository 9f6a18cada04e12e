"""``ElasticBackend``, assembled from its parts, and opening and dropping a logical index."""

from __future__ import annotations

from leian.errors import IndexIncompatible, IndexMissing
from leian.retrieval.backends.base import BackendKind
from leian.retrieval.backends.elastic.artifacts import ElasticArtifacts
from leian.retrieval.backends.elastic.build import ElasticBuild
from leian.retrieval.backends.elastic.connection import aliases, make_client, translated
from leian.retrieval.backends.elastic.options import ElasticOptions, check_name
from leian.retrieval.backends.elastic.reader import ElasticReader
from leian.retrieval.backends.elastic.writer import ElasticWriter


class ElasticBackend(ElasticBuild, ElasticWriter, ElasticArtifacts, ElasticReader):
    """Reads and writes one logical leian index on an Elasticsearch cluster.

    Opened with ``open_elastic`` it addresses the aliases (so it follows rebuilds); inside
    ``ElasticBackend.building`` it addresses the new concrete indices until they are swapped in.
    """

    name = BackendKind.elasticsearch.value


def open_elastic(
    options: ElasticOptions,
    name: str,
    *,
    tokenizer: str | None = None,
    model_fingerprint: str | None = None,
) -> ElasticBackend:
    """Open the live index ``name`` for searching and incremental writes.

    Refused with a clear error when it is missing, was not built by leian, has a conflicting
    mapping, another format version, or (when given) another tokenizer / embedding model fingerprint.
    """
    b = ElasticBackend(options, name)
    try:
        if not aliases(b._client, options.url, name):
            if b._call("checking the name", b._client.indices.exists, index=name):
                raise IndexIncompatible(
                    f"Elasticsearch index {name} at {options.url} was not created by leian (it is not an "
                    "alias); choose another --index name"
                ) from None
            raise IndexMissing(
                f"no Elasticsearch index {name!r} at {options.url}: build it with `leian index CORPUS "
                f"--backend elasticsearch --es-url {options.url} --index {name}`"
            ) from None
        b._check_mapping()
        b._check_manifest(tokenizer, model_fingerprint)
    except BaseException:
        b.close()
        raise
    return b


def drop_elastic(options: ElasticOptions, name: str) -> list[str]:
    """Delete a logical index: its aliases, the concrete indices behind them, and leftovers of builds
    that never finished (concrete ``NAME-…`` indices whose leian metadata names ``NAME``).
    Returns the concrete indices deleted."""
    check_name(name)
    client = make_client(options)
    try:
        found: set[str] = set()
        for alias in (name, f"{name}-artifacts"):
            found.update(aliases(client, options.url, alias))
        with translated(options.url, "listing indices", name):
            mappings = client.indices.get_mapping(
                index=f"{name}-*", allow_no_indices=True, expand_wildcards="open,closed"
            )
        for concrete, body in dict(mappings).items():
            meta = ((body.get("mappings") or {}).get("_meta") or {}).get("leian") or {}
            if meta.get("name") == name:
                found.add(concrete)
        if found:
            with translated(options.url, "deleting the index", name):
                client.options(ignore_status=404).indices.delete(index=",".join(sorted(found)))
        return sorted(found)
    finally:
        client.close()
