"""Requests per minute per key: a token bucket (a burst of up to a minute's allowance, refilled
evenly), so a client that keeps to its rate is never refused and one that floods is told when to
come back (Retry-After)."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: str, per_minute: int) -> int:
        """0 when the request may go ahead, else the seconds to wait. ``per_minute`` 0: no limit."""
        if per_minute <= 0:
            return 0
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0
            self._buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))


__all__ = ["RateLimiter"]
