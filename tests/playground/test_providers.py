"""The provider layer against the local fake provider APIs, in-process (real SDKs, real HTTP).

These prove that every playground setting is translated and actually SENT in each provider's wire
format (the fakes record the requests), that settings a provider does not accept are refused
before any request, and that the model cache honours its TTL. The same paths through the running
backend process are covered in test_llm_api.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from backend.playground.errors import PlaygroundError, scrub
from backend.playground.providers import Provider, ProviderConfig
from backend.playground.schemas import GenerateRequest, GenerateResponse, ModelInfo
from backend.playground.service import MODEL_CACHE_TTL_SECS, Playground
from backend.playground.strict_schema import strict_schema
from tests.playground.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeProvider, Fault, proto_fields
from tests.support.procs import free_port

KEYS = {
    "openai": "sk-proj-unit-0123456789abcdef",
    "anthropic": "sk-ant-unit-0123456789abcdef",
    "gemini": "AIzaUnit0123456789abcdef",
}
SCHEMA = {
    "type": "object",
    "properties": {
        "echo": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
    },
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeProvider]]:
    servers: dict[str, FakeProvider] = {
        "openai": FakeOpenAI(KEYS["openai"]),
        "anthropic": FakeAnthropic(KEYS["anthropic"]),
        "gemini": FakeGemini(KEYS["gemini"]),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class SyncPlayground:
    """A Playground driven from sync tests on one event loop (its SDK clients live on that loop)."""

    def __init__(self, playground: SyncPlayground) -> None:
        self.inner = playground
        self._runner = asyncio.Runner()

    def generate(self, **body: Any) -> GenerateResponse:
        return self._runner.run(self.inner.generate(GenerateRequest.model_validate(body)))

    def models(self, name: str, refresh: bool = False) -> list[ModelInfo]:
        return self._runner.run(self.inner.models(name, refresh))

    def label(self, name: str) -> str:
        return self.provider(name).label

    def provider(self, name: str) -> Provider:
        return self._runner.run(self.inner.provider(name))

    def close_clients(self) -> None:
        self._runner.run(self.inner.aclose())

    def close(self) -> None:
        self.close_clients()
        self._runner.close()


@pytest.fixture
def playground(fakes: dict[str, FakeProvider], clock: Clock) -> Iterator[SyncPlayground]:
    for fake in fakes.values():
        fake.clear()
        fake.faults.clear()
    sync = SyncPlayground(
        Playground(
            {name: ProviderConfig(KEYS[name], fake.base_url, 10) for name, fake in fakes.items()},
            10,
            clock=clock,
        )
    )
    yield sync
    sync.close()


def run(playground: SyncPlayground, **body: Any) -> GenerateResponse:
    return playground.generate(**body)


def refused(playground: SyncPlayground, **body: Any) -> PlaygroundError:
    with pytest.raises(PlaygroundError) as caught:
        run(playground, **body)
    return caught.value


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]


# ------------------------------------------------------------------------------------------- OpenAI
def test_openai_sends_every_sampling_setting(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    answer = run(
        playground,
        model="openai/gpt-4o-mini",
        messages=user("hello there"),
        temperature=0.3,
        top_p=0.9,
        max_tokens=50,
        stop=["END", "STOP"],
    )
    sent = fakes["openai"].last("/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEYS['openai']}"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": user("hello there"),
        "temperature": 0.3,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "stop": ["END", "STOP"],
    }
    assert answer.choices[0].message.content == "OpenAI gpt-4o-mini says: hello there"
    assert answer.provider == "openai" and answer.model == "gpt-4o-mini-2025-01-31"
    assert answer.usage is not None and answer.usage.total_tokens == answer.usage.prompt_tokens + 5
    assert answer.latency_ms > 0


def test_openai_reasoning_effort_and_completion_token_cap(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    answer = run(
        playground,
        model="openai/o3-mini",
        messages=user("think"),
        reasoning_effort="high",
        max_completion_tokens=400,
    )
    sent = fakes["openai"].last("/v1/chat/completions").body
    assert sent["reasoning_effort"] == "high" and sent["max_completion_tokens"] == 400
    assert "max_tokens" not in sent and "temperature" not in sent
    assert answer.usage is not None and answer.usage.reasoning_tokens == 7


def test_openai_json_mode_and_strict_schema(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    answer = run(playground, model="openai/gpt-4.1", messages=user("reply in JSON"), json_mode=True)
    assert fakes["openai"].last("/v1/chat/completions").body["response_format"] == {"type": "json_object"}
    assert json.loads(answer.choices[0].message.content) == {"echo": "reply in JSON"}

    answer = run(playground, model="openai/gpt-4.1", messages=user("structured"), json_schema=SCHEMA)
    fmt = fakes["openai"].last("/v1/chat/completions").body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == strict_schema(
        SCHEMA, require_all=True
    )  # the fake checks strictness
    assert json.loads(answer.choices[0].message.content) == {"echo": "structured"}


def test_openai_provider_rejections_are_passed_through(playground: SyncPlayground) -> None:
    error = refused(playground, model="openai/o3-mini", messages=user("hi"), temperature=0.2)
    assert error.status_code == 400 and "'temperature' does not support 0.2" in error.detail
    error = refused(playground, model="openai/gpt-4o-mini", messages=user("no keyword"), json_mode=True)
    assert error.status_code == 400 and "must contain the word 'json'" in error.detail
    error = refused(playground, model="openai/gpt-9", messages=user("hi"))
    assert error.status_code == 404 and "gpt-9" in error.detail


def test_openai_refuses_thinking_budget_without_calling(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    error = refused(playground, model="openai/gpt-5", messages=user("hi"), thinking_budget_tokens=2048)
    assert error.status_code == 400 and "thinking_budget_tokens" in error.detail
    assert fakes["openai"].calls("/v1/chat/completions") == []


# ---------------------------------------------------------------------------------------- Anthropic
def test_anthropic_thinking_effort_schema_and_system(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    answer = run(
        playground,
        model="anthropic/claude-sonnet-5-5",
        messages=[
            *user("first"),
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ],
        max_tokens=8000,
        thinking_budget_tokens=2048,
        include_thoughts=True,
        reasoning_effort="medium",
        json_schema=SCHEMA,
        stop=["###"],
    )
    sent = fakes["anthropic"].last("/v1/messages")
    assert sent.headers["anthropic-version"] and KEYS["anthropic"] in sent.headers["authorization"]
    assert sent.body["system"] == "You are terse."
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    assert sent.body["max_tokens"] == 8000 and sent.body["stop_sequences"] == ["###"]
    assert sent.body["thinking"] == {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}
    assert sent.body["output_config"] == {
        "effort": "medium",
        "format": {"type": "json_schema", "schema": strict_schema(SCHEMA, require_all=False)},
    }
    assert sent.body["output_config"]["format"]["schema"]["additionalProperties"] is False
    assert "temperature" not in sent.body and "top_p" not in sent.body
    assert json.loads(answer.choices[0].message.content) == {"echo": "second"}
    assert answer.reasoning_content == "Let me think about that."
    assert answer.usage is not None and answer.usage.reasoning_tokens == 5
    assert answer.choices[0].finish_reason == "end_turn"


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (-1, {"type": "adaptive"}),
        (0, {"type": "disabled"}),
        (1024, {"type": "enabled", "budget_tokens": 1024}),
    ],
)
def test_anthropic_thinking_budget_forms(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], budget: int, expected: dict[str, Any]
) -> None:
    run(playground, model="anthropic/claude-opus-5", messages=user("hi"), thinking_budget_tokens=budget)
    sent = fakes["anthropic"].last("/v1/messages").body
    assert sent["thinking"] == expected
    assert sent["max_tokens"] == 4096 + max(budget, 0)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"temperature": 0.5}, "temperature"),
        ({"top_p": 0.5}, "top_p"),
        ({"json_mode": True}, "JSON mode without a schema"),
        ({"thinking_budget_tokens": 500}, "at least 1024"),
        ({"thinking_budget_tokens": 3000, "max_tokens": 2000}, "lower than max_tokens"),
        ({"reasoning_effort": "minimal"}, "reasoning_effort 'minimal'"),
        ({"include_thoughts": True}, "include_thoughts"),
    ],
)
def test_anthropic_refuses_unsupported_settings_without_calling(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], body: dict[str, Any], phrase: str
) -> None:
    error = refused(playground, model="anthropic/claude-sonnet-5-5", messages=user("hi"), **body)
    assert error.status_code == 400 and phrase in error.detail and error.detail.startswith("Anthropic")
    assert fakes["anthropic"].calls("/v1/messages") == []


# ------------------------------------------------------------------------------------------- Gemini
def test_gemini_generation_config_is_sent(playground: SyncPlayground, fakes: dict[str, FakeProvider]) -> None:
    answer = run(
        playground,
        model="gemini/gemini-2.5-flash",
        messages=[*user("q1"), {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}],
        temperature=1.4,
        top_p=0.8,
        max_tokens=300,
        stop=["\n\n"],
        thinking_budget_tokens=512,
        include_thoughts=True,
        json_schema=SCHEMA,
    )
    sent = fakes["gemini"].last(":generateContent")
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEYS["gemini"]
    assert [c["role"] for c in sent.body["contents"]] == ["user", "model", "user"]
    assert sent.body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    config = sent.body["generationConfig"]
    assert config["temperature"] == 1.4 and config["topP"] == 0.8 and config["maxOutputTokens"] == 300
    assert config["stopSequences"] == ["\n\n"]
    assert config["responseMimeType"] == "application/json" and config["responseJsonSchema"] == SCHEMA
    thinking = config["thinkingConfig"]  # proto3 JSON: the SDK may use either field-name form
    assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 512
    assert thinking.get("includeThoughts", thinking.get("include_thoughts")) is True
    assert json.loads(answer.choices[0].message.content) == {"echo": "q2"}
    assert answer.reasoning_content is not None and "Considering" in answer.reasoning_content
    assert answer.usage is not None and answer.usage.reasoning_tokens == 9
    assert answer.choices[0].finish_reason == "STOP"


def test_gemini_reasoning_effort_becomes_thinking_level(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    run(
        playground,
        model="gemini/gemini-3-pro-preview",
        messages=user("hi"),
        reasoning_effort="low",
        json_mode=True,
    )
    config = fakes["gemini"].last(":generateContent").body["generationConfig"]
    thinking = config["thinkingConfig"]
    assert thinking.get("thinkingLevel", thinking.get("thinking_level")) == "LOW"
    assert config["responseMimeType"] == "application/json" and "responseJsonSchema" not in config


def test_gemini_refuses_conflicting_thinking_settings(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    error = refused(
        playground,
        model="gemini/gemini-2.5-pro",
        messages=user("hi"),
        reasoning_effort="high",
        thinking_budget_tokens=100,
    )
    assert error.status_code == 400 and "set one of them" in error.detail
    error = refused(playground, model="gemini/gemini-2.5-pro", messages=user("hi"), reasoning_effort="none")
    assert error.status_code == 400 and "thinking_budget_tokens 0" in error.detail
    assert fakes["gemini"].calls(":generateContent") == []


# ------------------------------------------------------------------------------------ models, cache
def test_model_lists_are_filtered_paginated_and_cached(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], clock: Clock
) -> None:
    expected = {
        "openai": ["openai/gpt-4.1", "openai/gpt-4o-mini", "openai/gpt-5", "openai/o3-mini"],
        "anthropic": [
            "anthropic/claude-sonnet-5-5",
            "anthropic/claude-opus-5",
            "anthropic/claude-haiku-4-5",
        ],
        "gemini": ["gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro", "gemini/gemini-3-pro-preview"],
    }
    for name, ids in expected.items():
        models = playground.models(name)
        assert [m.id for m in models] == ids
        assert all(m.provider == name for m in models)
    assert len(fakes["anthropic"].calls("/v1/models")) == 2  # two pages (the fake serves pages of 2)
    assert len(fakes["gemini"].calls("/v1beta/models")) == 2
    by_id = {m.id: m for m in playground.models("anthropic")}
    assert (
        by_id["anthropic/claude-sonnet-5-5"].supports_reasoning
        and by_id["anthropic/claude-sonnet-5-5"].max_tokens
    )
    assert not by_id["anthropic/claude-haiku-4-5"].supports_reasoning
    assert {m.id: m.supports_reasoning for m in playground.models("openai")}["openai/o3-mini"]

    fakes["openai"].clear()
    playground.models("openai")
    assert fakes["openai"].calls("/v1/models") == []  # cached
    playground.models("openai", refresh=True)
    assert len(fakes["openai"].calls("/v1/models")) == 1  # refresh bypasses
    clock.now += MODEL_CACHE_TTL_SECS - 1
    playground.models("openai")
    assert len(fakes["openai"].calls("/v1/models")) == 1
    clock.now += 2
    playground.models("openai")
    assert len(fakes["openai"].calls("/v1/models")) == 2  # expired


def test_failed_model_lists_are_not_cached(
    playground: SyncPlayground, fakes: dict[str, FakeProvider]
) -> None:
    fakes["gemini"].faults[""] = Fault(status=503)  # the list route carries no model name
    with pytest.raises(PlaygroundError) as caught:
        playground.models("gemini")
    assert caught.value.status_code == 502
    fakes["gemini"].faults.clear()
    assert len(playground.models("gemini")) == 3


# ----------------------------------------------------------------------------------- pure helpers
def test_strict_schema_tightens_nested_objects_without_mutating() -> None:
    original = json.loads(json.dumps(SCHEMA))
    strict = strict_schema(SCHEMA, require_all=True)
    assert original == SCHEMA
    assert strict["additionalProperties"] is False and strict["required"] == ["echo", "tags"]
    item = strict["properties"]["tags"]["items"]
    assert item["additionalProperties"] is False and item["required"] == ["k"]
    loose = strict_schema({"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "null"}]}, False)
    assert loose["anyOf"][0] == {"type": "object", "properties": {"a": {}}, "additionalProperties": False}


def test_scrub_removes_the_key_and_its_fragments() -> None:
    key = "sk-proj-abcdefghijklmnop1234"
    text = f"Incorrect API key provided: {key}; also sk-proj-…op1234 and {key[:8]}***"
    cleaned = scrub(text, key)
    assert key not in cleaned and key[:8] not in cleaned and key[-6:] not in cleaned


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_refused_connection_names_the_base_url_setting(name: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    playground = SyncPlayground(Playground({name: ProviderConfig(KEYS[name], closed, 5)}, 5))
    try:
        with pytest.raises(PlaygroundError) as caught:
            run(playground, model=f"{name}/some-model", messages=user("hi"))
        env = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL", "gemini": "GEMINI_BASE_URL"}[
            name
        ]
        assert caught.value.status_code == 502
        assert caught.value.detail.startswith(f"Could not connect to {playground.label(name)} at {closed}")
        assert env in caught.value.detail
        with pytest.raises(PlaygroundError) as caught:
            playground.models(name)
        assert caught.value.status_code == 502 and env in caught.value.detail
    finally:
        playground.close()


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_sdk_timeout_is_504(fakes: dict[str, FakeProvider], name: str) -> None:
    fake = fakes[name]
    model = {"openai": "gpt-5", "anthropic": "claude-haiku-4-5", "gemini": "gemini-3-pro-preview"}[name]
    fake.faults[model] = Fault(delay=2.5)
    # the SDK's own 1 s timeout fires first; the playground's outer guard is a generous backstop
    playground = SyncPlayground(Playground({name: ProviderConfig(KEYS[name], fake.base_url, 1)}, 30))
    try:
        error = refused(playground, model=f"{name}/{model}", messages=user("hi"))
    finally:
        fake.faults.pop(model)
        playground.close()
    assert error.status_code == 504 and "did not answer within 1 s" in error.detail


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_unreadable_provider_answer_is_502_not_500(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], name: str
) -> None:
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-opus-5", "gemini": "gemini-2.5-flash"}[name]
    fakes[name].faults[model] = Fault(garbage=True)
    error = refused(playground, model=f"{name}/{model}", messages=user("hi"))
    assert error.status_code == 502
    assert error.detail.startswith(
        f"{playground.label(name)} returned a response the playground could not read"
    )


def test_each_provider_keeps_one_client_until_closed(playground: SyncPlayground) -> None:
    first: dict[str, object] = {}
    for name, model in (
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-opus-5"),
        ("gemini", "gemini-2.5-flash"),
    ):
        run(playground, model=f"{name}/{model}", messages=user("one"))
        first[name] = playground.provider(name).client()
        run(playground, model=f"{name}/{model}", messages=user("two"))
        playground.models(name, refresh=True)
        assert playground.provider(name).client() is first[name]
    playground.close_clients()
    assert all(playground.provider(name)._sdk_client is None for name in ("openai", "anthropic", "gemini"))
    run(playground, model="openai/gpt-4o-mini", messages=user("after close"))  # a fresh client
    assert playground.provider("openai").client() is not first["openai"]


# -------------------------------------------------------------------------------------------- Tools
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current temperature of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
MODELS = {
    "openai": f"openai/{FakeOpenAI.models[0]}",
    "anthropic": f"anthropic/{FakeAnthropic.models[0]}",
    "gemini": f"gemini/{FakeGemini.models[0]}",
}
# An Agent's second request: its input, the tool calls it made and their results (as the playground
# opens it from a junjo model-request span)
CONVERSATION = [
    {"role": "system", "content": "Answer weather questions."},
    {"role": "user", "content": "Weather in Paris and Oslo?"},
    {
        "role": "assistant",
        "content": "Checking two cities.",
        "tool_calls": [
            {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}},
            {"id": "call_2", "name": "get_weather", "arguments": {"city": "Oslo"}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"celsius": 18}'},
    {"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": '{"celsius": 4}'},
]


def _sent_tools(name: str, body: dict[str, Any]) -> Any:
    if name == "gemini":
        return [proto_fields(d) for t in body["tools"] for d in proto_fields(t)["functionDeclarations"]]
    return body["tools"]


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_tools_are_sent_and_the_models_calls_come_back_unrun(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], name: str
) -> None:
    model = MODELS[name]
    answer = run(playground, model=model, messages=user("Weather in Lima?"), tools=[WEATHER_TOOL])
    sent = fakes[name].requests[-1].body
    expected = {
        "openai": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current temperature of a city",
                    "parameters": WEATHER_TOOL["parameters"],
                },
            }
        ],
        "anthropic": [
            {
                "name": "get_weather",
                "description": "Current temperature of a city",
                "input_schema": WEATHER_TOOL["parameters"],
            }
        ],
        "gemini": [
            {
                "name": "get_weather",
                "description": "Current temperature of a city",
                "parametersJsonSchema": WEATHER_TOOL["parameters"],
            }
        ],
    }[name]
    assert _sent_tools(name, sent) == expected
    calls = answer.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert (calls[0].name, calls[0].arguments) == ("get_weather", {"query": "Weather in Lima?"})
    assert calls[0].id  # Gemini sends none; the backend names the call so results can answer it


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_earlier_calls_and_their_results_reach_the_model(
    playground: SyncPlayground, fakes: dict[str, FakeProvider], name: str
) -> None:
    model = MODELS[name]
    answer = run(playground, model=model, messages=CONVERSATION, tools=[WEATHER_TOOL])
    sent = fakes[name].requests[-1].body
    text = answer.choices[0].message.content
    assert answer.choices[0].message.tool_calls is None
    if name == "openai":
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "tool"]
        calls = sent["messages"][2]["tool_calls"]
        assert [(c["id"], json.loads(c["function"]["arguments"])) for c in calls] == [
            ("call_1", {"city": "Paris"}),
            ("call_2", {"city": "Oslo"}),
        ]
        assert 'tool result: {"celsius": 18} | tool result: {"celsius": 4}' in text
    elif name == "anthropic":
        assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
        assert [b["type"] for b in sent["messages"][1]["content"]] == ["text", "tool_use", "tool_use"]
        results = sent["messages"][2]["content"]  # both results in the one user turn after the calls
        assert [(b["tool_use_id"], b["content"]) for b in results] == [
            ("call_1", '{"celsius": 18}'),
            ("call_2", '{"celsius": 4}'),
        ]
        assert 'tool result: {"celsius": 18} | tool result: {"celsius": 4}' in text
    else:
        assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
        model_parts = [proto_fields(p) for p in sent["contents"][1]["parts"]]
        assert [p.get("functionCall", {}).get("args") for p in model_parts] == [
            None,
            {"city": "Paris"},
            {"city": "Oslo"},
        ]
        responses = [proto_fields(p)["functionResponse"] for p in sent["contents"][2]["parts"]]
        assert [(r["name"], r["response"]) for r in responses] == [
            ("get_weather", {"result": {"celsius": 18}}),
            ("get_weather", {"result": {"celsius": 4}}),
        ]
        assert 'tool result: {"result": {"celsius": 18}}' in text


@pytest.mark.parametrize(
    "body",
    [
        {"tools": [{"name": "bad name!", "parameters": {}}]},
        {"tools": [{"name": "t", "parameters": {}, "extra": 1}]},
        {"tools": [WEATHER_TOOL, WEATHER_TOOL]},
        {"tools": [{"name": f"t{i}"} for i in range(129)]},
        {"messages": [{"role": "tool", "content": "x"}]},  # a result without its call id and name
        {"messages": [{"role": "user", "content": "x", "tool_calls": [{"id": "c", "name": "t"}]}]},
        {"messages": [{"role": "assistant", "content": "", "tool_calls": [{"id": "", "name": "t"}]}]},
    ],
)
def test_malformed_tools_are_rejected_before_any_call(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate({"model": "openai/gpt-4o-mini", "messages": user("hi"), **body})
