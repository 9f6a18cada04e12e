"""Writing cases in bulk: upsert (insert or replace by id) and delete, each recorded in the manifest's
write sequence and the audit log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from leian.retrieval.backends.base import IndexedCase, WriteReport, now_iso
from leian.retrieval.backends.elastic.connection import reason, translated
from leian.retrieval.backends.elastic.core import MANIFEST_ID, ElasticCore, chunks
from leian.retrieval.backends.elastic.mapping import document

Progress = Callable[[int], None]
_RETRY_ON_STATUS = (429, 502, 503, 504)


class ElasticWriter(ElasticCore):
    def upsert(self, cases: Iterable[IndexedCase], progress: Progress | None = None) -> WriteReport:
        """Bulk-index cases (insert or replace by id). Per-case failures are in ``failed``.

        429/502/503/504 answers and dropped connections are retried with exponential backoff; if the
        cluster stays unreachable ``BackendUnavailable`` says how many were written before.
        """
        report = WriteReport()
        self._check_lock()
        dim = self._index_dim() if not self._building else self._dim
        for chunk in chunks(cases, self.options.bulk_docs):
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
                    "_source": document(c),
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
        # heavy: see connection.py
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
                    retry_on_status=_RETRY_ON_STATUS,
                    refresh=refresh,
                )
                for ok, item in results:
                    info = next(iter(item.values()))
                    cid = str(info.get("_id"))
                    pending.pop(cid, None)
                    if ok:
                        written += 1
                    else:
                        failed[cid] = reason(info.get("error", info))
                return written, failed
            except (TConnectionError, ConnectionTimeout) as e:
                last: Exception = e
            except ApiError as e:
                if e.meta.status == 429 or e.meta.status >= 500:
                    last = e
                else:
                    with translated(self.options.url, "bulk indexing", self._cases):
                        raise
        with translated(
            self.options.url, f"bulk indexing ({done_before + written} cases written before)", self._cases
        ):
            raise last
        raise AssertionError("unreachable")  # pragma: no cover

    def delete(self, ids: Iterable[str]) -> WriteReport:
        from elasticsearch import helpers  # heavy: see connection.py

        ids = list(dict.fromkeys(ids))
        report = WriteReport()
        self._check_lock()
        client = self._client.options(request_timeout=self.options.bulk_timeout)
        actions = ({"_op_type": "delete", "_index": self._cases, "_id": i} for i in ids)
        with translated(self.options.url, "bulk delete", self._cases):
            for ok, item in helpers.streaming_bulk(
                client,
                actions,
                chunk_size=1000,
                raise_on_error=False,
                max_retries=self.options.max_retries,
                initial_backoff=self.options.initial_backoff,
                retry_on_status=_RETRY_ON_STATUS,
                refresh=self.options.refresh,
            ):
                info = item["delete"]
                if ok:
                    report.deleted += 1
                elif info.get("status") == 404:
                    report.failed[str(info["_id"])] = "no such case"
                else:
                    report.failed[str(info["_id"])] = reason(info.get("error", info))
        if report.deleted:
            self._bump("delete", report.deleted)
            self._check_lock(written=True)
        return report

    def _bump(self, action: str, count: int, detail: str = "") -> None:
        """Record a write: new snapshot id (write_seq + 1), updated_at, and an audit entry."""
        from elasticsearch import ConflictError  # heavy: see connection.py

        for _ in range(10):
            doc = self._manifest_doc()
            src = doc["_source"]
            src["manifest"]["updated_at"] = now_iso()
            src["write_seq"] = int(src.get("write_seq", 0)) + 1
            with translated(self.options.url, "updating the manifest", self._art):
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
