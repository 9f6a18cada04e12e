"""What every part of ``ElasticBackend`` stands on: the two indices it addresses, calls with leian's
errors, the manifest checked on open, and the build lock checked around each write."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Self

from leian.errors import BackendError, BackendUnavailable, IndexCorrupt, IndexIncompatible, IndexMissing
from leian.retrieval.backends.base import IndexManifest, now_iso
from leian.retrieval.backends.elastic.connection import aliases, get_doc, make_client, reason, translated
from leian.retrieval.backends.elastic.lease import LOCK_ID, BuildLease, refuse_while_held
from leian.retrieval.backends.elastic.mapping import ELASTIC_FORMAT_VERSION, case_mappings
from leian.retrieval.backends.elastic.options import ElasticOptions, check_name

MANIFEST_ID = "manifest"


def chunks(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


class ElasticCore:
    """One logical leian index: the cases index and its artifacts index (manifest, artifacts, audit
    log, build lock), by alias when opened live, by concrete name while building."""

    def __init__(self, options: ElasticOptions, index_name: str, *, _target: tuple[str, str] | None = None):
        self.options = options
        self.index_name = check_name(index_name)
        self._client = make_client(options)
        self._cases, self._art = _target or (index_name, f"{index_name}-artifacts")
        self._building = _target is not None
        self._seen: set[str] = set()  # ids written during a build (duplicates are reported)
        self._dim: int | None = None
        self._lease: BuildLease | None = None  # the build lock this build holds

    # ------------------------------------------------------------------ plumbing
    def _call(self, what: str, fn: Callable, *args, **kw):
        with translated(self.options.url, what, kw.get("index") or self._cases):
            return fn(*args, **kw)

    @property
    def client(self):
        """The underlying ``elasticsearch.Elasticsearch`` client (for aggregations, admin)."""
        return self._client

    @property
    def cases_index(self) -> str:
        return self._cases

    def concrete_index(self) -> str:
        """The concrete index the cases alias points at now."""
        if self._building:
            return self._cases
        found = aliases(self._client, self.options.url, self._cases)
        if not found:
            raise IndexMissing(f"Elasticsearch index {self._cases} no longer exists at {self.options.url}")
        return sorted(found)[0]

    def _search(self, what: str, body: dict, index: str | None = None) -> dict:
        index = index or self._cases
        resp = self._call(what, self._client.search, index=index, **body)
        shards = resp.get("_shards") or {}
        if shards.get("failed"):
            failures = shards.get("failures") or [{}]
            raise BackendError(
                f"Elasticsearch {what} on {index}: {shards['failed']} of {shards.get('total')} shards failed "
                f"({reason(failures[0].get('reason', failures[0]))}); results would be incomplete"
            )
        if resp.get("timed_out"):
            raise BackendUnavailable(
                f"Elasticsearch {what} on {index} timed out; results would be incomplete"
            )
        return resp

    def count(self) -> int:
        return int(self._call("count", self._client.count, index=self._cases)["count"])

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ the artifacts index
    def _art_doc(self, doc_id: str, what: str) -> dict | None:
        try:
            return get_doc(self._client, self.options.url, self._art, doc_id, what)
        except IndexMissing:
            raise IndexCorrupt(
                f"Elasticsearch index {self.index_name} has no artifacts index ({self._art}); it was not "
                "built by leian or its build did not finish — rebuild it with `leian index`"
            ) from None

    def _write_art(self, doc_id: str, doc: dict) -> None:
        with translated(self.options.url, "writing an artifact", self._art):
            self._client.options(request_timeout=self.options.bulk_timeout).index(
                index=self._art, id=doc_id, document=doc
            )

    def audit(self, action: str, count: int, detail: str = "") -> None:
        doc = {
            "kind": "audit",
            "at": now_iso(),
            "ts": time.time_ns(),
            "action": action,
            "count": count,
            "detail": detail,
        }
        self._call("writing the audit log", self._client.index, index=self._art, document=doc)

    # ------------------------------------------------------------------ manifest
    def _manifest_doc(self) -> dict:
        doc = self._art_doc(MANIFEST_ID, "reading the manifest")
        if doc is None:
            raise IndexCorrupt(
                f"Elasticsearch index {self.index_name} has no manifest; rebuild it with `leian index`"
            )
        return doc

    def manifest(self) -> IndexManifest:
        doc = self._manifest_doc()
        src = doc["_source"]
        try:
            m = IndexManifest.model_validate(src["manifest"])
        except (KeyError, ValueError) as e:
            raise IndexCorrupt(
                f"Elasticsearch index {self.index_name}: unreadable manifest ({str(e).splitlines()[0]}); rebuild"
            ) from None
        self._dim = m.dim
        return m.model_copy(
            update={
                "doc_count": self.count(),
                "snapshot": f"{self.concrete_index()}.{src.get('write_seq', 0)}",
            }
        )

    def _index_dim(self) -> int | None:
        if self._dim is None:
            self._dim = self.manifest().dim
        return self._dim

    def _check_manifest(self, tokenizer: str | None, model_fingerprint: str | None) -> IndexManifest:
        m = self.manifest()
        if m.format_version != ELASTIC_FORMAT_VERSION:
            raise IndexIncompatible(
                f"Elasticsearch index {self.index_name} has index format {m.format_version}, this leian "
                f"reads {ELASTIC_FORMAT_VERSION}; rebuild it with `leian index`"
            )
        if tokenizer is not None and m.tokenizer != tokenizer:
            raise IndexIncompatible(
                f"Elasticsearch index {self.index_name} was tokenised with {m.tokenizer}, this leian uses "
                f"{tokenizer} (another legal dictionary); rebuild it with `leian index`"
            )
        if model_fingerprint is not None and m.model_fingerprint != model_fingerprint:
            raise IndexIncompatible(
                f"Elasticsearch index {self.index_name} was embedded with {m.model} ({m.model_fingerprint}), "
                f"not with the configured model ({model_fingerprint}); rebuild it or configure that model"
            )
        return m

    def _check_mapping(self) -> None:
        """An index whose field types differ from leian's (older format, hand-made) is refused on open."""
        got = self._call("reading the mapping", self._client.indices.get_mapping, index=self._cases)
        want = case_mappings(self.index_name, None, self.options.vector_index)["properties"]
        for concrete, body in got.items():
            mapping = body.get("mappings", {})
            meta = (mapping.get("_meta") or {}).get("leian")
            if not meta:
                raise IndexIncompatible(
                    f"Elasticsearch index {concrete} (behind {self._cases}) was not created by leian; "
                    "choose another --index name or delete it"
                )
            props = mapping.get("properties", {})
            bad = [
                f"{f} is {props[f].get('type', 'object')} (leian needs {spec['type']})"
                for f, spec in want.items()
                if f in props and props[f].get("type", "object") != spec["type"]
            ]
            missing = [f for f in want if f not in props]
            if bad or missing:
                detail = "; ".join(bad + ([f"missing fields: {', '.join(missing)}"] if missing else []))
                raise IndexIncompatible(
                    f"Elasticsearch index {concrete} has a conflicting mapping ({detail}); rebuild it "
                    "with `leian index`"
                )

    # ------------------------------------------------------------------ one writer at a time
    def updating(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to hold across a job: Elasticsearch has no lock that is dropped when its holder
        dies, so each write checks the build lock itself, before and after (``_check_lock``)."""
        return contextlib.nullcontext()

    def _check_lock(self, *, written: bool = False) -> None:
        """Around a write. Building: stop once another build has taken the index over. Live: refuse
        while a build holds the index, as its swap would undo the write; checked again once the write
        is done (``written``), since a build may have taken the lock while the write ran."""
        if self._building:
            if self._lease is not None:
                self._lease.check()
            return
        held = self._art_doc(LOCK_ID, "reading the build lock")
        refuse_while_held(self.index_name, held, written=written)
