"""A rebuild's lock: a document (``LOCK_ID``) in the live artifacts index, held from the build's start
to its swap, so that updates and other builds are refused meanwhile (a case written to the live index
then would be lost at the swap).

Elasticsearch drops no lock when its holder dies, so the lock is a lease that a thread of the build's
process renews (``BuildLease``): a build that is killed keeps writers out until its lease has run out,
at most ``BUILD_LEASE_S``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import time

from leian.errors import IndexBusy
from leian.retrieval.backends.base import now_iso
from leian.retrieval.backends.elastic.connection import aliases, get_doc, translated

LOCK_ID = "build-lock"
BUILD_LEASE_S = 60
_RENEW_EVERY_S = 15  # a quarter of the lease: three renewals may fail (the cluster busy) before it runs out


def lease_end() -> int:
    """When a build lock taken or renewed now runs out (ns since the epoch)."""
    return time.time_ns() + BUILD_LEASE_S * 10**9


def version(doc) -> dict:
    """The optimistic-concurrency condition that a write succeeds only on this version of ``doc``."""
    return {"if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]}


class BuildLease:
    """A build's lock on the live index, renewed by a thread for as long as the build's process lives.

    Renewals are version-checked, so a build whose lease ran out while it stalled (the process
    suspended, the cluster unreachable) and whose index another build took over finds out at its next
    write or before its swap (``check``, ``renew``: IndexBusy), and never touches the other's lock.
    """

    def __init__(self, client, url: str, index_name: str, index: str, version: dict):
        self._client = client
        self._url = url
        self._index_name = index_name  # the logical index, for messages
        self._index = index  # the concrete artifacts index the lock document is in
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
        from elasticsearch import ConflictError, NotFoundError  # heavy: see connection.py

        with self._mutex:
            self._raise_if_lost()
            with translated(self._url, "renewing the build lock", self._index):
                try:
                    r = self._client.update(
                        index=self._index, id=LOCK_ID, doc={"ts": lease_end()}, **self._version
                    )
                except (ConflictError, NotFoundError):
                    self._version = None  # taken over or deleted: not ours any more, never delete it
                    self._raise_if_lost()
            self._version = version(r)

    def check(self) -> None:
        with self._mutex:
            self._raise_if_lost()

    def _raise_if_lost(self) -> None:
        if self._version is None:
            raise IndexBusy(
                f"this build of Elasticsearch index {self._index_name} lost its lock (another "
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
                self._client.options(ignore_status=(404, 409)).delete(
                    index=self._index, id=LOCK_ID, **version
                )


def take_lease(client, url: str, index_name: str) -> BuildLease | None:
    """Hold the live index's build lock until the swap, or refuse (IndexBusy) while another build
    holds it. The first build of a name has nothing live to lose and takes none (None)."""
    from elasticsearch import ConflictError  # heavy: see connection.py

    live = f"{index_name}-artifacts"
    if not aliases(client, url, live):
        return None
    doc = {
        "kind": "lock",
        "detail": f"build by process {os.getpid()} on {socket.gethostname()}, started {now_iso()}",
        "at": now_iso(),
        "ts": 0,  # for a lock: when its lease runs out (ns since the epoch)
    }
    for _ in range(3):
        held = get_doc(client, url, live, LOCK_ID, "reading the build lock")
        if held is not None and held["_source"].get("ts", 0) > time.time_ns():
            raise IndexBusy(
                _busy(index_name, held, "is being rebuilt by another process", "wait for it to finish")
            )
        doc["ts"] = lease_end()
        # created, or taken over from a build whose lease ran out, only if nobody was faster
        cond = {"op_type": "create"} if held is None else version(held)
        with translated(url, "taking the build lock", live):
            try:
                r = client.index(index=live, id=LOCK_ID, document=doc, **cond)
            except ConflictError:
                continue
        return BuildLease(client, url, index_name, r["_index"], version(r))
    raise IndexBusy(f"Elasticsearch index {index_name} is being rebuilt by another process")


def refuse_while_held(index_name: str, held: dict | None, *, written: bool) -> None:
    """Around a write to the live index: refuse while a build holds the lock ``held`` (as read), as
    its swap would undo the write; ``written``: the write is done, and a build may have taken the
    lock while it ran."""
    if held is None or held["_source"].get("ts", 0) <= time.time_ns():
        return
    if written:
        what = "began to be rebuilt while this write ran"
        then = "what it wrote will be undone when the new index is swapped in. Write it again"
    else:
        what = "is being rebuilt"
        then = "a case written now would be lost when the new index is swapped in. Try again"
    raise IndexBusy(_busy(index_name, held, what, then + " when the build has finished"))


def _busy(index_name: str, held: dict, what: str, then: str) -> str:
    src = held["_source"]
    until = dt.datetime.fromtimestamp(src.get("ts", 0) / 1e9, dt.UTC).isoformat(timespec="seconds")
    return (
        f"Elasticsearch index {index_name} {what} ({src.get('detail', 'a build')}; if that build "
        f"is no longer running, its lock runs out at {until}); {then}"
    )
