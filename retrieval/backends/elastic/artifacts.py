"""Named blobs stored with the index (e.g. the charge model), in chunks, and the audit log."""

from __future__ import annotations

import base64
import hashlib
import math

from leian.errors import IndexCorrupt
from leian.retrieval.backends.elastic.core import ElasticCore, chunks
from leian.retrieval.backends.elastic.reader import MAX_WINDOW

ARTIFACT_CHUNK = 4 * 1024 * 1024  # bytes of blob per artifact document (well under http.max_content_length)


class ElasticArtifacts(ElasticCore):
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

    def get_artifact(self, name: str) -> bytes | None:
        head_id = f"artifact:{name}"
        doc = self._art_doc(head_id, "reading an artifact")
        if doc is None:
            return None
        head = doc["_source"]
        parts: list[bytes] = []
        chunk_ids = [f"{head_id}:{i}" for i in range(head["n_chunks"])]
        for ids in chunks(chunk_ids, 4):
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
