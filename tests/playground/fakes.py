"""Local stand-ins for the OpenAI, Anthropic and Gemini HTTP APIs (the only mocks we allow).

Each fake is a real HTTP server on 127.0.0.1 speaking the provider's documented wire format:
OpenAI `POST /v1/chat/completions` and `GET /v1/models`; Anthropic `POST /v1/messages` and
`GET /v1/models`; Gemini `POST /v1beta/models/{model}:generateContent` and `GET /v1beta/models`.
They check the API key the way the provider does (and answer a bad one with the provider's own
error), enforce the request rules tests rely on (e.g. OpenAI strict schemas, Anthropic thinking
budgets), and record every request so tests can prove which settings were actually sent.
`faults[model]` makes a model answer with an error status, late, or not at all.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    status: int = 0  # answer with this HTTP status and the provider's error body
    delay: float = 0.0  # answer only after this many seconds
    drop: bool = False  # close the connection without any answer (a network failure)
    garbage: bool = False  # answer 200 with an HTML page instead of JSON (a misrouted proxy)


@dataclass
class Reply:
    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)


def _last_user_text(texts: list[str]) -> str:
    return texts[-1] if texts else ""


class FakeProvider:
    """A threaded HTTP server; subclasses implement `route` and `error`."""

    models: tuple[str, ...] = ()

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _serve(self) -> None:
                fake._serve(self)

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The value for the backend's <PROVIDER>_BASE_URL setting."""
        return self.origin

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, path_part: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def last(self, path_part: str) -> Recorded:
        found = self.calls(path_part)
        assert found, f"no request to {path_part!r}; got {[r.path for r in self.requests]}"
        return found[-1]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        recorded = Recorded(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(recorded)
        if not self.authorized(recorded):
            reply = self.bad_key()
        else:
            model = self.model_of(recorded)
            fault = self.faults.get(model or "")
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.drop:
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault and fault.garbage:
                page = b"<html><body>502 Bad Gateway</body></html>"
                handler.send_response(200)
                handler.send_header("content-type", "text/html")
                handler.send_header("content-length", str(len(page)))
                handler.end_headers()
                handler.wfile.write(page)
                return
            reply = self.error(fault.status, model or "") if fault and fault.status else self.route(recorded)
        data = json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout tests)

    def authorized(self, req: Recorded) -> bool:
        raise NotImplementedError

    def bad_key(self) -> Reply:
        raise NotImplementedError

    def model_of(self, req: Recorded) -> str | None:
        raise NotImplementedError

    def route(self, req: Recorded) -> Reply:
        raise NotImplementedError

    def error(self, status: int, model: str) -> Reply:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------- OpenAI
