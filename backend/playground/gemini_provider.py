"""Google Gemini through the official `google-genai` SDK (Gemini Developer API, not Vertex).

Translation: system/developer messages become `system_instruction`, assistant turns the `model`
role; the thinking budget and `include_thoughts` go into `thinking_config` (-1 dynamic, 0 off),
reasoning effort becomes its `thinking_level`; JSON mode sets `response_mime_type` and a schema
`response_json_schema`; tools become function declarations, earlier calls `function_call` parts and
their results `function_response` parts (automatic function calling stays off). The base URL, API
version (v1beta) and timeout travel in `http_options`.
"""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from backend.playground.providers import Provider, new_id, now, tool_result
from backend.playground.schemas import (
    ChatMessage,
    Choice,
    GenerateRequest,
    GenerateResponse,
    ModelInfo,
    ResponseMessage,
    ToolCall,
    Usage,
)

API_VERSION = "v1beta"  # thinking and JSON-schema settings live here; pinned, not the SDK default
# google-genai sends through httpx2 (the httpx fork openai/anthropic also use) when it is installed,
# else httpx: transport failures can come from either.
_TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException)
_TRANSPORT_ERRORS = (httpx.HTTPError, httpx2.HTTPError)
_LEVELS = ("minimal", "low", "medium", "high", "xhigh")


def _contents(messages: list[ChatMessage]) -> list[types.Content]:
    """User and model turns; an assistant's tool calls become `function_call` parts and each tool
    result a `function_response` part of the next user turn (consecutive results share that turn)."""
    out: list[types.Content] = []
    for m in messages:
        if m.role == "tool":
            part = types.Part(
                function_response=types.FunctionResponse(
                    id=m.tool_call_id, name=m.name, response={"result": tool_result(m.content)}
                )
            )
            previous = out[-1] if out else None
            if (
                previous
                and previous.role == "user"
                and previous.parts
                and previous.parts[0].function_response
            ):
                previous.parts.append(part)
            else:
                out.append(types.Content(role="user", parts=[part]))
        elif m.role in ("user", "assistant"):
            parts = [types.Part(text=m.content)] if m.content or not m.tool_calls else []
            parts += [
                types.Part(function_call=types.FunctionCall(id=c.id, name=c.name, args=c.arguments))
                for c in m.tool_calls or []
            ]
            out.append(types.Content(role="model" if m.role == "assistant" else "user", parts=parts))
    return out


