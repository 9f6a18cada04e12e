"""Who may write an embedded index directory: one full build, or any number of updates, not both.

A build writes a new generation beside the live one and swaps it in at the end. A case added to the
live generation meanwhile would be swapped out, and lost after the caller was told it was written;
a second build starting meanwhile would delete the first one's generation as left over from a crash.
So a build holds the directory's lock exclusively from its start to the swap, and updates hold it
shared (SQLite already puts them in order among themselves).

``flock(2)`` locks belong to the open file: the kernel drops them when the holder exits, however it
exits, so a killed build never leaves the index locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from leian.errors import IndexBusy, IndexError_
from leian.retrieval.backends.base import now_iso

LOCK_FILE = "LOCK"
# A build waits this long for updates in flight (an API request takes milliseconds; an
# ``--add`` of a large file holds the lock until it has finished, and the build then gives up)
UPDATES_WAIT_S = 30.0
_POLL_S = 0.05


@contextlib.contextmanager
def building_lock(root: Path) -> Iterator[None]:
    """Held by a full build of ``root``. Raises IndexBusy at once when another build holds it, and
    after ``UPDATES_WAIT_S`` when updates still do."""
    with _open(root) as fd:
        deadline = time.monotonic() + UPDATES_WAIT_S
        while not _try(fd, fcntl.LOCK_EX):
            if not _try(fd, fcntl.LOCK_SH):  # held exclusively: by a build
                raise IndexBusy(
                    f"{root} is being rebuilt by another process ({_holder(fd) or 'a build'}); "
                    "wait for it to finish"
                )
            fcntl.flock(fd, fcntl.LOCK_UN)  # held shared: by updates, which end soon
            if time.monotonic() >= deadline:
                raise IndexBusy(
                    f"{root} is being updated by another process (leian index --add/--delete, or the API) "
                    f"and has been for {UPDATES_WAIT_S:.0f} s; build again when the update has finished"
                )
            time.sleep(_POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"build by process {os.getpid()}, started {now_iso()}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)


@contextlib.contextmanager
def updating_lock(root: Path) -> Iterator[None]:
    """Held while cases are added to or deleted from ``root``'s live generation (any number at once).
    Raises IndexBusy at once while a build holds the directory: its swap would undo the update."""
    with _open(root) as fd:
        if not _try(fd, fcntl.LOCK_SH):
            holder = _holder(fd) or "a build"
            raise IndexBusy(
                f"{root} is being rebuilt ({holder}); a case written now would be lost when the new "
                "index is swapped in. Try again when the build has finished"
            )
        yield


@contextlib.contextmanager
def _open(root: Path) -> Iterator[int]:
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise IndexError_(f"cannot write to the index {root}: {e.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)  # and with it the lock


def _try(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    """What the build holding the lock wrote into it (a killed build's words stay, so this is only
    read once the lock is known to be held exclusively)."""
    return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
