"""Anthropic through the official `anthropic` SDK: the Messages API and the model list.

Translation: system/developer messages become the `system` prompt; the thinking budget becomes
`thinking` (-1 adaptive, 0 disabled, >= 1024 enabled with that budget); reasoning effort becomes
`output_config.effort`; a JSON schema becomes `output_config.format`; tools become `tools` with
their `input_schema`, earlier calls `tool_use` blocks and their results `tool_result` blocks. The
Messages API version the SDK speaks (2026-10-21) rejects `temperature` and `top_p`, and Anthropic
has no schema-less JSON mode, so those are refused with a 400 that says so.
"""

from __future__ import annotations

from typing import Any

import anthropic

from backend.playground.providers import Provider, now
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

DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024
_EFFORTS = ("low", "medium", "high", "xhigh", "max")


def _messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """User and assistant turns; an assistant's tool calls become `tool_use` blocks and each tool
    result a `tool_result` block of the next user turn (consecutive results share that turn)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            previous = out[-1] if out else None
            if previous and previous["role"] == "user" and isinstance(previous["content"], list):
                previous["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant" and m.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        elif m.role in ("user", "assistant"):
            out.append({"role": m.role, "content": m.content})
    return out


class AnthropicProvider(Provider):
    name = "anthropic"
    label = "Anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    def new_client(self, api_key: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self.base_url, timeout=self.config.timeout_secs, max_retries=0
        )

    async def close_client(self, client: anthropic.AsyncAnthropic) -> None:
        await client.close()

    def _arguments(self, request: GenerateRequest) -> dict[str, Any]:
        why_sampling = "the Messages API (version 2026-10-21) no longer accepts it; leave it unset."
        if request.temperature is not None:
            raise self.unsupported("temperature", why_sampling)
        if request.top_p is not None:
            raise self.unsupported("top_p", why_sampling)
        if request.json_mode and request.json_schema is None:
            raise self.unsupported("JSON mode without a schema", "provide json_schema for structured output.")
        system = "\n\n".join(m.content for m in request.messages if m.role in ("system", "developer"))
        messages = _messages(request.messages)
        if not messages:
            raise self.unsupported("a conversation without user messages", "add a user message.")
        budget = request.thinking_budget_tokens
        max_tokens = request.token_limit or DEFAULT_MAX_TOKENS + max(budget or 0, 0)
        args: dict[str, Any] = {"model": request.model_name, "max_tokens": max_tokens, "messages": messages}
        if system:
            args["system"] = system
        if request.tools:
            args["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if request.stop:
            args["stop_sequences"] = request.stop
        thinking = self._thinking(budget, max_tokens, request.include_thoughts)
        if thinking is not None:
            args["thinking"] = thinking
        output_config: dict[str, Any] = {}
        if request.reasoning_effort is not None:
            if request.reasoning_effort not in _EFFORTS:
                raise self.unsupported(
                    f"reasoning_effort {request.reasoning_effort!r}", f"use one of {', '.join(_EFFORTS)}."
                )
            output_config["effort"] = request.reasoning_effort
        if request.json_schema is not None:
            output_config["format"] = {
                "type": "json_schema",
                "schema": strict_schema(request.json_schema, require_all=False),
            }
        if output_config:
            args["output_config"] = output_config
        return args

    def _thinking(self, budget: int | None, max_tokens: int, include: bool | None) -> dict[str, Any] | None:
        if budget is None:
            if include is not None:
                raise self.unsupported("include_thoughts alone", "set thinking_budget_tokens too.")
            return None
        if budget == 0:
            return {"type": "disabled"}
        if budget == -1:
            thinking: dict[str, Any] = {"type": "adaptive"}
        elif budget < MIN_THINKING_BUDGET:
            raise self.unsupported(
                f"a thinking budget of {budget} tokens",
                f"use at least {MIN_THINKING_BUDGET}, 0 to disable or -1 for adaptive.",
            )
        elif budget >= max_tokens:
            raise self.unsupported(
                f"a thinking budget of {budget} tokens with max_tokens {max_tokens}",
                "the budget must be lower than max_tokens.",
            )
        else:
            thinking = {"type": "enabled", "budget_tokens": budget}
        if include is not None:
            thinking["display"] = "summarized" if include else "omitted"
        return thinking

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        args = self._arguments(request)
        try:
            client: anthropic.AsyncAnthropic = self.client()
            message = await client.messages.create(**args)
        except anthropic.AnthropicError as exc:
            raise self.sdk_error(exc, anthropic) from None
        texts = [block.text for block in message.content if block.type == "text"]
        calls = [
            ToolCall(id=b.id, name=b.name, arguments=b.input if isinstance(b.input, dict) else {})
            for b in message.content
            if b.type == "tool_use"
        ]
        thoughts = [block.thinking for block in message.content if block.type == "thinking"]
        details = message.usage.output_tokens_details
        return GenerateResponse(
            id=message.id,
            created=now(),
            model=message.model,
            provider="anthropic",
            choices=[
                Choice(
                    message=ResponseMessage(content="".join(texts), tool_calls=calls or None),
                    finish_reason=message.stop_reason,
                )
            ],
            usage=Usage(
                prompt_tokens=message.usage.input_tokens,
                completion_tokens=message.usage.output_tokens,
                total_tokens=message.usage.input_tokens + message.usage.output_tokens,
                reasoning_tokens=details.thinking_tokens if details is not None else None,
            ),
            reasoning_content="\n\n".join(thoughts) or None,
        )

    async def list_models(self) -> list[ModelInfo]:
        try:
            client: anthropic.AsyncAnthropic = self.client()
            found = [model async for model in client.models.list(limit=100)]
        except anthropic.AnthropicError as exc:
            raise self.sdk_error(exc, anthropic) from None
        models = []
        for model in found:
            if model.lifecycle == "retired":
                continue
            caps = model.capabilities
            models.append(
                ModelInfo(
                    id=f"anthropic/{model.id}",
                    provider="anthropic",
                    display_name=model.display_name or model.id,
                    supports_reasoning=bool(caps and caps.thinking.supported),
                    supports_vision=bool(caps and caps.image_input.supported),
                    max_tokens=model.max_tokens,
                )
            )
        return models