class FakeOpenAI(FakeProvider):
    models = ("gpt-4o-mini", "gpt-4.1", "o3-mini", "gpt-5", "text-embedding-3-small", "whisper-1", "tts-1")
    reasoning = re.compile(r"^(o\d|gpt-5)")

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def authorized(self, req: Recorded) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.api_key}"

    def bad_key(self) -> Reply:
        return self._error(
            401,
            "Incorrect API key provided: sk-wr***ong. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )

    @staticmethod
    def _error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> Reply:
        return Reply(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})

    def error(self, status: int, model: str) -> Reply:
        if status == 429:
            return self._error(
                429,
                f"Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                "requests",
                "rate_limit_exceeded",
            )
        if status == 401:
            return self.bad_key()
        return self._error(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )

    def model_of(self, req: Recorded) -> str | None:
        return req.body.get("model") if isinstance(req.body, dict) else None

    def route(self, req: Recorded) -> Reply:
        if req.method == "GET" and req.path == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in self.models
            ]
            return Reply(200, {"object": "list", "data": data})
        if req.method == "POST" and req.path == "/v1/chat/completions":
            return self._chat(req.body)
        return self._error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)

    def _chat(self, body: Json) -> Reply:
        model = body.get("model")
        messages = body.get("messages")
        if model not in self.models:
            return self._error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if not isinstance(messages, list) or not messages:
            return self._error(400, "[] is too short - 'messages'", "invalid_request_error", None, "messages")
        if self.reasoning.match(model):
            if "max_tokens" in body:
                return self._error(
                    400,
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead.",
                    "invalid_request_error",
                    "unsupported_parameter",
                    "max_tokens",
                )
            if body.get("temperature") not in (None, 1):
                return self._error(
                    400,
                    f"Unsupported value: 'temperature' does not support "
                    f"{body['temperature']} with this model. Only the default (1) value "
                    "is supported.",
                    "invalid_request_error",
                    "unsupported_value",
                    "temperature",
                )
        elif "reasoning_effort" in body:
            return self._error(
                400, "Unrecognized request argument supplied: reasoning_effort", "invalid_request_error", None
            )
        problem = openai_tools_problem(body.get("tools"), messages)
        if problem:
            return self._error(400, problem, "invalid_request_error", None, "messages")
        last_user = _last_user_text([m["content"] for m in messages if m.get("role") == "user"])
        if body.get("tools") and messages[-1].get("role") != "tool":
            name = body["tools"][0]["function"]["name"]
            call = {"id": "call_fake_1", "type": "function"}
            call["function"] = {"name": name, "arguments": json.dumps({"query": last_user})}
            return Reply(
                200,
                {
                    "id": "chatcmpl-tools",
                    "object": "chat.completion",
                    "created": 1741569952,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                            "finish_reason": "tool_calls",
                        }
                    ],
                },
            )
        fmt = body.get("response_format") or {}
        text = " ".join(str(m.get("content", "")) for m in messages)
        if fmt.get("type") == "json_object" and "json" not in text.lower():
            return self._error(
                400,
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                "invalid_request_error",
                None,
                "messages",
            )
        if fmt.get("type") == "json_schema":
            problem = strict_schema_problem(fmt["json_schema"]["schema"])
            if problem:
                return self._error(
                    400,
                    f"Invalid schema for response_format '{fmt['json_schema']['name']}': {problem}",
                    "invalid_request_error",
                    None,
                    "response_format",
                )
        last = last_user + _tool_results([m["content"] for m in messages if m.get("role") == "tool"])
        content = json.dumps({"echo": last}) if fmt else f"OpenAI {model} says: {last}"
        stops = body.get("stop") or []
        finish = "stop"
        for stop in stops:
            if stop in content:
                content, finish = content.split(stop)[0], "stop"
        limit = body.get("max_completion_tokens")
        words = content.split()
        if limit is not None and len(words) > limit:
            content, finish = " ".join(words[:limit]), "length"
        prompt_tokens = len(text.split())
        completion_tokens = len(content.split())
        reasoning_tokens = 7 if self.reasoning.match(model) else 0
        return Reply(
            200,
            {
                "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
                "object": "chat.completion",
                "created": 1741569952,
                "model": f"{model}-2025-01-31",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens + reasoning_tokens,
                    "total_tokens": prompt_tokens + completion_tokens + reasoning_tokens,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": reasoning_tokens,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "service_tier": "default",
                "system_fingerprint": "fp_fc9f1d7035",
            },
        )


def _tool_results(results: list[Any]) -> str:
    """How the fakes prove tool results reached them: the reply quotes each one."""
    return "".join(f" | tool result: {r}" for r in results)


def openai_tools_problem(tools: Any, messages: list[Json]) -> str | None:
    """The Chat Completions rules on tools: function tools with a name, assistant calls with JSON
    text arguments, and every `tool` message answering a call of the assistant turn before it."""
    for tool in tools or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict) or not function.get("name"):
            return "Missing required parameter: 'tools[0].function'."
        if not isinstance(function.get("parameters", {}), dict):
            return "Invalid type for 'tools[0].function.parameters': expected an object."
    open_calls: set[str] = set()
    for message in messages:
        if message.get("role") == "assistant":
            open_calls = set()
            for call in message.get("tool_calls") or []:
                if not isinstance(call["function"].get("arguments"), str):
                    return "Invalid type for 'messages.tool_calls.function.arguments': expected a string."
                open_calls.add(call["id"])
        elif message.get("role") == "tool" and message.get("tool_call_id") not in open_calls:
            return (
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                "message with 'tool_calls'."
            )
    return None


def strict_schema_problem(schema: Any, where: str = "()") -> str | None:
    """OpenAI structured-output rules: every object forbids extra keys and requires all its keys."""
    if isinstance(schema, list):
        for item in schema:
            problem = strict_schema_problem(item, where)
            if problem:
                return problem
        return None
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        props = list(schema.get("properties", {}))
        if sorted(schema.get("required", [])) != sorted(props):
            return (
                f"In context={where}, 'required' is required to be supplied and to be an array including "
                "every key in properties."
            )
    for key in ("properties", "$defs"):
        for name, sub in (schema.get(key) or {}).items():
            problem = strict_schema_problem(sub, f"('{key}', '{name}')")
            if problem:
                return problem
    for key in ("items", "anyOf"):
        if key in schema:
            problem = strict_schema_problem(schema[key], f"('{key}',)")
            if problem:
                return problem
    return None


