import { describe, expect, it } from "vitest";
import { span } from "../../test/fixtures";
import type { TraceEvidence } from "../../api/types";
import { extractLlm } from "../trace/llm";
import { isLlm, tokenCounts } from "../../lib/spans";
import { originalCall } from "../playground/original";
import { agentView, asChat, needsBanner } from "./evidence";

const request = {
  v: 1,
  agentKey: "k",
  instructions: "Be brief.",
  messages: [
    { type: "agent_input", input: { q: "Weather?" } },
    { type: "assistant_tool_calls", calls: [{ id: "c1", name: "get_weather", arguments: { city: "Oslo" } }] },
    { type: "tool_result", callId: "c1", toolName: "get_weather", result: { celsius: 4 } },
  ],
  tools: [],
  outputSchema: { type: "object", properties: { answer: { type: "string" } } },
};

const modelSpan = span({
  span_id: "1".repeat(16),
  name: "model request 2",
  attributes_json: {
    "junjo.agent.operation_type": "model_request",
    "junjo.agent.model.provider": "openai",
    "junjo.agent.model.name": "gpt-4o-mini",
    "junjo.agent.model.request": JSON.stringify(request),
    "junjo.agent.model.response": JSON.stringify({ v: 1, type: "final_output", output: { answer: "4°C" } }),
    "junjo.agent.model.usage": JSON.stringify({ v: 1, inputTokens: 7, outputTokens: 3, totalTokens: 10 }),
  },
});

describe("Agent model requests as LLM calls", () => {
  it("are LLM spans whose normalized request renders as chat", () => {
    expect(isLlm(modelSpan)).toBe(true);
    const view = extractLlm(modelSpan)!;
    expect(view.input.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(view.input[2].toolCalls[0]).toEqual({
      id: "c1",
      name: "get_weather",
      arguments: '{"city":"Oslo"}',
    });
    expect(view.input[3].toolCallId).toBe("c1");
    expect(view.output[0].content).toContain("4°C");
    expect(tokenCounts(modelSpan)).toMatchObject({ prompt: 7, completion: 3, total: 10 });
  });

  it("open in the playground with their messages and output schema", () => {
    const call = originalCall(modelSpan);
    expect(call.provider).toBe("openai");
    expect(call.messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(call.messages).toHaveLength(4);
    expect(JSON.stringify(call.params)).toContain('"answer"');
  });

  it("a hostile request is not an LLM view", () => {
    const bad = span({
      span_id: "2".repeat(16),
      name: "m",
      attributes_json: {
        "junjo.agent.operation_type": "model_request",
        "junjo.agent.model.request": "{oops",
      },
    });
    expect(() => extractLlm(bad)).not.toThrow();
  });
});

describe("agentView", () => {
  const agentSpan = span({ span_id: "a".repeat(16), name: "Agent" });
  const op = (sequence: number, extra: Record<string, unknown>) => ({
    sequence,
    span_id: String(sequence).repeat(16),
    start_time: agentSpan.start_time,
    end_time: agentSpan.end_time,
    outcome: "completed",
    error: null,
    cancellation: null,
    ...extra,
  });
  const evidence = {
    trace_id: "t".repeat(32),
    spans: [agentSpan],
    executables_by_span_id: {
      [agentSpan.span_id]: {
        executable_type: "agent",
        runtime_id: "run",
        store_id: null,
        application_store: null,
        integrity: { status: "complete", diagnostics: [], loss_counts: {} },
      },
    },
    operations_by_owner_runtime_id: {
      run: {
        b: op(2, { operation_type: "tool", tool_name: "t" }),
        a: op(1, {
          operation_type: "model_request",
          requested_tool_calls: [
            { call_id: "c1", tool_name: "t", observed_tool_operation: "2".repeat(16), admission: "admitted" },
            { call_id: "c2", tool_name: "t", observed_tool_operation: null, admission: "admitted" },
          ],
        }),
      },
    },
    stores_by_id: {},
    relationships_by_owner_span_id: {},
    diagnostics: [],
  } as unknown as TraceEvidence;

  it("orders operations by sequence and places never-started calls after their request", () => {
    const view = agentView(evidence, agentSpan.span_id)!;
    expect(view.timeline.map((e) => (e.kind === "operation" ? e.op.sequence : e.call.call_id))).toEqual([
      1,
      "c2",
      2,
    ]);
    expect(needsBanner(view)).toBe(false);
    expect(agentView(evidence, "b".repeat(16))).toBeUndefined();
  });

  it("recognises chat-shaped payloads only", () => {
    expect(asChat([{ role: "user", content: "hi" }])).toEqual([{ role: "user", content: "hi" }]);
    expect(asChat([{ nope: 1 }])).toBeUndefined();
    expect(asChat({ role: "user" })).toBeUndefined();
  });
});
