/**
 * Token and cost totals over spans. Only LLM-call spans carry `llm_usage` (the backend never puts it on
 * an Agent span, whose own usage is the sum of its model requests). One call can still be recorded twice:
 * a Junjo model request's driver calls a provider SDK whose instrumentation records an LLM span below the
 * model request. `leftOutCalls` applies the rule the indexer applies to the overview: a model request that
 * reports tokens is the call of record and the LLM spans below it are left out; one that reports none is
 * left out itself and the LLM spans below it count.
 */
import type { LlmUsage, Span } from "../../api/types";
import type { SpanTree } from "./tree";

export interface UsageTotal {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Sum over calls with a known price. */
  costUsd: number;
  /** Calls whose model has no known price (their cost is not in `costUsd`). */
  unpriced: number;
}

export function addUsage(total: UsageTotal, usage: LlmUsage): UsageTotal {
  return {
    calls: total.calls + 1,
    inputTokens: total.inputTokens + (usage.input_tokens ?? 0),
    outputTokens: total.outputTokens + (usage.output_tokens ?? 0),
    costUsd: total.costUsd + (usage.cost_usd ?? 0),
    unpriced: total.unpriced + (usage.cost_usd === null || usage.cost_usd === undefined ? 1 : 0),
  };
}

export const NO_USAGE: UsageTotal = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpriced: 0 };

const isModelRequest = (s: Span | undefined) => s?.llm_usage?.source === "junjo";

const reportsTokens = (u: LlmUsage) =>
  u.input_tokens != null || u.output_tokens != null || u.total_tokens != null;

const leftOutOf = new WeakMap<SpanTree, Set<string>>();

/** The LLM call spans of the tree that totals leave out, so that every call is counted once. */
export function leftOutCalls(tree: SpanTree): Set<string> {
  const known = leftOutOf.get(tree);
  if (known) return known;
  const leftOut = new Set<string>();
  for (const s of tree.byId.values()) {
    if (!s.llm_usage || isModelRequest(s)) continue;
    const seen = new Set([s.span_id]);
    let above = tree.parentOf.get(s.span_id);
    while (above !== undefined && !seen.has(above) && !isModelRequest(tree.byId.get(above))) {
      seen.add(above);
      above = tree.parentOf.get(above);
    }
    const request = above === undefined ? undefined : tree.byId.get(above);
    if (!request?.llm_usage || !isModelRequest(request)) continue;
    leftOut.add(reportsTokens(request.llm_usage) ? s.span_id : request.span_id);
  }
  leftOutOf.set(tree, leftOut);
  return leftOut;
}

/** The usage of the whole trace. */
export function treeUsage(tree: SpanTree): UsageTotal {
  const leftOut = leftOutCalls(tree);
  let total = NO_USAGE;
  for (const s of tree.byId.values())
    if (s.llm_usage && !leftOut.has(s.span_id)) total = addUsage(total, s.llm_usage);
  return total;
}

/** The usage of `spanId` and every span below it. */
export function subtreeUsage(tree: SpanTree, spanId: string): UsageTotal {
  const leftOut = leftOutCalls(tree);
  const children = new Map<string, string[]>();
  for (const [child, parent] of tree.parentOf) {
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  let total = NO_USAGE;
  const stack = [spanId];
  const seen = new Set<string>();
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const usage = tree.byId.get(id)?.llm_usage;
    if (usage && !leftOut.has(id)) total = addUsage(total, usage);
    stack.push(...(children.get(id) ?? []));
  }
  return total;
}

export function formatUsd(v: number): string {
  if (v === 0) return "$0";
  return v < 0.01 ? `$${v.toPrecision(2)}` : `$${v.toFixed(v < 100 ? 2 : 0)}`;
}

/** "3 LLM calls · 1,200 in / 300 out tokens · $0.0042 (+1 price unknown)". */
export function describeUsage(u: UsageTotal): string {
  const cost = u.calls === u.unpriced ? "price unknown" : formatUsd(u.costUsd);
  const unknown = u.unpriced && u.calls !== u.unpriced ? ` (+${u.unpriced} price unknown)` : "";
  return (
    `${u.calls.toLocaleString()} LLM call${u.calls === 1 ? "" : "s"} · ` +
    `${u.inputTokens.toLocaleString()} in / ${u.outputTokens.toLocaleString()} out tokens · ${cost}${unknown}`
  );
}
