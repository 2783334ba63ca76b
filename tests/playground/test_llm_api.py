"""/llm through the real backend process (`python -m backend`), pointed at the fake provider APIs.

Three backends run side by side: one configured correctly (debug logging, 4 s provider timeout),
one without keys and one with keys every provider rejects. Every provider goes through every error
path (a base URL that refuses connections is covered in-process in test_providers.py; here the
fake drops the connection), and no response or log line ever contains a configured key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.playground.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeProvider, Fault
from tests.support.api import ApiClient
from tests.support.stack import Stack, start_backend

PROVIDERS = ("openai", "anthropic", "gemini")
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}
URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL", "gemini": "GEMINI_BASE_URL"}
LABEL = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Gemini"}
MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-5-5", "gemini": "gemini-2.5-flash"}
SLOW_MODEL = {"openai": "gpt-4.1", "anthropic": "claude-opus-5", "gemini": "gemini-2.5-pro"}
SERVER_ERROR = {"openai": 500, "anthropic": 529, "gemini": 503}
TIMEOUT_SECS = 4  # generous: other suites load the 2-core machine; the slow fake waits 3 s longer


@dataclass
class Backend:
    stack: Stack
    api: ApiClient
    keys: dict[str, str]
    seen: list[str]  # every response body this test module received from this backend

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.api.http.request(method, path, **kwargs)
        self.seen.append(response.text)
        return response

    def generate(self, provider: str, model: str | None = None, **settings: Any) -> httpx.Response:
        body = {
            "model": f"{provider}/{model or MODEL[provider]}",
            "messages": [{"role": "user", "content": "ping from the playground"}],
            **settings,
        }
        return self.call("POST", "/llm/generate", json=body)


def _key(provider: str) -> str:
    prefix = {"openai": "sk-proj-", "anthropic": "sk-ant-api03-", "gemini": "AIza"}[provider]
    return prefix + secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeProvider]]:
    servers: dict[str, FakeProvider] = {
        "openai": FakeOpenAI(_key("openai")),
        "anthropic": FakeAnthropic(_key("anthropic")),
        "gemini": FakeGemini(_key("gemini")),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def backends(
    tmp_path_factory: pytest.TempPathFactory, fakes: dict[str, FakeProvider]
) -> Iterator[dict[str, Backend]]:
    good = {p: fakes[p].api_key for p in PROVIDERS}
    wrong = {p: _key(p) for p in PROVIDERS}
    urls = {p: fakes[p].base_url for p in PROVIDERS}
    variants = {
        "good": (good, urls, {"JUNJO_LOG_LEVEL": "debug"}),
        "nokeys": ({p: "" for p in PROVIDERS}, urls, {}),
        "badkeys": (wrong, urls, {"JUNJO_LOG_LEVEL": "debug"}),
    }
    stacks = {}
    for name, (keys, bases, extra) in variants.items():
        env = {"LLM_REQUEST_TIMEOUT_SECS": str(TIMEOUT_SECS), **extra}
        env.update({KEY_ENV[p]: keys[p] for p in PROVIDERS})
        env.update({URL_ENV[p]: bases[p] for p in PROVIDERS})
        data = tmp_path_factory.mktemp(f"llm-{name}")
        stacks[name] = (Stack(data, extra_env=env), data, keys)
    try:
        with ThreadPoolExecutor(len(stacks)) as pool:
            list(
                pool.map(lambda item: start_backend(item[0], item[1] / "logs", timeout=120), stacks.values())
            )
        out = {}
        for name, (stack, _, keys) in stacks.items():
            api = ApiClient(stack.http_url)
            api.create_first_user()
            out[name] = Backend(stack, api, {p: k for p, k in keys.items() if k}, [])
        yield out
        for backend in out.values():
            backend.api.close()
    finally:
        with ThreadPoolExecutor(len(stacks)) as pool:
            list(pool.map(lambda item: item[0].stop(), stacks.values()))


@pytest.fixture
def good(backends: dict[str, Backend], fakes: dict[str, FakeProvider]) -> Backend:
    for fake in fakes.values():
        fake.faults.clear()
    return backends["good"]


def test_every_llm_endpoint_requires_a_session(good: Backend) -> None:
    with ApiClient(good.stack.http_url) as anonymous:
        calls = [
            anonymous.http.post("/llm/generate", json={"model": "openai/gpt-4o-mini", "messages": []}),
            anonymous.http.get("/llm/providers/openai/models"),
            anonymous.http.post("/llm/providers/openai/models/refresh"),
            anonymous.http.get("/llm/providers"),
        ]
    for response in calls:
        assert response.status_code == 401
        assert response.json() == {"detail": "Unauthorized: No valid session"}


def test_providers_say_which_keys_are_configured(backends: dict[str, Backend]) -> None:
    expected_env = {p: f"{p.upper()}_API_KEY" for p in PROVIDERS}
    for name, configured in (("good", True), ("nokeys", False)):
        answer = backends[name].api.http.get("/llm/providers")
        assert answer.status_code == 200
        assert answer.json() == [
            {"id": p, "configured": configured, "env_var": expected_env[p]} for p in PROVIDERS
        ]
        assert not any(key in answer.text for key in backends[name].keys.values())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_generate_answers_through_each_provider(
    good: Backend, fakes: dict[str, FakeProvider], provider: str
) -> None:
    fakes[provider].clear()
    response = good.generate(provider, max_tokens=64, stop=["<END>"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == provider and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": f"{_speaker(provider)} says: ping from the playground",
        "tool_calls": None,
    }
    assert body["usage"]["total_tokens"] >= body["usage"]["completion_tokens"] > 0
    assert body["latency_ms"] > 0 and isinstance(body["created"], int) and body["id"]
    sent = fakes[provider].requests[-1]
    assert sent.method == "POST"
    sent_body = sent.body
    if provider == "gemini":
        sent_body = sent_body["generationConfig"]
        assert sent_body["maxOutputTokens"] == 64 and sent_body["stopSequences"] == ["<END>"]
    elif provider == "anthropic":
        assert sent_body["max_tokens"] == 64 and sent_body["stop_sequences"] == ["<END>"]
    else:
        assert sent_body["max_completion_tokens"] == 64 and sent_body["stop"] == ["<END>"]


def _speaker(provider: str) -> str:
    return {"openai": "OpenAI", "anthropic": "Claude", "gemini": "Gemini"}[provider] + " " + MODEL[provider]


def test_structured_output_and_thinking_reach_each_provider(
    good: Backend, fakes: dict[str, FakeProvider]
) -> None:
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}}
    openai = good.generate("openai", "o3-mini", reasoning_effort="low", json_schema=schema)
    anthropic = good.generate(
        "anthropic", thinking_budget_tokens=1024, max_tokens=4000, json_schema=schema, reasoning_effort="high"
    )
    gemini = good.generate("gemini", temperature=0.1, top_p=0.5, thinking_budget_tokens=0, json_mode=True)
    for response in (openai, anthropic, gemini):
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == '{"echo": "ping from the playground"}'
    sent = fakes["openai"].last("/v1/chat/completions").body
    assert sent["reasoning_effort"] == "low" and sent["response_format"]["json_schema"]["strict"] is True
    sent = fakes["anthropic"].last("/v1/messages").body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert (
        sent["output_config"]["effort"] == "high" and sent["output_config"]["format"]["type"] == "json_schema"
    )
    assert anthropic.json()["reasoning_content"] == "Let me think about that."
    config = fakes["gemini"].last(":generateContent").body["generationConfig"]
    assert config["temperature"] == 0.1 and config["topP"] == 0.5
    assert config["responseMimeType"] == "application/json"
    thinking = config["thinkingConfig"]
    assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_models_are_listed_cached_and_refreshed(
    good: Backend, fakes: dict[str, FakeProvider], provider: str
) -> None:
    path = f"/llm/providers/{provider}/models"
    first = good.call("GET", path)
    assert first.status_code == 200, first.text
    models = first.json()["models"]
    assert models and all(m["id"].startswith(f"{provider}/") and m["provider"] == provider for m in models)
    assert f"{provider}/{MODEL[provider]}" in {m["id"] for m in models}
    assert not any("embedding" in m["id"] or "whisper" in m["id"] for m in models)
    fakes[provider].clear()
    assert good.call("GET", path).json() == first.json()
    assert fakes[provider].requests == []  # served from the cache
    refreshed = good.call("POST", f"{path}/refresh")
    assert refreshed.status_code == 200 and refreshed.json() == first.json()
    assert fakes[provider].requests and all(r.method == "GET" for r in fakes[provider].requests)


def test_invalid_provider_and_validation_errors(good: Backend) -> None:
    message = "Invalid provider. Must be one of: openai, anthropic, gemini"
    assert good.call("GET", "/llm/providers/mistral/models").json() == {"detail": message}
    assert good.call("POST", "/llm/providers/mistral/models/refresh").status_code == 400
    response = good.generate("mistral", "large")
    assert response.status_code == 400 and response.json() == {"detail": message}
    for bad in (
        {"temperature": 2.5},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"max_tokens": 0},
        {"top_p": 1.5},
        {"reasoning_effort": "extreme"},
        {"unknown_setting": 1},
        {"messages": []},
        {"tools": [{"name": "no spaces allowed"}]},
        {"messages": [{"role": "tool", "content": "orphan result"}]},
    ):
        body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], **bad}
        response = good.call("POST", "/llm/generate", json=body)
        assert response.status_code == 422, (bad, response.text)
    for model in ("gpt-4o-mini", "OpenAI/gpt-4o", "openai/", "openai/../../etc"):
        response = good.call(
            "POST", "/llm/generate", json={"model": model, "messages": [{"role": "user", "content": "x"}]}
        )
        assert response.status_code == 422, model


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_calls_come_back_through_the_api(good: Backend, provider: str) -> None:
    tool = {"name": "lookup", "description": "Looks a word up", "parameters": {"type": "object"}}
    response = good.generate(provider, tools=[tool])
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert [(c["name"], c["arguments"]) for c in message["tool_calls"]] == [
        ("lookup", {"query": "ping from the playground"})
    ]


def test_hostile_tool_schemas_are_refused_not_crashing(good: Backend, fakes: dict[str, FakeProvider]) -> None:
    # nesting far past any JSON parser's comfort, inside the 1 MiB body cap (written as text: the
    # client's own encoder would give up first)
    deep = '{"type":"object","properties":{"x":' * 5000 + "{}" + "}}" * 5000
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    text = json.dumps(body)[:-1] + ', "tools": [{"name": "t", "parameters": ' + deep + "}]}"
    fakes["openai"].clear()
    response = good.call("POST", "/llm/generate", content=text, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    many = [{"name": f"t{i}", "parameters": {"type": "object"}} for i in range(129)]
    assert good.call("POST", "/llm/generate", json={**body, "tools": many}).status_code == 422
    assert fakes["openai"].requests == []


def test_unsupported_setting_is_refused_before_any_provider_call(
    good: Backend, fakes: dict[str, FakeProvider]
) -> None:
    fakes["anthropic"].clear()
    response = good.generate("anthropic", temperature=0.7)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Anthropic does not support temperature")
    assert fakes["anthropic"].requests == []


def test_provider_rejection_detail_is_passed_through(good: Backend) -> None:
    response = good.generate("openai", "gpt-404")
    assert response.status_code == 404
    assert "gpt-404" in response.json()["detail"] and response.json()["detail"].startswith("OpenAI")
    response = good.generate("openai", "gpt-4o-mini", json_mode=True)  # no "json" in the prompt
    assert response.status_code == 400 and "must contain the word 'json'" in response.json()["detail"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_key_names_the_variable(backends: dict[str, Backend], provider: str) -> None:
    backend = backends["nokeys"]
    for response in (backend.generate(provider), backend.call("GET", f"/llm/providers/{provider}/models")):
        assert response.status_code == 400
        assert response.json()["detail"].startswith(f"{KEY_ENV[provider]} is not set")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rejected_key_is_a_502_naming_the_variable(backends: dict[str, Backend], provider: str) -> None:
    backend = backends["badkeys"]
    for response in (backend.generate(provider), backend.call("GET", f"/llm/providers/{provider}/models")):
        assert response.status_code == 502
        assert response.json()["detail"] == (
            f"{LABEL[provider]} rejected the API key ({KEY_ENV[provider]}); check the key and restart."
        )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_stays_429(good: Backend, fakes: dict[str, FakeProvider], provider: str) -> None:
    fakes[provider].faults[MODEL[provider]] = Fault(status=429)
    response = good.generate(provider)
    assert response.status_code == 429
    assert response.json()["detail"].startswith(f"{LABEL[provider]} rate limit or quota exceeded: ")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_provider_outage_is_502(good: Backend, fakes: dict[str, FakeProvider], provider: str) -> None:
    fakes[provider].faults[MODEL[provider]] = Fault(status=SERVER_ERROR[provider])
    response = good.generate(provider)
    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        f"{LABEL[provider]} is unavailable (HTTP {SERVER_ERROR[provider]})"
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_provider_times_out_with_504(
    good: Backend, fakes: dict[str, FakeProvider], provider: str
) -> None:
    fakes[provider].faults[SLOW_MODEL[provider]] = Fault(delay=TIMEOUT_SECS + 3)
    response = good.generate(provider, SLOW_MODEL[provider])
    assert response.status_code == 504
    assert response.json()["detail"] == (
        f"{LABEL[provider]} did not answer within {TIMEOUT_SECS} s (LLM_REQUEST_TIMEOUT_SECS)."
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dropped_connection_is_502(good: Backend, fakes: dict[str, FakeProvider], provider: str) -> None:
    fakes[provider].faults[MODEL[provider]] = Fault(drop=True)
    response = good.generate(provider)
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert detail.startswith(f"Could not connect to {LABEL[provider]} at {fakes[provider].base_url}")
    assert URL_ENV[provider] in detail


def test_keys_never_appear_in_responses_or_logs(backends: dict[str, Backend]) -> None:
    """Runs last in this module: every response and the debug-level logs of all three backends."""
    for name, backend in backends.items():
        assert backend.seen, f"{name} backend was not exercised"
        log = backend.stack.backend.log() if backend.stack.backend else ""
        assert "llm_generate" in log or name != "good"
        for key in backend.keys.values():
            assert all(key not in text for text in backend.seen), name
            assert key not in log, f"{name} backend logged a key"
            assert key[-8:] not in log and all(key[-8:] not in text for text in backend.seen)
