import { describe, expect, it } from "vitest";
import { span } from "../../test/fixtures";
import { originalCall } from "./original";
import { playgroundPath } from "./OpenInPlayground";

const llmSpan = (attrs: Record<string, unknown>) =>
  span({ span_id: "7".repeat(16), name: "llm", attributes_json: attrs }, 1_500_000);

describe("the original call of an LLM span", () => {
  it("reads an OpenInference OpenAI span: prompt, output, model, settings", () => {
    const o = originalCall(
      llmSpan({
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o-mini",
        "llm.invocation_parameters": JSON.stringify({ temperature: 0.3, max_tokens: 50 }),
        "input.mime_type": "application/json",
        "input.value": JSON.stringify({
          model: "gpt-4o-mini",
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Hello?" },
          ],
        }),
        "output.value": JSON.stringify({
          choices: [{ index: 0, message: { role: "assistant", content: "Hi." } }],
        }),
        "llm.token_count.prompt": 9,
        "llm.token_count.completion": 2,
      }),
    );
    expect(o.provider).toBe("openai");
    expect(o.model).toBe("gpt-4o-mini");
    expect(o.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello?" },
    ]);
    expect(o.output).toBe("Hi.");
    expect(o.params).toMatchObject({ temperature: 0.3, max_tokens: 50, model: "gpt-4o-mini" });
    expect(o.mimeType).toBe("application/json");
    expect(o.durationMicros).toBe(1_500_000);
    expect(o.tokens).toEqual({ prompt: 9, completion: 2, total: 11 });
  });

  it("reads a google-genai span (contents, config, models/ prefix, google → gemini)", () => {
    const o = originalCall(
      llmSpan({
        "openinference.span.kind": "LLM",
        "llm.provider": "google",
        "llm.model_name": "models/gemini-2.5-flash",
        "input.value": JSON.stringify({
          contents: [{ role: "user", parts: [{ text: "Name a color" }] }],
          config: { temperature: 1.1 },
        }),
        "output.value": JSON.stringify({
          candidates: [{ content: { role: "model", parts: [{ text: "Blue" }] } }],
        }),
      }),
    );
    expect(o.provider).toBe("gemini");
    expect(o.model).toBe("gemini-2.5-flash");
    expect(o.messages).toEqual([{ role: "user", content: "Name a color" }]);
    expect(o.output).toBe("Blue");
    expect(o.params.temperature).toBe(1.1);
  });

  it("reads a GenAI-semconv span and keeps an unknown provider visible but unmapped", () => {
    const o = originalCall(
      llmSpan({
        "gen_ai.provider.name": "xai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "grok-4",
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "Why?" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          { role: "assistant", parts: [{ type: "text", content: "Because." }] },
        ]),
      }),
    );
    expect(o.providerLabel).toBe("xai");
    expect(o.provider).toBeUndefined();
    expect(o.model).toBe("grok-4");
    expect(o.messages).toEqual([{ role: "user", content: "Why?" }]);
    expect(o.output).toBe("Because.");
  });

  it("opens a Junjo Agent model request with its Tools, calls and results kept structured", () => {
    const request = {
      v: 1,
      agentKey: "weather",
      runId: "r",
      ordinal: 2,
      instructions: "Answer weather questions.",
      messages: [
        { type: "agent_input", input: { question: "Paris?" } },
        {
          type: "assistant_tool_calls",
          assistantText: "Checking.",
          calls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
        },
        { type: "tool_result", callId: "call_1", toolName: "get_weather", result: { celsius: 18 } },
      ],
      tools: [
        {
          name: "get_weather",
          description: "Current temperature",
          inputSchema: { type: "object", properties: { city: { type: "string" } } },
          outputSchema: { type: "object" },
        },
      ],
      outputSchema: { type: "object", properties: { answer: { type: "string" } } },
    };
    const o = originalCall(
      llmSpan({
        "junjo.agent.operation_type": "model_request",
        "junjo.agent.model.request": JSON.stringify(request),
        "junjo.agent.model.request.mode": "full",
      }),
    );
    expect(o.tools).toEqual([
      {
        name: "get_weather",
        description: "Current temperature",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    ]);
    expect(o.messages).toEqual([
      { role: "system", content: "Answer weather questions." },
      { role: "user", content: JSON.stringify({ question: "Paris?" }, null, 2) },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
      },
      {
        role: "tool",
        content: JSON.stringify({ celsius: 18 }, null, 2),
        tool_call_id: "call_1",
        name: "get_weather",
      },
    ]);
  });

  it("links to the playground route with every segment encoded", () => {
    const s = span({ span_id: "1".repeat(16), name: "x", service_name: "a/b c" });
    expect(playgroundPath(s)).toBe(`/traces/a%2Fb%20c/${"a".repeat(32)}/${"1".repeat(16)}/playground`);
  });
});
