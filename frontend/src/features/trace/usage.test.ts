import { describe, expect, it } from "vitest";
import type { LlmUsage, Span } from "../../api/types";
import { buildSpanTree } from "./tree";
import { describeUsage, leftOutCalls, subtreeUsage, treeUsage } from "./usage";

const usage = (
  input: number | null,
  output: number | null,
  cost: number | null,
  source = "gen_ai",
): LlmUsage => ({
  source,
  input_tokens: input,
  output_tokens: output,
  total_tokens: input === null && output === null ? null : (input ?? 0) + (output ?? 0),
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
    expect(treeUsage(tree).costUsd).toBeCloseTo(0.003);
  });

  it("never says $0 for calls without a price", () => {
    expect(describeUsage(subtreeUsage(tree, "call2"))).toContain("price unknown");
    expect(describeUsage(subtreeUsage(tree, "call2"))).not.toContain("$0");
    expect(describeUsage(subtreeUsage(tree, "agent"))).toContain("(+1 price unknown)");
  });
});

describe("a call recorded by a Junjo model request and by the provider SDK below it", () => {
  const spans = [
    span("agent", null),
    span("request", "agent", usage(700, 70, 0.002, "junjo")),
    span("http", "request"),
    span("sdk", "http", usage(700, 70, 0.002)),
    span("quiet", "agent", usage(null, null, null, "junjo")),
    span("sdk2", "quiet", usage(250, 25, 0.001)),
    span("direct", "agent", usage(5, 1, 0.0001)),
  ];
  const tree = buildSpanTree(spans);

  it("counts once: the model request when it reports tokens, else the SDK spans below it", () => {
    expect([...leftOutCalls(tree)].sort()).toEqual(["quiet", "sdk"]);
    const total = treeUsage(tree);
    expect(total).toMatchObject({ calls: 3, inputTokens: 955, outputTokens: 96, unpriced: 0 });
    expect(subtreeUsage(tree, "request")).toMatchObject({ calls: 1, inputTokens: 700 });
    expect(subtreeUsage(tree, "quiet")).toMatchObject({ calls: 1, inputTokens: 250 });
    expect(subtreeUsage(tree, "agent")).toMatchObject({ calls: 3, inputTokens: 955, outputTokens: 96 });
    expect(total.costUsd).toBeCloseTo(0.0031);
  });
});
