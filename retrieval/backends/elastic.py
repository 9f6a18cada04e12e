"""The Elasticsearch backend: the same ``Backend`` interface on a real cluster.

Layout for a logical index ``NAME``::

    NAME              alias -> NAME-<stamp>            cases: tokens, vector, filter fields, record
    NAME-artifacts    alias -> NAME-<stamp>-artifacts  manifest, artifacts (charge model), audit log

Both aliases are swapped in one ``_aliases`` request when a rebuild finishes, so searches never see a
half-built index and never fail during a swap; the old concrete indices are deleted after a grace
period that lets in-flight searches finish. While a rebuild runs, the live artifacts index holds its
build lock (``LOCK_ID``): updates and other builds are refused, as a case written to the live index
then would be lost at the swap.

Scoring agrees with the embedded backend: jieba tokens are computed in Python and indexed as
space-joined text in a ``whitespace``-analysed field with BM25 (k1 1.2, b 0.75); Elasticsearch's
"BM25" keeps the ``(k1 + 1)`` numerator factor (Lucene's LegacyBM25Similarity), as the embedded
backend does, so scores are comparable as they are. The remaining difference is Lucene's one-byte
encoding of document lengths (measured: < 1 % on LeCaRD judgments, rare rank swaps of near-ties). Vectors are unit-length float32 in a ``dense_vector`` with ``dot_product`` similarity,
whose score ``(1 + dot) / 2`` is mapped back to the inner product.

Every call is bounded by ``request_timeout``; a cluster that is down or slow raises
``BackendUnavailable``, never hangs.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import math
import os
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from leian.corpora.record import CaseRecord
from leian.errors import (
    BackendError,
    BackendUnavailable,
    IndexBusy,
    IndexCorrupt,
    IndexIncompatible,
    IndexMissing,
    InvalidInput,
    LeianError,
    Unauthorized,
)
from leian.retrieval.backends.base import (
    FACET_KEYS,
    FORMAT_VERSION,
    IndexedCase,
    IndexManifest,
    Scored,
    WriteReport,
)
from leian.retrieval.models import Filters

K1, B = 1.2, 0.75
MAX_WINDOW = 10_000  # index.max_result_window and the kNN num_candidates ceiling
MANIFEST_ID = "manifest"
# A rebuild's lock, a document in the live artifacts index. Elasticsearch drops no lock when its
# holder dies, so the lock is a lease that a thread of the build's process renews (_BuildLease): a
# build that is killed keeps writers out until its lease has run out, at most BUILD_LEASE_S.
LOCK_ID = "build-lock"
BUILD_LEASE_S = 60
_RENEW_EVERY_S = 15  # a quarter of the lease: three renewals may fail (the cluster busy) before it runs out
ARTIFACT_CHUNK = 4 * 1024 * 1024  # bytes of blob per artifact document (well under http.max_content_length)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,150}$")

Progress = Callable[[int], None]


class ElasticOptions(BaseModel):
    """How to reach the cluster and how to lay out an index (one validated settings record)."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None  # base64 "id:key", as Elasticsearch prints it
    ca_certs: str | None = None  # PEM file of the CA that signed the cluster's certificate
    verify_certs: bool = True
    request_timeout: float = Field(default=10.0, gt=0, le=600)  # every search/get/admin call
    bulk_timeout: float = Field(default=120.0, gt=0, le=3600)  # one bulk request
    max_retries: int = Field(default=3, ge=0, le=10)  # bulk: 429/5xx/connection errors, with backoff
    initial_backoff: float = Field(default=0.5, ge=0, le=60)
    shards: int = Field(default=1, ge=1, le=1024)
    replicas: int = Field(default=0, ge=0, le=16)
    refresh: Literal["true", "false", "wait_for"] = "wait_for"  # visibility of incremental writes
    bulk_docs: int = Field(default=200, ge=1, le=10_000)
    bulk_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    vector_index: Literal["hnsw", "int8_hnsw", "flat", "int8_flat"] = "hnsw"
    knn_candidates_factor: float = Field(default=10.0, ge=1.0)  # num_candidates = factor * k (>= 100)
    swap_grace_s: float = Field(default=2.0, ge=0, le=600)  # old index lives this long after a swap

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", v):
            raise InvalidInput(f"--es-url {v!r} is not an http(s) URL; e.g. http://127.0.0.1:9200")
        return v

    @model_validator(mode="after")
    def _auth(self) -> ElasticOptions:
        if (self.username is None) != (self.password is None):
            raise InvalidInput("Elasticsearch basic auth needs both a user name and a password")
        if self.api_key is not None and self.username is not None:
            raise InvalidInput("give either an Elasticsearch API key or a user and password, not both")
        return self


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_name(name: str) -> str:
    """Logical index names become Elasticsearch index and alias names: lower case, no separators."""
    if not _NAME_RE.match(name or "") or name.endswith("-artifacts") or name in (".", ".."):
        raise InvalidInput(
            f"invalid Elasticsearch index name {name!r}: use lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, at most 151 characters, not ending in '-artifacts'"
        )
    return name


