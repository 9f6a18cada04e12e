"""A full build: new concrete indices, swapped in behind the aliases in one request when complete.

Searches never see a half-built index and never fail during a swap; the old concrete indices are
deleted after a grace period that lets in-flight searches finish. The build holds the live index's
build lock (``lease``) from its start to the swap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Iterator
from typing import Self

from leian.errors import BackendError, BackendUnavailable
from leian.retrieval.backends.base import IndexManifest, now_iso
from leian.retrieval.backends.elastic.connection import aliases
from leian.retrieval.backends.elastic.core import MANIFEST_ID, ElasticCore
from leian.retrieval.backends.elastic.lease import take_lease
from leian.retrieval.backends.elastic.mapping import (
    ELASTIC_FORMAT_VERSION,
    artifact_mappings,
    artifact_settings,
    case_mappings,
    case_settings,
    finish_settings,
)
from leian.retrieval.backends.elastic.options import ElasticOptions, check_name


class ElasticBuild(ElasticCore):
    name: str

    @classmethod
    @contextlib.contextmanager
    def building(cls, options: ElasticOptions, name: str, manifest: IndexManifest) -> Iterator[Self]:
        """Build ``name`` afresh in new concrete indices; swap the aliases only if the block succeeds.

        On any error (or Ctrl-C) the new indices are deleted and the live index is untouched.
        """
        check_name(name)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        cases, art = f"{name}-{stamp}", f"{name}-{stamp}-artifacts"
        b = cls(options, name, _target=(cases, art))
        b._dim = manifest.dim
        client = b._client
        try:
            b._reject_foreign(name)
            b._lease = take_lease(client, options.url, name)
            b._call(
                "creating the index",
                client.indices.create,
                index=cases,
                settings=case_settings(options),
                mappings=case_mappings(name, manifest.dim, options.vector_index),
            )
            b._call(
                "creating the artifacts index",
                client.indices.create,
                index=art,
                settings=artifact_settings(options),
                mappings=artifact_mappings(name),
            )
            # the format is this backend's, whatever manifest it was handed (e.g. an embedded index's)
            m = manifest.model_copy(
                update={
                    "backend": cls.name,
                    "name": name,
                    "updated_at": now_iso(),
                    "format_version": ELASTIC_FORMAT_VERSION,
                }
            )
            b._write_art(
                MANIFEST_ID, {"kind": "manifest", "manifest": m.model_dump(mode="json"), "write_seq": 0}
            )
            yield b
            if b._lease is not None:
                b._lease.renew()  # still ours, and a whole lease ahead for the swap
            b._finish(m)  # the swap deletes the old artifacts index, and the lock in it
        except BaseException:
            with contextlib.suppress(Exception):
                client.options(ignore_status=404, request_timeout=options.request_timeout).indices.delete(
                    index=f"{cases},{art}"
                )
            if b._lease is not None:
                b._lease.release()  # writers are let in again at once
            b.close()
            raise
        if b._lease is not None:
            b._lease.stop()  # its lock went with the old artifacts index
        b.close()

    def _reject_foreign(self, name: str) -> None:
        """A concrete index literally called ``name`` (not our alias) would make the swap fail later."""
        for n in (name, f"{name}-artifacts"):
            if self._call("checking the name", self._client.indices.exists, index=n) and not self._call(
                "checking the name", self._client.indices.exists_alias, name=n
            ):
                raise BackendError(
                    f"an Elasticsearch index named {n} exists and is not a leian alias; "
                    "delete it or choose another --index name"
                )

    def _finish(self, m: IndexManifest) -> None:
        client, opts, name = self._client, self.options, self.index_name
        bulk = client.options(request_timeout=opts.bulk_timeout)
        self._call(
            "finishing the index",
            bulk.indices.put_settings,
            index=self._cases,
            settings=finish_settings(opts),
        )
        self._call("refresh", bulk.indices.refresh, index=f"{self._cases},{self._art}")
        health = self._call(
            "waiting for the index",
            bulk.cluster.health,
            index=self._cases,
            wait_for_status="yellow",
            timeout=f"{int(opts.bulk_timeout)}s",
        )
        if health.get("timed_out"):
            raise BackendUnavailable(
                f"new index {self._cases} did not become available; the old one stays live"
            )
        aggs = self._search(
            "corpus statistics",
            {
                "size": 0,
                "aggs": {
                    "from": {"min": {"field": "judgment_date"}},
                    "to": {"max": {"field": "judgment_date"}},
                },
                "track_total_hits": True,
            },
        )
        n = int(aggs["hits"]["total"]["value"])
        corpus = dict(m.corpus)
        lo, hi = aggs["aggregations"]["from"], aggs["aggregations"]["to"]
        if lo.get("value_as_string") and hi.get("value_as_string"):
            corpus.update(date_from=lo["value_as_string"][:10], date_to=hi["value_as_string"][:10])
        final = m.model_copy(update={"doc_count": n, "updated_at": now_iso(), "corpus": corpus})
        self._write_art(
            MANIFEST_ID, {"kind": "manifest", "manifest": final.model_dump(mode="json"), "write_seq": 0}
        )
        self.audit("build", n, corpus.get("name", ""))
        self._call("refresh", bulk.indices.refresh, index=self._art)

        # One atomic request moves both aliases from the old build to the new one.
        old: dict[str, list[str]] = {}  # concrete index -> the aliases it holds now
        for alias in (name, f"{name}-artifacts"):
            for concrete in aliases(client, opts.url, alias):
                old.setdefault(concrete, []).append(alias)
        actions: list[dict] = [
            {"remove": {"index": i, "alias": a}} for i, al in sorted(old.items()) for a in al
        ]
        actions += [
            {"add": {"index": self._cases, "alias": name}},
            {"add": {"index": self._art, "alias": f"{name}-artifacts"}},
        ]
        self._call("swapping the alias", bulk.indices.update_aliases, actions=actions)
        if old:
            time.sleep(opts.swap_grace_s)  # searches already routed to the old index finish first
            with contextlib.suppress(Exception):
                client.options(ignore_status=404, request_timeout=opts.bulk_timeout).indices.delete(
                    index=",".join(sorted(old))
                )