class GeminiProvider(Provider):
    name = "gemini"
    label = "Gemini"
    key_env = "GEMINI_API_KEY"
    base_url_env = "GEMINI_BASE_URL"
    default_base_url = "https://generativelanguage.googleapis.com/"

    def new_client(self, api_key: str) -> genai.Client:
        options = types.HttpOptions(
            base_url=self.base_url, api_version=API_VERSION, timeout=int(self.config.timeout_secs * 1000)
        )
        return genai.Client(api_key=api_key, vertexai=False, http_options=options)

    async def close_client(self, client: genai.Client) -> None:
        await client.aio.aclose()

    def _arguments(self, request: GenerateRequest) -> tuple[list[types.Content], types.GenerateContentConfig]:
        system = "\n\n".join(m.content for m in request.messages if m.role in ("system", "developer"))
        contents = _contents(request.messages)
        if not contents:
            raise self.unsupported("a conversation without user messages", "add a user message.")
        config: dict[str, Any] = {
            "system_instruction": system or None,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_output_tokens": request.token_limit,
            "stop_sequences": request.stop,
        }
        if request.json_mode or request.json_schema is not None:
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = request.json_schema
        thinking: dict[str, Any] = {}
        if request.reasoning_effort is not None:
            if request.reasoning_effort not in _LEVELS:
                raise self.unsupported(
                    f"reasoning_effort {request.reasoning_effort!r}",
                    f"use one of {', '.join(_LEVELS)} (thinking_budget_tokens 0 turns thinking off).",
                )
            if request.thinking_budget_tokens is not None:
                raise self.unsupported(
                    "reasoning_effort together with thinking_budget_tokens",
                    "set one of them (thinking level or thinking budget).",
                )
            thinking["thinking_level"] = request.reasoning_effort.upper()
        if request.thinking_budget_tokens is not None:
            thinking["thinking_budget"] = request.thinking_budget_tokens
        if request.include_thoughts is not None:
            thinking["include_thoughts"] = request.include_thoughts
        if thinking:
            config["thinking_config"] = types.ThinkingConfig(**thinking)
        if request.tools:
            config["tools"] = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name, description=t.description, parameters_json_schema=t.parameters
                        )
                        for t in request.tools
                    ]
                )
            ]
        # the playground shows the calls the model asks for; it never runs them
        config["automatic_function_calling"] = types.AutomaticFunctionCallingConfig(disable=True)
        settings = types.GenerateContentConfig(**{k: v for k, v in config.items() if v is not None})
        return contents, settings

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        contents, config = self._arguments(request)
        client: genai.Client = self.client()
        try:
            response = await client.aio.models.generate_content(
                model=request.model_name, contents=contents, config=config
            )
        except (genai_errors.APIError, *_TRANSPORT_ERRORS) as exc:
            raise self._translate(exc) from None
        choices = []
        thoughts: list[str] = []
        for index, candidate in enumerate(response.candidates or []):
            texts: list[str] = []
            calls: list[ToolCall] = []
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.function_call is not None and part.function_call.name:
                    call = part.function_call
                    calls.append(
                        ToolCall(id=call.id or new_id("call"), name=call.name, arguments=call.args or {})
                    )
                if part.text is None:
                    continue
                (thoughts if part.thought else texts).append(part.text)
            finish = candidate.finish_reason
            choices.append(
                Choice(
                    index=candidate.index if candidate.index is not None else index,
                    message=ResponseMessage(content="".join(texts), tool_calls=calls or None),
                    finish_reason=finish.value if finish is not None else None,
                )
            )
        if not choices:
            feedback = response.prompt_feedback
            reason = feedback.block_reason.value if feedback and feedback.block_reason else "no candidates"
            choices.append(Choice(message=ResponseMessage(content=""), finish_reason=f"BLOCKED: {reason}"))
        meta = response.usage_metadata
        usage = None
        if meta is not None:
            prompt = meta.prompt_token_count or 0
            completion = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
            usage = Usage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=meta.total_token_count or prompt + completion,
                reasoning_tokens=meta.thoughts_token_count,
            )
        return GenerateResponse(
            id=response.response_id or new_id("gemini"),
            created=now(),
            model=response.model_version or request.model_name,
            provider="gemini",
            choices=choices,
            usage=usage,
            reasoning_content="\n\n".join(thoughts) or None,
        )

    async def list_models(self) -> list[ModelInfo]:
        client: genai.Client = self.client()
        try:
            found = [model async for model in await client.aio.models.list(config={"page_size": 100})]
        except (genai_errors.APIError, *_TRANSPORT_ERRORS) as exc:
            raise self._translate(exc) from None
        models = []
        for model in found:
            if "generateContent" not in (model.supported_actions or []) or not model.name:
                continue
            name = model.name.removeprefix("models/")
            models.append(
                ModelInfo(
                    id=f"gemini/{name}",
                    provider="gemini",
                    display_name=model.display_name or name,
                    supports_reasoning=bool(model.thinking),
                    supports_vision=name.startswith("gemini"),
                    max_tokens=model.output_token_limit,
                )
            )
        return models

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, _TIMEOUTS):
            return self.timed_out()
        if isinstance(exc, _TRANSPORT_ERRORS):
            return self.unreachable()
        assert isinstance(exc, genai_errors.APIError)
        message = exc.message or exc.status or ""
        # Gemini answers a bad key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID), not 401.
        if exc.code == 400 and ("API_KEY_INVALID" in str(exc.details) or "API key not valid" in message):
            return self.from_status(401, message)
        return self.from_status(exc.code or 502, message)
