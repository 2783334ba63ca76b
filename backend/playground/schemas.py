"""The /llm HTTP contract: what the playground UI sends and what it gets back.

One request shape serves every provider (the reference's LiteLLM-style body plus the thinking
settings and the tools it never sent: definitions, earlier calls and their results; the model's new
calls come back in the answer, never run); each provider module translates it to its own SDK call
and rejects the settings its API does not accept with a clear 400, instead of silently dropping
them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROVIDERS = ("openai", "anthropic", "gemini")
ProviderName = Literal["openai", "anthropic", "gemini"]
Role = Literal["system", "developer", "user", "assistant", "tool"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]

MODEL_PATTERN = r"^[a-z_]+/[A-Za-z0-9][A-Za-z0-9._:-]*$"
TOOL_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"  # what all three providers accept
MAX_TOOLS = 128


class ToolDefinition(BaseModel):
    """A function the model may call; `parameters` is the JSON Schema of its arguments object."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = Field("", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolCall(BaseModel):
    """A call the model asked for (in a response) or made earlier (in an assistant message)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    """A turn. An assistant turn may carry the tool calls it made; a `tool` turn is the result of
    one of them (`tool_call_id` and the tool's `name`, which Gemini matches results by)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str = Field(max_length=1_000_000)
    tool_calls: list[ToolCall] | None = Field(None, max_length=MAX_TOOLS)
    tool_call_id: str | None = Field(None, min_length=1, max_length=200)
    name: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _tool_fields_fit_the_role(self) -> ChatMessage:
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only an assistant message carries tool_calls")
        if (self.role == "tool") != (self.tool_call_id is not None and self.name is not None):
            raise ValueError("a tool message (and only a tool message) needs tool_call_id and name")
        return self


class GenerateRequest(BaseModel):
    """A chat generation. `model` is "provider/model", e.g. "openai/gpt-4o-mini"."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=MODEL_PATTERN, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0, le=1_000_000)
    max_completion_tokens: int | None = Field(None, gt=0, le=1_000_000)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: list[str] | None = Field(None, max_length=4)
    reasoning_effort: ReasoningEffort | None = None
    thinking_budget_tokens: int | None = Field(
        None,
        ge=-1,
        le=1_000_000,
        description="Anthropic/Gemini thinking budget: -1 adaptive/dynamic, 0 off, N tokens.",
    )
    include_thoughts: bool | None = Field(
        None, description="Return the model's thoughts (Gemini, Anthropic)."
    )
    json_mode: bool = False
    json_schema: dict[str, Any] | None = None
    tools: list[ToolDefinition] | None = Field(
        None, max_length=MAX_TOOLS, description="Functions the model may call; the calls come back unrun."
    )

    @model_validator(mode="after")
    def _tool_names_are_unique(self) -> GenerateRequest:
        names = [tool.name for tool in self.tools or []]
        if len(names) != len(set(names)):
            raise ValueError("tool names must be unique")
        return self

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]

    @property
    def model_name(self) -> str:
        return self.model.split("/", 1)[1]

    @property
    def token_limit(self) -> int | None:
        """The output token cap, whichever of the two names the caller used."""
        return self.max_completion_tokens or self.max_tokens


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    tool_calls: list[ToolCall] | None = None


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: str | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None


class GenerateResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    provider: ProviderName
    choices: list[Choice]
    usage: Usage | None = None
    reasoning_content: str | None = None
    latency_ms: float = Field(0.0, description="Wall time of the provider call, measured by the backend.")


class ModelInfo(BaseModel):
    id: str = Field(description='"provider/model", ready for GenerateRequest.model')
    provider: ProviderName
    display_name: str
    supports_reasoning: bool = False
    supports_vision: bool = False
    max_tokens: int | None = None


class ModelList(BaseModel):
    models: list[ModelInfo]


class ProviderStatus(BaseModel):
    """Whether a provider can be called: its API key is set in the backend's environment."""

    id: str
    configured: bool
    env_var: str
