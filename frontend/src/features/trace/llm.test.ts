import { describe, expect, it } from "vitest";
import { span } from "../../test/fixtures";
import { extractLlm, messagesFromRequest, messagesFromResponse, unflatten } from "./llm";

const llmSpan = (attrs: Record<string, unknown>) =>
  span({ span_id: "9".repeat(16), name: "llm", attributes_json: attrs });

describe("LLM message extraction", () => {
  it("reads OpenInference flattened input/output messages with tool calls", () => {
    const v = extractLlm(
      llmSpan({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "llm.token_count.prompt": 10,
        "llm.token_count.completion": 5,
        "llm.cost.total": 0.00042,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "Weather?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city":"Paris"}',
        "llm.input_messages.10.message.role": "user",
        "llm.input_messages.10.message.content": "tenth",
      }),
    )!;
    expect(v.input.map((m) => m.role)).toEqual(["system", "user", "user"]);
    expect(v.input[2].content).toBe("tenth");
    expect(v.output[0].toolCalls).toEqual([
      { id: undefined, name: "get_weather", arguments: '{"city":"Paris"}' },
    ]);
    expect(v.model).toBe("gpt-4o-mini");
    expect(v.tokens).toEqual({ prompt: 10, completion: 5, total: 15, cost: 0.00042 });
  });

  it("renders OpenAI-style {messages:[...]} JSON in input.value as role cards", () => {
    const v = extractLlm(
      llmSpan({
        "openinference.span.kind": "LLM",
        "input.value": JSON.stringify({
          model: "gpt-4o",
          messages: [
            { role: "system", content: "You are terse." },
            {
              role: "user",
              content: [
                { type: "text", text: "Hi" },
                { type: "image_url", image_url: { url: "x" } },
              ],
            },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "{}" } }],
            },
            { role: "tool", tool_call_id: "c1", content: "42" },
          ],
        }),
        "output.value": JSON.stringify({
          choices: [{ index: 0, message: { role: "assistant", content: "**Done**" } }],
        }),
      }),
    )!;
    expect(v.input.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(v.input[1].content).toBe("Hi\n[image]");
    expect(v.input[2].toolCalls[0]).toEqual({ id: "c1", name: "lookup", arguments: "{}" });
    expect(v.input[3].toolCallId).toBe("c1");
    expect(v.output).toEqual([
      { role: "assistant", content: "**Done**", name: undefined, toolCalls: [], toolCallId: undefined },
    ]);
  });

  it("reads GenAI semconv gen_ai.input.messages / output.messages parts", () => {
    const v = extractLlm(
      llmSpan({
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "claude",
        "gen_ai.usage.input_tokens": 3,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.system_instructions": JSON.stringify([{ type: "text", content: "sys" }]),
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "question" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "tool_call", id: "t1", name: "search", arguments: { q: "x" } }],
            finish_reason: "tool_call",
          },
        ]),
      }),
    )!;
    expect(v.input.map((m) => [m.role, m.content])).toEqual([
      ["system", "sys"],
      ["user", "question"],
    ]);
    expect(v.output[0].toolCalls[0].name).toBe("search");
    expect(JSON.parse(v.output[0].toolCalls[0].arguments)).toEqual({ q: "x" });
    expect(v.tokens?.total).toBe(7);
    expect(v.model).toBe("claude");
  });

  it("reads legacy gen_ai.prompt.N / gen_ai.completion.N keys", () => {
    const v = extractLlm(
      llmSpan({
        "gen_ai.system": "openai",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "a",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "b",
      }),
    )!;
    expect(v.input[0].content).toBe("a");
    expect(v.output[0].content).toBe("b");
  });

  it("handles Gemini contents/candidates, Anthropic tool_use and plain strings", () => {
    expect(
      messagesFromRequest(JSON.stringify({ contents: [{ role: "user", parts: [{ text: "g" }] }] }))[0],
    ).toMatchObject({ role: "user", content: "g" });
    expect(
      messagesFromResponse(
        JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "r" }] } }] }),
      )[0],
    ).toMatchObject({ role: "assistant", content: "r" });
    const anth = messagesFromRequest(
      JSON.stringify({
        system: "s",
        messages: [
          { role: "assistant", content: [{ type: "tool_use", id: "u", name: "f", input: { a: 1 } }] },
        ],
      }),
    );
    expect(anth[0]).toMatchObject({ role: "system", content: "s" });
    expect(anth[1].toolCalls[0]).toMatchObject({ name: "f", id: "u" });
    expect(messagesFromRequest("plain prompt")).toEqual([
      { role: "user", content: "plain prompt", toolCalls: [] },
    ]);
    expect(messagesFromResponse("plain answer")[0].role).toBe("assistant");
  });

  it("returns undefined for spans without LLM content and unflattens numeric keys in order", () => {
    expect(extractLlm(llmSpan({ "openinference.span.kind": "LLM" }))).toBeUndefined();
    expect(unflatten({ "p.2.x": 2, "p.10.x": 10, "p.0.x": 0 }, "p")).toEqual([{ x: 0 }, { x: 2 }, { x: 10 }]);
  });
});
