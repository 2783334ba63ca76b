"""Sign-in throttling: sliding windows of failed attempts per email and per client address.

In memory (one backend process): a restart forgets the counters, which is acceptable for slowing
down online guessing. A throttled attempt is refused before the password is checked, so the
attacker learns nothing and costs no argon2 work; the answer is 429 with Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window_seconds: float


EMAIL_LIMIT = Limit(max_failures=10, window_seconds=600)
CLIENT_LIMIT = Limit(max_failures=50, window_seconds=600)
_MAX_TRACKED_KEYS = 100_000


class SlidingWindow:
    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        hits = self._failures.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.limit.window_seconds:
            hits.popleft()
        if not hits:
            del self._failures[key]
            return None
        return hits

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it is not throttled."""
        with self._lock:
            now = self._clock()
            hits = self._prune(key, now)
            if hits is None or len(hits) < self.limit.max_failures:
                return 0
            oldest_relevant = hits[len(hits) - self.limit.max_failures]
            return max(1, math.ceil(oldest_relevant + self.limit.window_seconds - now))

    def record_failure(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            if key not in self._failures and len(self._failures) >= _MAX_TRACKED_KEYS:
                self._failures.pop(next(iter(self._failures)))  # bound memory: forget the oldest key
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.by_email = SlidingWindow(EMAIL_LIMIT, clock)
        self.by_client = SlidingWindow(CLIENT_LIMIT, clock)

    def retry_after(self, email: str, client: str) -> int:
        return max(self.by_email.retry_after(email), self.by_client.retry_after(client))

    def failed(self, email: str, client: str) -> None:
        self.by_email.record_failure(email)
        self.by_client.record_failure(client)

    def succeeded(self, email: str) -> None:
        self.by_email.reset(email)