# ---------------------------------------------------------------------------------------- errors
def _reason(body: Any) -> str:
    """The useful part of an Elasticsearch error body: type and reason of the root cause."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            root = (err.get("root_cause") or [err])[0]
            caused = err.get("caused_by") or {}
            msg = f"{root.get('type', 'error')}: {root.get('reason', '')}"
            if caused and caused.get("reason") and caused.get("reason") not in msg:
                msg += f" ({caused.get('type', '')}: {caused['reason']})"
            return msg
        if err is not None:
            return str(err)
    return str(body)[:500]


@contextlib.contextmanager
def _translated(url: str, what: str, index: str = "") -> Iterator[None]:
    """Map client exceptions to leian's hierarchy, with the URL and the fix in the message."""
    from elastic_transport import ConnectionError as TConnectionError
    from elastic_transport import ConnectionTimeout, SerializationError, TransportError
    from elasticsearch import ApiError, UnsupportedProductError

    try:
        yield
    except LeianError:
        raise
    except ConnectionTimeout as e:
        raise BackendUnavailable(
            f"Elasticsearch at {url} did not answer in time ({what}): {e.message}; "
            "the cluster is overloaded or stuck — check it, or raise the request timeout"
        ) from None
    except TConnectionError as e:
        raise BackendUnavailable(
            f"Elasticsearch at {url} is unreachable ({what}): {e.message}; "
            "start it (scripts/start-elasticsearch) or check --es-url"
        ) from None
    except UnsupportedProductError as e:
        raise BackendError(f"{url} is not an Elasticsearch server ({what}): {e.message}") from None
    except ApiError as e:
        status, reason = e.meta.status, _reason(e.body)
        if status == 404 and "index_not_found" in reason:
            raise IndexMissing(
                f"Elasticsearch index {index or '?'} does not exist at {url} ({what}); build it with "
                f"`leian index CORPUS --backend elasticsearch --es-url {url} --index NAME`"
            ) from None
        if status == 401 or (status == 403 and "security_exception" in reason):
            raise Unauthorized(
                f"Elasticsearch at {url} refused the credentials ({what}): {reason}; "
                "check --es-user/--es-password or --es-api-key"
            ) from None
        if status == 429 or status >= 500:
            raise BackendUnavailable(
                f"Elasticsearch at {url} failed ({what}, HTTP {status}): {reason}"
            ) from None
        if "too_many" in reason and "clause" in reason.lower() or "maxClauseCount" in reason:
            raise InvalidInput(
                f"the query has more distinct terms than Elasticsearch accepts ({reason}); "
                "shorten the facts or raise indices.query.bool.max_clause_count"
            ) from None
        raise BackendError(f"Elasticsearch at {url} rejected {what} (HTTP {status}): {reason}") from None
    except SerializationError as e:
        raise BackendError(f"Elasticsearch at {url} returned an unreadable answer ({what}): {e}") from None
    except TransportError as e:
        raise BackendUnavailable(f"Elasticsearch at {url} failed ({what}): {e.message}") from None


def make_client(options: ElasticOptions):
    """An ``Elasticsearch`` client whose every call is bounded by ``options.request_timeout``."""
    from elasticsearch import Elasticsearch

    kw: dict[str, Any] = {
        "request_timeout": options.request_timeout,
        "max_retries": 1,  # one quick retry on a dropped connection; timeouts are not retried
        "retry_on_timeout": False,
        "verify_certs": options.verify_certs,
    }
    if options.username is not None and options.password is not None:
        kw["basic_auth"] = (options.username, options.password.get_secret_value())
    if options.api_key is not None:
        kw["api_key"] = options.api_key.get_secret_value()
    if options.ca_certs:
        kw["ca_certs"] = options.ca_certs
    if not options.verify_certs:
        kw["ssl_show_warn"] = False
    return Elasticsearch(options.url, **kw)


def _aliases(client, url: str, alias: str) -> dict[str, list[str]]:
    """Concrete index -> the aliases named ``alias`` it holds ({} when there is no such alias)."""
    with _translated(url, "alias lookup", alias):
        resp = client.options(ignore_status=404).indices.get_alias(name=alias)
    body = dict(resp)
    if resp.meta.status == 404:
        return {}
    return {concrete: sorted((v or {}).get("aliases", {})) for concrete, v in body.items()}


