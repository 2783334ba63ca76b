"""Every way a playground call can fail, as an HTTP status and a `detail` a user can act on.

Provider SDKs raise their own exception types; each provider module translates them with the
helpers here so the mapping is identical for all three: a missing key names the variable to set,
a rejected key says which variable holds it (never its value), rate limits stay 429, timeouts are
504 and provider outages or unreachable base URLs are 502. Provider messages that are passed
through are scrubbed of the key first.
"""

from __future__ import annotations


class PlaygroundError(Exception):
    """A failure with the status and `detail` the /llm endpoints answer with."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def scrub(text: str, secret: str | None) -> str:
    """Remove the secret (and obvious fragments of it) from text shown to users or logs."""
    if secret:
        text = text.replace(secret, "***")
        if len(secret) >= 12:
            for fragment in (secret[:8], secret[-6:]):
                text = text.replace(fragment, "***")
    return text.strip()


def missing_key(label: str, key_env: str) -> PlaygroundError:
    return PlaygroundError(
        400, f"{key_env} is not set: add it to the backend environment (.env) and restart to use {label}."
    )


def unsupported(label: str, setting: str, why: str) -> PlaygroundError:
    return PlaygroundError(400, f"{label} does not support {setting}: {why}")


def from_status(label: str, key_env: str, status: int, message: str, secret: str | None) -> PlaygroundError:
    """Map a provider's HTTP error status to ours."""
    message = scrub(message, secret)[:1000] or "no message"
    if status == 401:
        return PlaygroundError(502, f"{label} rejected the API key ({key_env}); check the key and restart.")
    if status == 403:
        return PlaygroundError(502, f"{label} refused access with the configured key ({key_env}): {message}")
    if status == 404:
        return PlaygroundError(404, f"{label} does not know this model or endpoint: {message}")
    if status == 429:
        return PlaygroundError(429, f"{label} rate limit or quota exceeded: {message}")
    if 400 <= status < 500:
        return PlaygroundError(400, f"{label} rejected the request: {message}")
    return PlaygroundError(502, f"{label} is unavailable (HTTP {status}): {message}")


def timed_out(label: str, seconds: float) -> PlaygroundError:
    return PlaygroundError(504, f"{label} did not answer within {seconds:g} s (LLM_REQUEST_TIMEOUT_SECS).")


def unreachable(label: str, base_url: str, base_url_env: str) -> PlaygroundError:
    return PlaygroundError(
        502, f"Could not connect to {label} at {base_url} (check {base_url_env} and the network)."
    )


def unreadable(label: str, what: str) -> PlaygroundError:
    return PlaygroundError(502, f"{label} returned a response the playground could not read: {what}")