# ------------------------------------------------------------------------------------------ Anthropic
class FakeAnthropic(FakeProvider):
    models = ("claude-sonnet-5-5", "claude-opus-5", "claude-haiku-4-5")

    def authorized(self, req: Recorded) -> bool:
        keys = (req.headers.get("x-api-key"), req.headers.get("authorization"))
        return "anthropic-version" in req.headers and (
            keys[0] == self.api_key or keys[1] == f"Bearer {self.api_key}"
        )

    @staticmethod
    def _error(status: int, kind: str, message: str) -> Reply:
        return Reply(
            status,
            {
                "type": "error",
                "error": {"type": kind, "message": message},
                "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
            },
        )

    def bad_key(self) -> Reply:
        return self._error(401, "authentication_error", "invalid x-api-key")

    def error(self, status: int, model: str) -> Reply:
        kinds = {
            429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
            529: ("overloaded_error", "Overloaded"),
            500: ("api_error", "Internal server error"),
            401: ("authentication_error", "invalid x-api-key"),
        }
        kind, message = kinds.get(status, ("api_error", "Internal server error"))
        return self._error(status, kind, message)

    def model_of(self, req: Recorded) -> str | None:
        return req.body.get("model") if isinstance(req.body, dict) else None

    def route(self, req: Recorded) -> Reply:
        if req.method == "GET" and req.path == "/v1/models":
            return self._models(req)
        if req.method == "POST" and req.path == "/v1/messages":
            return self._messages(req.body)
        return self._error(404, "not_found_error", f"Not found: {req.path}")

    def _models(self, req: Recorded) -> Reply:
        page = min(int(req.query.get("limit", ["20"])[0]), 2)  # small pages prove the SDK paginates
        after = req.query.get("after_id", [None])[0]
        start = self.models.index(after) + 1 if after in self.models else 0
        chosen = self.models[start : start + page]
        data = []
        for model_id in chosen:
            thinking = model_id != "claude-haiku-4-5"
            supported = {"supported": True}
            data.append(
                {
                    "type": "model",
                    "id": model_id,
                    "display_name": model_id.replace("-", " ").title(),
                    "created_at": "2025-09-29T00:00:00Z",
                    "lifecycle": "active",
                    "max_tokens": 64000,
                    "max_input_tokens": 200000,
                    "capabilities": {
                        "batch": supported,
                        "citations": supported,
                        "code_execution": supported,
                        "context_management": {"supported": False},
                        "effort": {
                            "supported": thinking,
                            "low": supported,
                            "medium": supported,
                            "high": supported,
                            "max": supported,
                        },
                        "image_input": supported,
                        "pdf_input": supported,
                        "server_tools": {"supported": True},
                        "structured_outputs": supported,
                        "thinking": {
                            "supported": thinking,
                            "types": {
                                "enabled": {"supported": thinking},
                                "adaptive": {"supported": thinking},
                            },
                        },
                    },
                }
            )
        has_more = start + page < len(self.models)
        return Reply(
            200,
            {
                "data": data,
                "has_more": has_more,
                "first_id": chosen[0] if chosen else None,
                "last_id": chosen[-1] if chosen else None,
            },
        )

    def _messages(self, body: Json) -> Reply:
        model = body.get("model")
        if model not in self.models:
            return self._error(404, "not_found_error", f"model: {model}")
        for removed in ("temperature", "top_p", "top_k"):
            if removed in body:
                return self._error(400, "invalid_request_error", f"{removed}: Extra inputs are not permitted")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return self._error(400, "invalid_request_error", "max_tokens: Field required")
        thinking = body.get("thinking") or {"type": "disabled"}
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens", 0)
            if budget < 1024 or budget >= max_tokens:
                return self._error(
                    400, "invalid_request_error", "`max_tokens` must be greater than `thinking.budget_tokens`"
                )
        for message in body.get("messages", []):
            if message.get("role") not in ("user", "assistant"):
                return self._error(
                    400,
                    "invalid_request_error",
                    f'messages: Unexpected role "{message.get("role")}". The Messages API '
                    'accepts a top-level `system` parameter, not "system" as an input '
                    "message role.",
                )
        problem = anthropic_tools_problem(body.get("tools"), body["messages"])
        if problem:
            return self._error(400, "invalid_request_error", problem)
        turns = body["messages"]
        last = _last_user_text(
            [m["content"] for m in turns if m["role"] == "user" and isinstance(m["content"], str)]
        )
        results = [
            b["content"]
            for m in turns
            if isinstance(m["content"], list)
            for b in m["content"]
            if b["type"] == "tool_result"
        ]
        ends_with_result = (
            isinstance(turns[-1]["content"], list) and turns[-1]["content"][-1]["type"] == "tool_result"
        )
        if body.get("tools") and not ends_with_result:
            use = {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": body["tools"][0]["name"],
            }
            use["input"] = {"query": last}
            return Reply(
                200,
                {
                    "id": "msg_tools",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [use],
                    "stop_reason": "tool_use",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 20, "output_tokens": 12},
                },
            )
        last += _tool_results(results)
        fmt = (body.get("output_config") or {}).get("format")
        text = json.dumps({"echo": last}) if fmt else f"Claude {model} says: {last}"
        content: list[Json] = []
        thinks = thinking["type"] in ("enabled", "adaptive")
        if thinks:
            shown = thinking.get("display", "summarized") != "omitted"
            content.append(
                {
                    "type": "thinking",
                    "thinking": "Let me think about that." if shown else "",
                    "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds",
                }
            )
        content.append({"type": "text", "text": text})
        stop_reason, stop_sequence = "end_turn", None
        for stop in body.get("stop_sequences") or []:
            if stop in text:
                text, stop_reason, stop_sequence = text.split(stop)[0], "stop_sequence", stop
                content[-1]["text"] = text
        input_tokens = sum(len(str(m["content"]).split()) for m in body["messages"])
        output_tokens = len(text.split()) + (5 if thinks else 0)
        usage: Json = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        }
        if thinks:
            usage["output_tokens_details"] = {"thinking_tokens": 5}
        return Reply(
            200,
            {
                "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": stop_sequence,
                "usage": usage,
            },
        )


