"""`ApiClient`: the backend's HTTP API as a signed-in browser would use it, for tests.

Every request carries `Origin: http://localhost:5153` (the CSRF check refuses state-changing
requests without an allowed origin) and cookies persist across calls like a browser's jar.
Helpers raise on unexpected status codes; use `.http` for raw requests and error assertions.
"""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_ORIGIN = "http://localhost:5153"
DEFAULT_EMAIL = "admin@example.com"
DEFAULT_PASSWORD = "correct horse battery"
OBS = "/api/v1/observability"  # prefix of the span query API


class ApiClient:
    def __init__(
        self,
        base_url: str,
        origin: str = DEFAULT_ORIGIN,
        timeout: float = 30.0,
        local_address: str | None = None,
    ) -> None:
        """`local_address` (e.g. "127.0.0.2": all of 127/8 is loopback) makes requests come from
        that client address, for tests of per-address behaviour."""
        transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
        self.http = httpx.Client(
            base_url=base_url, headers={"Origin": origin}, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _ok(response: httpx.Response, expected: int = 200) -> Any:
        if response.status_code != expected:
            raise AssertionError(
                f"{response.request.method} {response.request.url} -> {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def create_first_user(
        self, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD, setup_code: str | None = None
    ) -> None:
        """Creates the first account (an admin); the session cookie is kept (signed in).
        `setup_code` (tests.support.stack.setup_code) is needed in production or off loopback."""
        body = {"email": email, "password": password, "setup_code": setup_code}
        self._ok(self.http.post("/users/create-first-user", json=body))

    def sign_in(self, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD) -> None:
        self._ok(self.http.post("/sign-in", json={"email": email, "password": password}))

    def sign_out(self) -> None:
        self._ok(self.http.post("/sign-out"))

    def create_api_key(self, name: str = "test key") -> str:
        """Returns the full 64-character key (shown only at creation)."""
        return str(self._ok(self.http.post("/api_keys", json={"name": name}), expected=201)["key"])

    def list_api_keys(self) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get("/api_keys")))
