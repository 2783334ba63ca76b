"""Sign-in throttling against a real `python -m backend`, with clients on distinct loopback
addresses (127.0.0.x): concurrent guesses cannot outrun the counter, and an attacker guessing an
account's password cannot lock its owner out of their usual address."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.accounts.throttle import PAIR_LIMIT, UNKNOWN_ADDRESS_EMAIL_LIMIT
from tests.support.api import DEFAULT_EMAIL, DEFAULT_PASSWORD, ApiClient
from tests.support.stack import Stack, start_backend

WRONG = {"email": DEFAULT_EMAIL, "password": "not the password"}
RIGHT = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data")
    try:
        start_backend(stack, tmp_path / "logs")
        with ApiClient(stack.http_url) as owner:
            owner.create_first_user()
        yield stack
    finally:
        stack.stop()


def _statuses(stack: Stack, address: str, body: dict[str, str], times: int) -> list[int]:
    with ApiClient(stack.http_url, local_address=address) as client:
        return [client.http.post("/sign-in", json=body).status_code for _ in range(times)]


def test_concurrent_guesses_cannot_outrun_the_counter(backend: Stack) -> None:
    """40 wrong passwords at once from one address: exactly the limit reach the password check."""
    attempts = 40

    def guess(_: int) -> int:
        with ApiClient(backend.http_url, local_address="127.0.0.9") as client:
            return client.http.post("/sign-in", json=WRONG).status_code

    with ThreadPoolExecutor(attempts) as pool:
        statuses = list(pool.map(guess, range(attempts)))
    assert statuses.count(401) == PAIR_LIMIT.max_failures, statuses
    assert statuses.count(429) == attempts - PAIR_LIMIT.max_failures


def test_attacker_cannot_lock_the_owner_out_of_their_usual_address(backend: Stack) -> None:
    assert _statuses(backend, "127.0.0.2", RIGHT, 1) == [200]  # the owner's usual address
    # Guesses from several addresses, more than the per-email limit in total.
    attackers = [f"127.0.0.{i}" for i in range(3, 7)]
    for address in attackers:
        statuses = _statuses(backend, address, WRONG, PAIR_LIMIT.max_failures + 1)
        assert statuses.count(401) <= PAIR_LIMIT.max_failures and statuses[-1] == 429
    assert len(attackers) * PAIR_LIMIT.max_failures >= UNKNOWN_ADDRESS_EMAIL_LIMIT.max_failures
    # The email is now locked for addresses it has never signed in from, even with the password ...
    assert _statuses(backend, "127.0.0.20", RIGHT, 1) == [429]
    # ... but not for the owner at their usual address, nor for other accounts.
    assert _statuses(backend, "127.0.0.2", RIGHT, 1) == [200]
    other = {"email": "someone@example.com", "password": "whatever1"}
    assert _statuses(backend, "127.0.0.20", other, 1) == [401]


def test_a_success_forgives_the_attempts_of_its_address(backend: Stack) -> None:
    with ApiClient(backend.http_url, local_address="127.0.0.2") as owner:
        for _ in range(3):
            for _ in range(PAIR_LIMIT.max_failures - 1):  # typos, then the right password
                assert owner.http.post("/sign-in", json=WRONG).status_code == 401
            assert owner.http.post("/sign-in", json=RIGHT).status_code == 200
