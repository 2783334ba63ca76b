import { describe, expect, it } from "vitest";
import type { LlmUsage, Span } from "../../api/types";
import { buildSpanTree } from "./tree";
import { describeUsage, subtreeUsage, usageOf } from "./usage";

const usage = (input: number, output: number, cost: number | null): LlmUsage => ({
  source: "gen_ai",
  input_tokens: input,
  output_tokens: output,
  total_tokens: input + output,
  cache_read_tokens: null,
  provider: "openai",
  model: "gpt-4o",
  cost_usd: cost,
  price_known: cost !== null,
  flags: [],
});

function span(id: string, parent: string | null, llm?: LlmUsage): Span {
  return {
    trace_id: "t".repeat(32),
    span_id: id,
    parent_span_id: parent,
    service_name: "svc",
    name: id,
    kind: "INTERNAL",
    start_time: "2026-01-01T00:00:00.000000+00:00",
    end_time: "2026-01-01T00:00:01.000000+00:00",
    status_code: "0",
    status_message: "",
    attributes_json: {},
    events_json: [],
    links_json: [],
    trace_flags: 1,
    trace_state: null,
    dropped_attributes_count: 0,
    dropped_events_count: 0,
    dropped_links_count: 0,
    resource_attributes_json: {},
    resource_dropped_attributes_count: 0,
    llm_usage: llm ?? null,
  };
}

describe("usage totals", () => {
  const spans = [
    span("root", null),
    span("agent", "root"),
    span("call1", "agent", usage(100, 10, 0.001)),
    span("call2", "agent", usage(50, 5, null)),
    span("other", "root", usage(7, 3, 0.002)),
  ];
  const tree = buildSpanTree(spans);

  it("sums the calls of a subtree once, keeping unknown prices apart", () => {
    const agent = subtreeUsage(tree, "agent");
    expect(agent).toEqual({ calls: 2, inputTokens: 150, outputTokens: 15, costUsd: 0.001, unpriced: 1 });
    expect(subtreeUsage(tree, "root").calls).toBe(3);
    expect(usageOf(spans).costUsd).toBeCloseTo(0.003);
  });

  it("never says $0 for calls without a price", () => {
    expect(describeUsage(subtreeUsage(tree, "call2"))).toContain("price unknown");
    expect(describeUsage(subtreeUsage(tree, "call2"))).not.toContain("$0");
    expect(describeUsage(subtreeUsage(tree, "agent"))).toContain("(+1 price unknown)");
  });
});
