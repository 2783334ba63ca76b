/**
 * Graph node ↔ span matching (pure). A node's `nodeRuntimeId` equals its span's
 * `junjo.executable_runtime_id`; a subflow container matches the subflow span by structural id
 * (else definition id). Only spans executed by this graph's owner are considered, so nested
 * subflows and repeated workflows in one trace do not bleed into each other.
 */
import type { GraphSnapshot, Span } from "../../api/types";
import { attrStr, junjoType } from "../../lib/spans";
import type { SpanTree } from "../trace/tree";
import { isoToMicros } from "../../lib/time";

/** Spans inside `ownerId`'s scope: descendants, not descending into nested workflow/subflow spans. */
export function scopeSpans(tree: SpanTree, ownerId: string): Span[] {
  const children = new Map<string, Span[]>();
  for (const s of tree.byId.values()) {
    const p = tree.parentOf.get(s.span_id);
    if (p) (children.get(p) ?? children.set(p, []).get(p))?.push(s);
  }
  const out: Span[] = [];
  const stack = [...(children.get(ownerId) ?? [])];
  while (stack.length) {
    const s = stack.pop() as Span;
    out.push(s);
    const t = junjoType(s);
    if (t === "workflow" || t === "subflow") continue;
    stack.push(...(children.get(s.span_id) ?? []));
  }
  return out.sort((a, b) => isoToMicros(a.start_time) - isoToMicros(b.start_time));
}

/** nodeRuntimeId → span ids that executed it (first execution first). */
export function matchNodeSpans(graph: GraphSnapshot, tree: SpanTree, ownerId: string): Map<string, string[]> {
  const scope = scopeSpans(tree, ownerId);
  const out = new Map<string, string[]>();
  const push = (k: string, v: string) => (out.get(k) ?? out.set(k, []).get(k))?.push(v);
  for (const n of graph.nodes) {
    if (n.isSubflow) {
      const byStructural = scope.filter(
        (s) =>
          junjoType(s) === "subflow" &&
          n.subflowGraphStructuralId &&
          attrStr(s, "junjo.executable_structural_id") === n.subflowGraphStructuralId,
      );
      const matches = byStructural.length
        ? byStructural
        : scope.filter(
            (s) =>
              junjoType(s) === "subflow" && attrStr(s, "junjo.executable_definition_id") === n.nodeRuntimeId,
          );
      for (const s of matches) push(n.nodeRuntimeId, s.span_id);
      continue;
    }
    for (const s of scope) {
      const t = junjoType(s);
      if (
        (t === "node" || t === "run_concurrent") &&
        attrStr(s, "junjo.executable_runtime_id") === n.nodeRuntimeId
      )
        push(n.nodeRuntimeId, s.span_id);
    }
  }
  return out;
}

/** The graph node that represents `spanId` in this graph: walk up until a matched span is found. */
export function nodeForSpan(
  spanId: string | undefined,
  nodeSpans: Map<string, string[]>,
  tree: SpanTree,
): string | undefined {
  if (!spanId) return undefined;
  const owner = new Map<string, string>();
  for (const [node, spans] of nodeSpans) for (const s of spans) owner.set(s, node);
  let cur: string | undefined = spanId;
  const seen = new Set<string>();
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    const n = owner.get(cur);
    if (n) return n;
    cur = tree.parentOf.get(cur);
  }
  return undefined;
}
