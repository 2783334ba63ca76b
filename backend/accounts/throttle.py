"""Sign-in throttling that an attacker cannot turn against the account owner.

Failed attempts are counted in sliding windows, keyed
- per (email, client address): guessing one account from one place;
- per client address: spraying many accounts from one place;
- per email, counting only addresses the account has never signed in from: guessing one account
  from many places. An address where the owner signed in successfully (in the last
  KNOWN_ADDRESS_DAYS) is exempt from this lock, so a distributed attack on an email cannot lock
  its owner out from their usual address.

Check and record are one step (`begin`) under one lock: an attempt is counted as a failure before
the password is verified and forgiven when it succeeds, so a burst of concurrent requests cannot
all pass the check before any of them is recorded. A throttled attempt is refused before the
password is checked (no argon2 work, nothing learnt); the answer is 429 with Retry-After.

In memory (one backend process): a restart forgets the counters and the known addresses, which is
acceptable for slowing down online guessing. Client addresses are what uvicorn reports, i.e. the
X-Forwarded-For of a trusted proxy (FORWARDED_ALLOW_IPS) or else the TCP peer.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window_seconds: float


PAIR_LIMIT = Limit(max_failures=10, window_seconds=600)
CLIENT_LIMIT = Limit(max_failures=50, window_seconds=600)
UNKNOWN_ADDRESS_EMAIL_LIMIT = Limit(max_failures=30, window_seconds=600)
KNOWN_ADDRESS_DAYS = 30
_MAX_TRACKED_KEYS = 100_000


class _Windows:
    """Failure timestamps per key, pruned to the limit's window; not thread-safe on its own."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._failures: dict[str, deque[float]] = {}

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

    def retry_after(self, key: str, now: float) -> int:
        hits = self._prune(key, now)
        if hits is None or len(hits) < self.limit.max_failures:
            return 0
        oldest_relevant = hits[len(hits) - self.limit.max_failures]
        return max(1, math.ceil(oldest_relevant + self.limit.window_seconds - now))

    def record(self, key: str, now: float) -> None:
        if key not in self._failures and len(self._failures) >= _MAX_TRACKED_KEYS:
            self._failures.pop(next(iter(self._failures)))  # bound memory: forget the oldest key
        self._failures.setdefault(key, deque()).append(now)

    def forgive(self, key: str, at: float) -> None:
        hits = self._failures.get(key)
        if hits is not None and at in hits:
            hits.remove(at)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt already counted as failed; `SignInThrottle.succeeded` forgives it."""

    email: str
    client: str
    at: float
    counted_for_email: bool


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_pair = _Windows(PAIR_LIMIT)
        self._by_client = _Windows(CLIENT_LIMIT)
        self._by_email = _Windows(UNKNOWN_ADDRESS_EMAIL_LIMIT)
        self._known: OrderedDict[str, float] = OrderedDict()  # "email client" -> last success

    @staticmethod
    def _pair(email: str, client: str) -> str:
        return f"{email} {client}"

    def _is_known(self, pair: str, now: float) -> bool:
        last = self._known.get(pair)
        return last is not None and now - last < KNOWN_ADDRESS_DAYS * 86400

    def begin(self, email: str, client: str) -> Attempt | int:
        """Counts an attempt, or returns the seconds to wait (> 0) when it is throttled."""
        with self._lock:
            now = self._clock()
            pair = self._pair(email, client)
            known = self._is_known(pair, now)
            wait = max(
                self._by_pair.retry_after(pair, now),
                self._by_client.retry_after(client, now),
                0 if known else self._by_email.retry_after(email, now),
            )
            if wait:
                return wait
            self._by_pair.record(pair, now)
            self._by_client.record(client, now)
            if not known:
                self._by_email.record(email, now)
            return Attempt(email, client, now, counted_for_email=not known)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: forgive this attempt, clear the pair's failures and remember
        the address as one the account's owner uses."""
        with self._lock:
            pair = self._pair(attempt.email, attempt.client)
            self._by_pair.reset(pair)
            self._by_client.forgive(attempt.client, attempt.at)
            if attempt.counted_for_email:
                self._by_email.forgive(attempt.email, attempt.at)
            self._known.pop(pair, None)
            if len(self._known) >= _MAX_TRACKED_KEYS:
                self._known.popitem(last=False)
            self._known[pair] = self._clock()