def _version(doc) -> dict:
    """The optimistic-concurrency condition that a write succeeds only on this version of ``doc``."""
    return {"if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]}


def _lease_end() -> int:
    """When a build lock taken or renewed now runs out (ns since the epoch)."""
    return time.time_ns() + BUILD_LEASE_S * 10**9


class _BuildLease:
    """A build's lock on the live index, renewed by a thread for as long as the build's process lives.

    Renewals are version-checked, so a build whose lease ran out while it stalled (the process
    suspended, the cluster unreachable) and whose index another build took over finds out at its next
    write or before its swap (``check``, ``renew``: IndexBusy), and never touches the other's lock.
    """

    def __init__(self, backend: ElasticBackend, index: str, version: dict):
        self._backend = backend
        self._index = index
        self._version: dict | None = version  # None: the lock is not ours any more
        self._mutex = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="leian-build-lease", daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._done.wait(_RENEW_EVERY_S):
            try:
                self.renew()
            except IndexBusy:
                return
            except Exception:  # noqa: BLE001 - the cluster busy or unreachable: try again next time
                continue

    def renew(self) -> None:
        from elasticsearch import ConflictError, NotFoundError

        b = self._backend
        with self._mutex:
            self._raise_if_lost()
            with _translated(b.options.url, "renewing the build lock", self._index):
                try:
                    r = b._client.update(
                        index=self._index, id=LOCK_ID, doc={"ts": _lease_end()}, **self._version
                    )
                except (ConflictError, NotFoundError):
                    self._version = None  # taken over or deleted: not ours any more, never delete it
                    self._raise_if_lost()
            self._version = _version(r)

    def check(self) -> None:
        with self._mutex:
            self._raise_if_lost()

    def _raise_if_lost(self) -> None:
        if self._version is None:
            raise IndexBusy(
                f"this build of Elasticsearch index {self._backend.index_name} lost its lock (another "
                f"build took the index over after the lease ran out, {BUILD_LEASE_S} s without a "
                "renewal, or the lock was deleted); this build is abandoned"
            )

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def release(self) -> None:
        """Stop renewing and delete the lock, if it is still this build's."""
        self.stop()
        with self._mutex:
            version, self._version = self._version, None
        if version is not None:
            with contextlib.suppress(Exception):
                self._backend._client.options(ignore_status=(404, 409)).delete(
                    index=self._index, id=LOCK_ID, **version
                )


def _get_doc(client, url: str, index: str, doc_id: str, what: str) -> dict | None:
    """A document by id (real-time, needs no refresh); None when absent; IndexMissing without the index."""
    with _translated(url, what, index):
        resp = client.options(ignore_status=404).get(index=index, id=doc_id)
    body = dict(resp)
    if body.get("found"):
        return body
    if "error" in body:
        raise IndexMissing(f"Elasticsearch index {index} does not exist at {url} ({what}): {_reason(body)}")
    return None


# ---------------------------------------------------------------------------------------- mappings
def _case_mappings(name: str, dim: int | None, vector_index: str) -> dict:
    kw = {"type": "keyword"}
    props: dict[str, Any] = {
        "id": kw,
        # jieba tokens joined by spaces; `whitespace` splits them back exactly (no analyzer plugin).
        "tokens": {
            "type": "text",
            "analyzer": "whitespace",
            "similarity": "leian_bm25",
            "index_options": "freqs",
        },
        "court_level": kw,
        "province": kw,
        "tier": kw,
        "year": {"type": "integer"},
        "charges": kw,
        "charge_groups": kw,
        "statutes": kw,
        "circumstances": kw,
        "court": kw,
        "case_number": kw,
        "procedure": kw,
        "judgment_date": {"type": "date", "format": "strict_date", "ignore_malformed": True},
        # first defendant's sentence and the amount: for sentencing statistics (aggregations)
        "sentence_kind": kw,
        "sentence_months": {"type": "integer"},
        "probation_months": {"type": "integer"},
        "fine_yuan": {"type": "double"},
        "amount_yuan": {"type": "double"},
        "n_defendants": {"type": "integer"},
        "record": {"type": "object", "enabled": False},  # the full CaseRecord, stored for display only
    }
    if dim:
        props["vector"] = {
            "type": "dense_vector",
            "dims": dim,
            "index": True,
            "similarity": "dot_product",  # unit vectors: inner product, and non-unit input is refused
            "index_options": {"type": vector_index},
        }
    return {
        "dynamic": "strict",
        "_meta": {"leian": {"name": name, "role": "cases", "format_version": FORMAT_VERSION}},
        "properties": props,
    }


def _artifact_mappings(name: str) -> dict:
    kw = {"type": "keyword"}
    return {
        "dynamic": "strict",
        "_meta": {"leian": {"name": name, "role": "artifacts", "format_version": FORMAT_VERSION}},
        "properties": {
            "kind": kw,  # manifest | artifact | chunk | audit
            "name": kw,
            "seq": {"type": "integer"},
            "n_chunks": {"type": "integer"},
            "size": {"type": "long"},
            "sha256": kw,
            "data": {"type": "binary"},
            "manifest": {"type": "object", "enabled": False},
            "write_seq": {"type": "long"},
            "at": {"type": "date"},
            "ts": {"type": "long"},  # ns since the epoch: orders audit entries written within a second
            "action": kw,
            "count": {"type": "integer"},
            "detail": {"type": "keyword", "index": False, "doc_values": False},
        },
    }


def _document(case: IndexedCase) -> dict:
    r = case.record
    f = case.fields.filters
    first = r.defendants[0].sentence if r.defendants and r.defendants[0].sentence else None
    doc: dict[str, Any] = {
        "id": r.id,
        "tokens": case.token_text,
        "court_level": f["court_level"],
        "province": f["province"],
        "tier": f["tier"],
        "year": f["year"],
        "charges": f["charges"],
        "charge_groups": f["charge_groups"],
        "statutes": r.statutes,
        "circumstances": r.circumstances,
        "court": r.court,
        "case_number": r.case_number,
        "procedure": r.procedure,
        "judgment_date": r.judgment_date,
        "sentence_kind": first.kind if first else None,
        "sentence_months": first.months if first else None,
        "probation_months": first.probation_months if first else None,
        "fine_yuan": first.fine_yuan if first else None,
        "amount_yuan": r.amount_yuan,
        "n_defendants": len(r.defendants),
        "record": r.model_dump(mode="json"),
    }
    if case.vector is not None:
        v = np.asarray(case.vector, dtype=np.float32).reshape(-1)
        doc["vector"] = v.tolist()
    return doc


def compile_filters(filters: Filters | None) -> list[dict]:
    """``Filters`` as Elasticsearch filter clauses, with the semantics of ``base.matches``."""
    if filters is None or filters.is_empty():
        return []
    from leian.corpora.dictionaries import charge_group

    out: list[dict] = []
    if filters.court_level:
        out.append({"terms": {"court_level": list(filters.court_level)}})
    if filters.province:
        out.append({"terms": {"province": list(filters.province)}})
    if filters.tier:
        out.append({"terms": {"tier": list(filters.tier)}})
    if filters.year_from is not None or filters.year_to is not None:
        rng: dict[str, int] = {}
        if filters.year_from is not None:
            rng["gte"] = filters.year_from
        if filters.year_to is not None:
            rng["lte"] = filters.year_to
        out.append({"range": {"year": rng}})  # a case with no year has no value: excluded, as in matches()
    if filters.charge:
        out.append({"terms": {"charge_groups": sorted({charge_group(c) for c in filters.charge})}})
    return out


# what a facet absent from a stored document means (Elasticsearch drops empty lists and nulls)
_FACET_MISSING: dict[str, list] = {"charge_groups": [], "statutes": [], "circumstances": []}


def _ranked(pairs: Iterable[Scored], k: int) -> list[Scored]:
    return sorted(pairs, key=lambda p: (-p[1], p[0]))[:k]


def _chunks(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


# ---------------------------------------------------------------------------------------- backend
class ElasticBackend:
    """Reads and writes one logical leian index on an Elasticsearch cluster.

    Opened with ``open_elastic`` it addresses the aliases (so it follows rebuilds); inside
    ``ElasticBackend.building`` it addresses the new concrete indices until they are swapped in.
    """

    name = "elasticsearch"

    def __init__(self, options: ElasticOptions, index_name: str, *, _target: tuple[str, str] | None = None):
        self.options = options
        self.index_name = check_name(index_name)
        self._client = make_client(options)
        self._cases, self._art = _target or (index_name, f"{index_name}-artifacts")
        self._building = _target is not None
        self._seen: set[str] = set()  # ids written during a build (duplicates are reported)
        self._dim: int | None = None
        self._lease: _BuildLease | None = None  # the build lock this build holds

    # ------------------------------------------------------------------ plumbing
    def _call(self, what: str, fn: Callable, *args, **kw):
        with _translated(self.options.url, what, kw.get("index") or self._cases):
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
        found = _aliases(self._client, self.options.url, self._cases)
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
                f"({_reason(failures[0].get('reason', failures[0]))}); results would be incomplete"
            )
        if resp.get("timed_out"):
            raise BackendUnavailable(
                f"Elasticsearch {what} on {index} timed out; results would be incomplete"
            )
        return resp

    # ------------------------------------------------------------------ manifest
    def _art_doc(self, doc_id: str, what: str) -> dict | None:
        try:
            return _get_doc(self._client, self.options.url, self._art, doc_id, what)
        except IndexMissing:
            raise IndexCorrupt(
                f"Elasticsearch index {self.index_name} has no artifacts index ({self._art}); it was not "
                "built by leian or its build did not finish — rebuild it with `leian index`"
            ) from None

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

    def _check_manifest(self, tokenizer: str | None, model_fingerprint: str | None) -> IndexManifest:
        m = self.manifest()
        if m.format_version != FORMAT_VERSION:
            raise IndexIncompatible(
                f"Elasticsearch index {self.index_name} has index format {m.format_version}, this leian "
                f"reads {FORMAT_VERSION}; rebuild it with `leian index`"
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
        want = _case_mappings(self.index_name, None, self.options.vector_index)["properties"]
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

    def _bump(self, action: str, count: int, detail: str = "") -> None:
        """Record a write: new snapshot id (write_seq + 1), updated_at, and an audit entry."""
        from elasticsearch import ConflictError

        for _ in range(10):
            doc = self._manifest_doc()
            src = doc["_source"]
            src["manifest"]["updated_at"] = _now()
            src["write_seq"] = int(src.get("write_seq", 0)) + 1
            with _translated(self.options.url, "updating the manifest", self._art):
                try:
                    self._client.index(
                        index=self._art,
                        id=MANIFEST_ID,
                        document=src,
                        if_seq_no=doc["_seq_no"],
                        if_primary_term=doc["_primary_term"],
                    )
                    break
                except ConflictError:  # another writer bumped it first: read it again
                    continue
        self.audit(action, count, detail)

    # ------------------------------------------------------------------ reading
    def count(self) -> int:
        return int(self._call("count", self._client.count, index=self._cases)["count"])

    def lexical(
        self,
        terms: list[str] | dict[str, float],
        filters: Filters | None,
        k: int,
        ids: list[str] | None = None,
    ) -> list[Scored]:
        """BM25; a term repeated n times (or mapped to weight n) is one clause with boost n
        (Lucene sums duplicate clauses)."""
        if k <= 0 or (ids is not None and not ids):
            return []
        # The analyzer splits on whitespace, so a query term must be split the same way.
        pairs = terms.items() if isinstance(terms, dict) else ((t, 1.0) for t in terms)
        weights: Counter[str] = Counter()
        for term, w in pairs:
            for t in term.split():
                weights[t] += w
        if not weights and ids is None:
            return []
        should = [{"term": {"tokens": {"value": t, "boost": float(w)}}} for t, w in weights.items()]
        if ids is not None:
            # scored in window-sized requests: BM25's statistics are the index's, so parts add up exactly
            scored: list[Scored] = []
            for part in _chunks(dict.fromkeys(ids), MAX_WINDOW):
                query = {
                    "bool": {
                        "should": should,
                        "filter": [*compile_filters(filters), {"ids": {"values": part}}],
                    }
                }
                scored += self._bm25(query, len(part))
            return _ranked(scored, k)
        self._check_window(k)
        query = {"bool": {"should": should, "filter": compile_filters(filters), "minimum_should_match": 1}}
        return self._bm25(query, k)  # only cases sharing a term, as in the embedded one

    def _bm25(self, query: dict[str, Any], size: int) -> list[Scored]:
        body = {
            "query": query,
            "size": size,
            "_source": False,
            "sort": [{"_score": "desc"}, {"id": "asc"}],  # deterministic ties: (-score, id)
            "track_scores": True,
            "track_total_hits": False,
        }
        if self.options.shards > 1:
            body["search_type"] = "dfs_query_then_fetch"  # global term statistics, as one shard
        resp = self._search("BM25 search", body)
        return _ranked(((h["_id"], float(h["_score"] or 0.0)) for h in resp["hits"]["hits"]), size)

    def _check_window(self, size: int) -> None:
        if size > MAX_WINDOW:
            raise InvalidInput(
                f"k={size} is above Elasticsearch's result window ({MAX_WINDOW}); ask for fewer"
            )

    def _index_dim(self) -> int | None:
        if self._dim is None:
            self._dim = self.manifest().dim
        return self._dim

    def dense(
        self, vector: np.ndarray, filters: Filters | None, k: int, ids: list[str] | None = None
    ) -> list[Scored]:
        """kNN with the filters inside the kNN clause (pre-filtering: a selective filter still gives k)."""
        if k <= 0 or (ids is not None and not ids):
            return []
        dim = self._index_dim()
        if not dim:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != dim:
            self._dim = None  # the alias may have moved to an index built with another model
            dim = self._index_dim()
            if q.shape[0] != dim:
                raise IndexIncompatible(
                    f"query vector has {q.shape[0]} dims, the index {dim}: "
                    "the index was built with another embedding model"
                )
        flt = compile_filters(filters)
        if ids is not None:
            # Exact inner products of exactly these cases (re-ranking a candidate list), fetched in
            # window-sized requests
            pairs = []
            for part in _chunks(dict.fromkeys(ids), MAX_WINDOW):
                body = {
                    "query": {"bool": {"filter": [*flt, {"ids": {"values": part}}]}},
                    "size": len(part),
                    "_source": ["vector"],
                }
                for h in self._search("vector scoring", body)["hits"]["hits"]:
                    v = h["_source"].get("vector")
                    pairs.append((h["_id"], float(np.asarray(v, dtype=np.float32) @ q) if v else 0.0))
            return _ranked(pairs, k)
        self._check_window(k)
        candidates = int(min(MAX_WINDOW, max(100, k * self.options.knn_candidates_factor)))
        knn: dict[str, Any] = {
            "field": "vector",
            "query_vector": q.tolist(),
            "k": k,
            "num_candidates": max(candidates, k),
        }
        if flt:
            knn["filter"] = flt
        body = {"knn": knn, "size": k, "_source": False, "track_total_hits": False}
        resp = self._search("vector search", body)
        # dot_product similarity scores (1 + dot) / 2: map back to the inner product.
        return _ranked(((h["_id"], 2.0 * float(h["_score"]) - 1.0) for h in resp["hits"]["hits"]), k)

    def get(self, ids: Iterable[str]) -> dict[str, CaseRecord]:
        out: dict[str, CaseRecord] = {}
        for chunk in _chunks(dict.fromkeys(ids), 500):
            resp = self._call("get", self._client.mget, index=self._cases, ids=chunk, source=["record"])
            for d in resp["docs"]:
                if d.get("found"):
                    out[d["_id"]] = CaseRecord.model_validate(d["_source"]["record"])
                elif "error" in d:
                    raise BackendError(f"Elasticsearch get of {d['_id']}: {_reason(d['error'])}")
        return out

    def facets(self, ids: Iterable[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for chunk in _chunks(dict.fromkeys(ids), 500):
            resp = self._call(
                "facets", self._client.mget, index=self._cases, ids=chunk, source=list(FACET_KEYS)
            )
            for d in resp["docs"]:
                if d.get("found"):
                    src = d["_source"]
                    out[d["_id"]] = {k: src.get(k, _FACET_MISSING.get(k)) for k in FACET_KEYS}
        return out

    def vectors_of(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for chunk in _chunks(dict.fromkeys(ids), 500):
            resp = self._call(
                "get vectors", self._client.mget, index=self._cases, ids=chunk, source=["vector"]
            )
            for d in resp["docs"]:
                if d.get("found") and d["_source"].get("vector") is not None:
                    out[d["_id"]] = np.asarray(d["_source"]["vector"], dtype=np.float32)
        return out

    def ids(self) -> list[str]:
        return [h["_id"] for h in self._scan([], page=5000)]

    def _scan(self, source: list[str], page: int = 500) -> Iterator[dict]:
        """Every case in id order (search_after on the concrete index: a swap cannot mix two builds)."""
        index = self.concrete_index()
        after = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": page,
                "sort": [{"id": "asc"}],
                "_source": source or False,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self._search("scan", body, index=index)["hits"]["hits"]
            yield from hits
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def iter_records(self) -> Iterator[CaseRecord]:
        for h in self._scan(["record"]):
            yield CaseRecord.model_validate(h["_source"]["record"])

    def iter_indexed(self) -> Iterator[IndexedCase]:
        """Records with their stored tokens and vectors: a rebuild needs no re-tokenising/embedding."""
        for h in self._scan(["record", "tokens", "vector"]):
            s = h["_source"]
            v = s.get("vector")
            yield IndexedCase(
                record=CaseRecord.model_validate(s["record"]),
                token_text=s.get("tokens", ""),
                vector=None if v is None else np.asarray(v, dtype=np.float32),
            )

    # ------------------------------------------------------------------ artifacts and audit
    def put_artifact(self, name: str, data: bytes) -> None:
        """Store a blob in chunks (documents stay small), then its header; stale chunks are removed."""
        self._check_lock()
        head_id = f"artifact:{name}"
        old = self._art_doc(head_id, "reading an artifact")
        old_n = int(old["_source"].get("n_chunks", 0)) if old else 0
        n = max(1, math.ceil(len(data) / ARTIFACT_CHUNK))
        for i in range(n):
            part = data[i * ARTIFACT_CHUNK : (i + 1) * ARTIFACT_CHUNK]
            doc = {"kind": "chunk", "name": name, "seq": i, "data": base64.b64encode(part).decode()}
            self._write_art(f"{head_id}:{i}", doc)
        header = {
            "kind": "artifact",
            "name": name,
            "n_chunks": n,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        self._write_art(head_id, header)
        for i in range(n, old_n):
            self._call(
                "cleaning an artifact",
                self._client.options(ignore_status=404).delete,
                index=self._art,
                id=f"{head_id}:{i}",
            )
        self._check_lock(written=True)

    def _write_art(self, doc_id: str, doc: dict) -> None:
        with _translated(self.options.url, "writing an artifact", self._art):
            self._client.options(request_timeout=self.options.bulk_timeout).index(
                index=self._art, id=doc_id, document=doc
            )

    def get_artifact(self, name: str) -> bytes | None:
        head_id = f"artifact:{name}"
        doc = self._art_doc(head_id, "reading an artifact")
        if doc is None:
            return None
        head = doc["_source"]
        parts: list[bytes] = []
        chunk_ids = [f"{head_id}:{i}" for i in range(head["n_chunks"])]
        for ids in _chunks(chunk_ids, 4):
            resp = self._call("reading an artifact", self._client.mget, index=self._art, ids=ids)
            for d in resp["docs"]:
                if not d.get("found"):
                    raise IndexCorrupt(
                        f"artifact {name!r} of {self.index_name} lost chunk {d['_id']}; rebuild"
                    )
                parts.append(base64.b64decode(d["_source"]["data"]))
        data = b"".join(parts)
        if hashlib.sha256(data).hexdigest() != head["sha256"]:
            raise IndexCorrupt(
                f"artifact {name!r} of {self.index_name} fails its checksum; rebuild the index"
            )
        return data

    def audit(self, action: str, count: int, detail: str = "") -> None:
        doc = {
            "kind": "audit",
            "at": _now(),
            "ts": time.time_ns(),
            "action": action,
            "count": count,
            "detail": detail,
        }
        self._call("writing the audit log", self._client.index, index=self._art, document=doc)

    def audit_log(self, limit: int = 100) -> list[dict]:
        self._call("refresh", self._client.indices.refresh, index=self._art)
        body = {
            "query": {"term": {"kind": "audit"}},
            "size": min(limit, MAX_WINDOW),
            "sort": [{"ts": "desc"}],
            "_source": ["at", "action", "count", "detail"],
        }
        hits = self._search("audit log", body, index=self._art)["hits"]["hits"]
        return [{k: h["_source"].get(k) for k in ("at", "action", "count", "detail")} for h in hits]

    # ------------------------------------------------------------------ writing
    def upsert(self, cases: Iterable[IndexedCase], progress: Progress | None = None) -> WriteReport:
        """Bulk-index cases (insert or replace by id). Per-case failures are in ``failed``.

        429/502/503/504 answers and dropped connections are retried with exponential backoff; if the
        cluster stays unreachable ``BackendUnavailable`` says how many were written before.
        """
        report = WriteReport()
        self._check_lock()
        dim = self._index_dim() if not self._building else self._dim
        for chunk in _chunks(cases, self.options.bulk_docs):
            actions: dict[str, dict] = {}
            for c in chunk:
                cid = c.id
                if self._building and (cid in self._seen or cid in actions):
                    report.failed[cid] = "duplicate id in corpus (first occurrence kept)"
                    continue
                if dim and c.vector is None:
                    report.failed[cid] = "missing vector: this index stores embeddings"
                    continue
                if c.vector is not None and not np.isfinite(np.asarray(c.vector, dtype=np.float32)).all():
                    report.failed[cid] = "vector has NaN or infinite values"
                    continue
                if not dim and c.vector is not None:
                    report.failed[cid] = "vector given, but this index was built without embeddings"
                    continue
                actions[cid] = {
                    "_op_type": "index",
                    "_index": self._cases,
                    "_id": cid,
                    "_source": _document(c),
                }
            if actions:
                ok, failed = self._bulk(actions, done_before=report.written)
                report.written += ok
                report.failed.update(failed)
                if self._building:
                    self._seen.update(i for i in actions if i not in failed)
            if progress is not None:
                progress(len(chunk))
        if report.written and not self._building:
            self._bump("upsert", report.written)
            self._check_lock(written=True)
        return report

    def _bulk(self, actions: dict[str, dict], *, done_before: int) -> tuple[int, dict[str, str]]:
        from elastic_transport import ConnectionError as TConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError, helpers

        pending = dict(actions)
        failed: dict[str, str] = {}
        written = 0
        refresh = "false" if self._building else self.options.refresh
        client = self._client.options(request_timeout=self.options.bulk_timeout)
        for attempt in range(self.options.max_retries + 1):
            if attempt:
                time.sleep(min(30.0, self.options.initial_backoff * 2 ** (attempt - 1)))
            try:
                results = helpers.streaming_bulk(
                    client,
                    list(pending.values()),
                    chunk_size=self.options.bulk_docs,
                    max_chunk_bytes=self.options.bulk_bytes,
                    raise_on_error=False,
                    raise_on_exception=True,
                    max_retries=self.options.max_retries,
                    initial_backoff=self.options.initial_backoff,
                    max_backoff=30,
                    retry_on_status=(429, 502, 503, 504),
                    refresh=refresh,
                )
                for ok, item in results:
                    info = next(iter(item.values()))
                    cid = str(info.get("_id"))
                    pending.pop(cid, None)
                    if ok:
                        written += 1
                    else:
                        failed[cid] = _reason(info.get("error", info))
                return written, failed
            except (TConnectionError, ConnectionTimeout) as e:
                last: Exception = e
            except ApiError as e:
                if e.meta.status == 429 or e.meta.status >= 500:
                    last = e
                else:
                    with _translated(self.options.url, "bulk indexing", self._cases):
                        raise
        with _translated(
            self.options.url, f"bulk indexing ({done_before + written} cases written before)", self._cases
        ):
            raise last
        raise AssertionError("unreachable")  # pragma: no cover

    def delete(self, ids: Iterable[str]) -> WriteReport:
        from elasticsearch import helpers

        ids = list(dict.fromkeys(ids))
        report = WriteReport()
        self._check_lock()
        client = self._client.options(request_timeout=self.options.bulk_timeout)
        actions = ({"_op_type": "delete", "_index": self._cases, "_id": i} for i in ids)
        with _translated(self.options.url, "bulk delete", self._cases):
            for ok, item in helpers.streaming_bulk(
                client,
                actions,
                chunk_size=1000,
                raise_on_error=False,
                max_retries=self.options.max_retries,
                initial_backoff=self.options.initial_backoff,
                retry_on_status=(429, 502, 503, 504),
                refresh=self.options.refresh,
            ):
                info = item["delete"]
                if ok:
                    report.deleted += 1
                elif info.get("status") == 404:
                    report.failed[str(info["_id"])] = "no such case"
                else:
                    report.failed[str(info["_id"])] = _reason(info.get("error", info))
        if report.deleted:
            self._bump("delete", report.deleted)
            self._check_lock(written=True)
        return report

    def refresh(self) -> None:
        self._call("refresh", self._client.indices.refresh, index=self._cases)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ElasticBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ building
    @classmethod
    @contextlib.contextmanager
    def building(
        cls, options: ElasticOptions, name: str, manifest: IndexManifest
    ) -> Iterator[ElasticBackend]:
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
            b._take_lock()
            settings = {
                "number_of_shards": options.shards,
                "number_of_replicas": 0,  # replicas are added after the bulk load (faster)
                "refresh_interval": "-1",
                "similarity": {"leian_bm25": {"type": "BM25", "k1": K1, "b": B}},
            }
            b._call(
                "creating the index",
                client.indices.create,
                index=cases,
                settings=settings,
                mappings=_case_mappings(name, manifest.dim, options.vector_index),
            )
            b._call(
                "creating the artifacts index",
                client.indices.create,
                index=art,
                settings={"number_of_shards": 1, "number_of_replicas": options.replicas},
                mappings=_artifact_mappings(name),
            )
            now = _now()
            # the format is this backend's, whatever manifest it was handed (e.g. an embedded index's)
            m = manifest.model_copy(
                update={
                    "backend": cls.name,
                    "name": name,
                    "updated_at": now,
                    "format_version": FORMAT_VERSION,
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

    # ------------------------------------------------------------------ one writer at a time
    def updating(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to hold across a job: Elasticsearch has no lock that is dropped when its holder
        dies, so each write checks the build lock itself, before and after (``_check_lock``)."""
        return contextlib.nullcontext()

    def _take_lock(self) -> None:
        """Building: hold the live index's build lock until the swap, or refuse (IndexBusy) while
        another build holds it. The first build of a name has nothing live to lose and takes none."""
        from elasticsearch import ConflictError

        live = f"{self.index_name}-artifacts"
        if not _aliases(self._client, self.options.url, live):
            return
        doc = {
            "kind": "lock",
            "detail": f"build by process {os.getpid()} on {socket.gethostname()}, started {_now()}",
            "at": _now(),
            "ts": 0,  # for a lock: when its lease runs out (ns since the epoch)
        }
        for _ in range(3):
            held = _get_doc(self._client, self.options.url, live, LOCK_ID, "reading the build lock")
            if held is not None and held["_source"].get("ts", 0) > time.time_ns():
                raise IndexBusy(
                    self._busy(held, "is being rebuilt by another process", "wait for it to finish")
                )
            doc["ts"] = _lease_end()
            # created, or taken over from a build whose lease ran out, only if nobody was faster
            cond = {"op_type": "create"} if held is None else _version(held)
            with _translated(self.options.url, "taking the build lock", live):
                try:
                    r = self._client.index(index=live, id=LOCK_ID, document=doc, **cond)
                except ConflictError:
                    continue
            self._lease = _BuildLease(self, r["_index"], _version(r))
            return
        raise IndexBusy(f"Elasticsearch index {self.index_name} is being rebuilt by another process")

    def _check_lock(self, *, written: bool = False) -> None:
        """Around a write. Building: stop once another build has taken the index over. Live: refuse
        while a build holds the index, as its swap would undo the write; checked again once the write
        is done (``written``), since a build may have taken the lock while the write ran."""
        if self._building:
            if self._lease is not None:
                self._lease.check()
            return
        held = self._art_doc(LOCK_ID, "reading the build lock")
        if held is None or held["_source"].get("ts", 0) <= time.time_ns():
            return
        if written:
            what = "began to be rebuilt while this write ran"
            then = "what it wrote will be undone when the new index is swapped in. Write it again"
        else:
            what = "is being rebuilt"
            then = "a case written now would be lost when the new index is swapped in. Try again"
        raise IndexBusy(self._busy(held, what, then + " when the build has finished"))

    def _busy(self, held: dict, what: str, then: str) -> str:
        src = held["_source"]
        until = dt.datetime.fromtimestamp(src.get("ts", 0) / 1e9, dt.UTC).isoformat(timespec="seconds")
        return (
            f"Elasticsearch index {self.index_name} {what} ({src.get('detail', 'a build')}; if that build "
            f"is no longer running, its lock runs out at {until}); {then}"
        )

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
            settings={"refresh_interval": "1s", "number_of_replicas": opts.replicas},
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
        final = m.model_copy(update={"doc_count": n, "updated_at": _now(), "corpus": corpus})
        self._write_art(
            MANIFEST_ID, {"kind": "manifest", "manifest": final.model_dump(mode="json"), "write_seq": 0}
        )
        self.audit("build", n, corpus.get("name", ""))
        self._call("refresh", bulk.indices.refresh, index=self._art)

        # One atomic request moves both aliases from the old build to the new one.
        old: dict[str, list[str]] = {}  # concrete index -> the aliases it holds now
        for alias in (name, f"{name}-artifacts"):
            for concrete in _aliases(client, opts.url, alias):
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
        if not _aliases(b._client, options.url, name):
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
            found.update(_aliases(client, options.url, alias))
        with _translated(options.url, "listing indices", name):
            mappings = client.indices.get_mapping(
                index=f"{name}-*", allow_no_indices=True, expand_wildcards="open,closed"
            )
        for concrete, body in dict(mappings).items():
            meta = ((body.get("mappings") or {}).get("_meta") or {}).get("leian") or {}
            if meta.get("name") == name:
                found.add(concrete)
        if found:
            with _translated(options.url, "deleting the index", name):
                client.options(ignore_status=404).indices.delete(index=",".join(sorted(found)))
        return sorted(found)
    finally:
        client.close()


__all__ = [
    "ElasticBackend",
    "ElasticOptions",
    "check_name",
    "compile_filters",
    "drop_elastic",
    "make_client",
    "open_elastic",
]