def anthropic_tools_problem(tools: Any, messages: list[Json]) -> str | None:
    """The Messages API rules on tools: a name and an object `input_schema` each, and every
    `tool_result` answering a `tool_use` of the assistant turn just before it."""
    for i, tool in enumerate(tools or []):
        schema = tool.get("input_schema")
        if not tool.get("name") or not isinstance(schema, dict) or schema.get("type") != "object":
            return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
    previous_uses: set[str] = set()
    for i, message in enumerate(messages):
        blocks = message["content"] if isinstance(message["content"], list) else []
        for block in blocks:
            if block["type"] == "tool_result" and block.get("tool_use_id") not in previous_uses:
                return (
                    f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        previous_uses = {b["id"] for b in blocks if b["type"] == "tool_use"}
    return None


# --------------------------------------------------------------------------------------------- Gemini
def proto_fields(message: Json) -> Json:
    """Proto3 JSON parsers accept both lowerCamelCase and the proto's snake_case field names."""
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key): value for key, value in message.items()}


class FakeGemini(FakeProvider):
    models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "text-embedding-004")
    _generate = re.compile(r"^/v1beta/models/([^/:]+):generateContent$")

    def authorized(self, req: Recorded) -> bool:
        return req.headers.get("x-goog-api-key") == self.api_key or req.query.get("key") == [self.api_key]

    @staticmethod
    def _error(code: int, status: str, message: str, details: list[Json] | None = None) -> Reply:
        error: Json = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = details
        return Reply(code, {"error": error})

    def bad_key(self) -> Reply:
        return self._error(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ],
        )

    def error(self, status: int, model: str) -> Reply:
        if status == 429:
            return self._error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
            )
        if status == 503:
            return self._error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        return self._error(status, "INTERNAL", "An internal error has occurred.")

    def model_of(self, req: Recorded) -> str | None:
        match = self._generate.match(req.path)
        return match.group(1) if match else None

    def route(self, req: Recorded) -> Reply:
        if req.method == "GET" and req.path == "/v1beta/models":
            return self._models(req)
        match = self._generate.match(req.path)
        if req.method == "POST" and match:
            return self._generate_content(match.group(1), req.body)
        return self._error(404, "NOT_FOUND", f"Method not found: {req.path}")

    def _models(self, req: Recorded) -> Reply:
        size = min(int(req.query.get("pageSize", ["50"])[0]), 2)  # small pages prove the SDK paginates
        start = int(req.query.get("pageToken", ["0"])[0])
        out = []
        for name in self.models[start : start + size]:
            embedding = "embedding" in name
            out.append(
                {
                    "name": f"models/{name}",
                    "version": "001",
                    "displayName": name.replace("-", " ").title(),
                    "description": f"Fake {name}",
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 2048 if embedding else 65536,
                    "supportedGenerationMethods": ["embedContent"]
                    if embedding
                    else ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
                    "temperature": 1,
                    "topP": 0.95,
                    "topK": 64,
                    "maxTemperature": 2,
                    "thinking": not embedding,
                }
            )
        reply: Json = {"models": out}
        if start + size < len(self.models):
            reply["nextPageToken"] = str(start + size)
        return Reply(200, reply)

    def _generate_content(self, model: str, body: Json) -> Reply:
        if model not in self.models or "embedding" in model:
            return self._error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not "
                "supported for generateContent.",
            )
        contents = body.get("contents") or []
        if not contents:
            return self._error(
                400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"
            )
        config = proto_fields(body.get("generationConfig") or body.get("generation_config") or {})
        thinking = proto_fields(config.get("thinkingConfig") or {})
        if "thinkingLevel" in thinking and "thinkingBudget" in thinking:
            return self._error(
                400, "INVALID_ARGUMENT", "You can only set only one of thinking budget and thinking level."
            )
        declarations = [
            d for tool in body.get("tools") or [] for d in proto_fields(tool).get("functionDeclarations", [])
        ]
        if any(not d.get("name") for d in declarations):
            return self._error(
                400,
                "INVALID_ARGUMENT",
                "* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty.",
            )
        parts_of = [proto_fields(p) for c in contents for p in c.get("parts", [])]
        responses = [p["functionResponse"] for p in parts_of if "functionResponse" in p]
        if any(not r.get("name") for r in responses):
            return self._error(
                400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: function_response.name is empty."
            )
        user_texts = [
            p.get("text", "")
            for c in contents
            if c.get("role") == "user"
            for p in c.get("parts", [])
            if "text" in p
        ]
        last = _last_user_text(user_texts)
        last_parts = [proto_fields(p) for p in contents[-1].get("parts", [])]
        if declarations and not any("functionResponse" in p for p in last_parts):
            call = {"name": declarations[0]["name"], "args": {"query": last}}
            return Reply(
                200,
                {
                    "candidates": [
                        {
                            "content": {"parts": [{"functionCall": call}], "role": "model"},
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": {
                        "promptTokenCount": 20,
                        "candidatesTokenCount": 8,
                        "totalTokenCount": 28,
                    },
                    "modelVersion": model,
                    "responseId": "tools-response",
                },
            )
        last += _tool_results([json.dumps(r.get("response"), sort_keys=True) for r in responses])
        json_out = config.get("responseMimeType") == "application/json"
        text = json.dumps({"echo": last}) if json_out else f"Gemini {model} says: {last}"
        finish = "STOP"
        for stop in config.get("stopSequences") or []:
            if stop in text:
                text = text.split(stop)[0]
        parts: list[Json] = []
        thoughts = 0
        if thinking.get("includeThoughts") and thinking.get("thinkingBudget") != 0:
            parts.append({"text": "**Considering the request**\nThe user wants an echo.", "thought": True})
            thoughts = 9
        parts.append({"text": text})
        limit = config.get("maxOutputTokens")
        words = text.split()
        if limit is not None and len(words) > limit:
            parts[-1]["text"], finish = " ".join(words[:limit]), "MAX_TOKENS"
        prompt = sum(len(t.split()) for t in user_texts)
        candidates = len(parts[-1]["text"].split())
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + thoughts,
        }
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return Reply(
            200,
            {
                "candidates": [
                    {"content": {"parts": parts, "role": "model"}, "finishReason": finish, "index": 0}
                ],
                "usageMetadata": usage,
                "modelVersion": model,
                "responseId": "3Kq1aN7RM8bTz7IP0dGw4Qc",
            },
        )
