"""OpenAI through the official `openai` SDK: Chat Completions and the model list.

Settings map one to one (`max_completion_tokens`, which replaced `max_tokens` and is the only one
reasoning models accept; `reasoning_effort`; `response_format` json_object / strict json_schema;
tools as `function` tools, earlier calls as the assistant's `tool_calls`, their results as `tool`
messages).
OpenAI has no thinking budget, so that setting is refused rather than ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any

import openai

from backend.playground.providers import Provider, new_id, tool_arguments
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
from backend.playground.strict_schema import strict_schema

_NOT_CHAT = re.compile(
    r"embedding|tts|whisper|dall-e|moderation|transcribe|realtime|audio|image|search|davinci|babbage|sora"
)
_CHAT = re.compile(r"^(gpt-|o\d|chatgpt-|ft:)")
_REASONING = re.compile(r"^(o\d|gpt-5|ft:o\d|ft:gpt-5)")
_VISION = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-5|o1(?!-mini)|o3|o4|chatgpt-4o)")


def _message(m: ChatMessage) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}
    message: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in m.tool_calls
        ]
    return message


class OpenAIProvider(Provider):
    name = "openai"
    label = "OpenAI"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"

    def new_client(self, api_key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=api_key, base_url=self.base_url, timeout=self.config.timeout_secs, max_retries=0
        )

    async def close_client(self, client: openai.AsyncOpenAI) -> None:
        await client.close()

    def _arguments(self, request: GenerateRequest) -> dict[str, Any]:
        if request.thinking_budget_tokens is not None:
            raise self.unsupported("thinking_budget_tokens", "use reasoning_effort for reasoning models.")
        if request.include_thoughts is not None:
            raise self.unsupported("include_thoughts", "Chat Completions does not return reasoning text.")
        args: dict[str, Any] = {
            "model": request.model_name,
            "messages": [_message(m) for m in request.messages],
        }
        if request.tools:
            args["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        optional = {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_completion_tokens": request.token_limit,
            "stop": request.stop,
            "reasoning_effort": request.reasoning_effort,
        }
        args.update({key: value for key, value in optional.items() if value is not None})
        if request.json_schema is not None:
            args["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "playground_output",
                    "schema": strict_schema(request.json_schema, require_all=True),
                    "strict": True,
                },
            }
        elif request.json_mode:
            args["response_format"] = {"type": "json_object"}
        return args

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        args = self._arguments(request)
        try:
            client: openai.AsyncOpenAI = self.client()
            completion = await client.chat.completions.create(**args)
        except openai.OpenAIError as exc:
            raise self.sdk_error(exc, openai) from None
        choices = []
        reasoning: list[str] = []
        for choice in completion.choices:
            message = choice.message
            content = message.content if message.content is not None else (message.refusal or "")
            calls = [
                ToolCall(id=c.id, name=c.function.name, arguments=tool_arguments(c.function.arguments))
                for c in message.tool_calls or []
                if c.type == "function"
            ]
            choices.append(
                Choice(
                    index=choice.index,
                    message=ResponseMessage(content=content, tool_calls=calls or None),
                    finish_reason=choice.finish_reason,
                )
            )
            extra = message.model_extra or {}
            text = extra.get("reasoning_content") or extra.get("reasoning")
            if isinstance(text, str) and text:
                reasoning.append(text)
        usage = None
        if completion.usage is not None:
            details = completion.usage.completion_tokens_details
            usage = Usage(
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                total_tokens=completion.usage.total_tokens,
                reasoning_tokens=details.reasoning_tokens if details is not None else None,
            )
        return GenerateResponse(
            id=completion.id or new_id("chatcmpl"),
            created=completion.created,
            model=completion.model or request.model_name,
            provider="openai",
            choices=choices,
            usage=usage,
            reasoning_content="\n\n".join(reasoning) or None,
        )

    async def list_models(self) -> list[ModelInfo]:
        try:
            client: openai.AsyncOpenAI = self.client()
            ids = [model.id async for model in client.models.list()]
        except openai.OpenAIError as exc:
            raise self.sdk_error(exc, openai) from None
        return [
            ModelInfo(
                id=f"openai/{model_id}",
                provider="openai",
                display_name=model_id,
                supports_reasoning=bool(_REASONING.match(model_id)),
                supports_vision=bool(_VISION.match(model_id)),
            )
            for model_id in sorted(set(ids))
            if _CHAT.match(model_id) and not _NOT_CHAT.search(model_id)
        ]
