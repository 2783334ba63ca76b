/**
 * Span tree construction and flattening (pure): parent links → nested nodes ordered by start time,
 * the set of spans on a failed path (a failed span and all its ancestors), and search filtering.
 */
import type { Span } from "../../api/types";
import { isFailed } from "../../lib/spans";
import { isoToMicros } from "../../lib/time";

export interface TreeNode {
  span: Span;
  children: TreeNode[];
}

export interface SpanTree {
  roots: TreeNode[];
  byId: Map<string, Span>;
  parentOf: Map<string, string>;
  /** Spans that failed or have a failed descendant. */
  failedPath: Set<string>;
  /** Spans that themselves failed. */
  failed: Set<string>;
  startUs: number;
  endUs: number;
}

const byStart = (a: TreeNode, b: TreeNode) =>
  isoToMicros(a.span.start_time) - isoToMicros(b.span.start_time) ||
  a.span.span_id.localeCompare(b.span.span_id);

export function buildSpanTree(spans: Span[]): SpanTree {
  const byId = new Map<string, Span>();
  for (const s of spans) byId.set(s.span_id, s);
  const nodes = new Map<string, TreeNode>();
  for (const s of byId.values()) nodes.set(s.span_id, { span: s, children: [] });
  const roots: TreeNode[] = [];
  const parentOf = new Map<string, string>();
  for (const node of nodes.values()) {
    const pid = node.span.parent_span_id;
    const parent = pid ? nodes.get(pid) : undefined;
    if (parent && pid !== node.span.span_id) {
      parent.children.push(node);
      parentOf.set(node.span.span_id, pid as string);
    } else {
      roots.push(node);
    }
  }
  for (const node of nodes.values()) node.children.sort(byStart);
  roots.sort(byStart);

  const failed = new Set<string>();
  const failedPath = new Set<string>();
  for (const s of byId.values()) {
    if (!isFailed(s)) continue;
    failed.add(s.span_id);
    let cur: string | undefined = s.span_id;
    const seen = new Set<string>();
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      failedPath.add(cur);
      cur = parentOf.get(cur);
    }
  }
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const s of byId.values()) {
    const a = isoToMicros(s.start_time);
    const b = isoToMicros(s.end_time);
    if (Number.isFinite(a)) startUs = Math.min(startUs, a);
    if (Number.isFinite(b)) endUs = Math.max(endUs, b);
  }
  return { roots, byId, parentOf, failedPath, failed, startUs, endUs };
}

export function ancestors(tree: SpanTree, spanId: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let cur = tree.parentOf.get(spanId);
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    out.push(cur);
    cur = tree.parentOf.get(cur);
  }
  return out;
}

export function findNode(roots: TreeNode[], spanId: string): TreeNode | undefined {
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop() as TreeNode;
    if (n.span.span_id === spanId) return n;
    stack.push(...n.children);
  }
  return undefined;
}

export interface FlatRow {
  span: Span;
  depth: number;
  hasChildren: boolean;
}

// Search text per span, built once per loaded span object (a trace document's spans never change).
const searchText = new WeakMap<Span, string>();

function spanText(s: Span): string {
  const cached = searchText.get(s);
  if (cached !== undefined) return cached;
  const text = buildSpanText(s);
  searchText.set(s, text);
  return text;
}

function buildSpanText(s: Span): string {
  const parts = [s.name, s.span_id];
  for (const [k, v] of Object.entries(s.attributes_json ?? {})) {
    parts.push(k);
    if (typeof v === "string") parts.push(v.length > 2000 ? v.slice(0, 2000) : v);
    else if (typeof v === "number" || typeof v === "boolean") parts.push(String(v));
  }
  for (const e of s.events_json ?? []) parts.push(e.name);
  return parts.join("\n").toLowerCase();
}

/** Matching spans plus their ancestors (so matches stay in context); undefined when query is empty. */
export function searchTree(
  tree: SpanTree,
  query: string,
): { visible: Set<string>; matches: Set<string> } | undefined {
  const q = query.trim().toLowerCase();
  if (!q) return undefined;
  const matches = new Set<string>();
  const visible = new Set<string>();
  for (const s of tree.byId.values()) {
    if (!spanText(s).includes(q)) continue;
    matches.add(s.span_id);
    visible.add(s.span_id);
    for (const a of ancestors(tree, s.span_id)) visible.add(a);
  }
  return { visible, matches };
}

export interface ExtraItem<T> {
  key: string;
  timeUs: number;
  payload: T;
}

export type TreeItem<T> =
  ({ type: "span" } & FlatRow) | { type: "extra"; depth: number; key: string; payload: T };

/**
 * Depth-first rows, skipping children of collapsed spans and (when `visible` is given) hidden
 * spans; each span's children are interleaved by time with extra rows (the workflow debugger's
 * state events), which sit one level below their span.
 */
export function flattenWithExtras<T>(
  roots: TreeNode[],
  collapsed: Set<string>,
  extrasFor: (span: Span) => ExtraItem<T>[],
  visible?: Set<string>,
): TreeItem<T>[] {
  const out: TreeItem<T>[] = [];
  const walk = (n: TreeNode, depth: number) => {
    if (visible && !visible.has(n.span.span_id)) return;
    const extras = extrasFor(n.span);
    out.push({ type: "span", span: n.span, depth, hasChildren: n.children.length > 0 || extras.length > 0 });
    if (collapsed.has(n.span.span_id)) return;
    const kids: ({ t: number; node: TreeNode } | { t: number; extra: ExtraItem<T> })[] = [
      ...n.children.map((c) => ({ t: isoToMicros(c.span.start_time), node: c })),
      ...extras.map((e) => ({ t: e.timeUs, extra: e })),
    ];
    kids.sort((a, b) => a.t - b.t);
    for (const k of kids) {
      if ("node" in k) walk(k.node, depth + 1);
      else out.push({ type: "extra", depth: depth + 1, key: k.extra.key, payload: k.extra.payload });
    }
  };
  for (const r of roots) walk(r, 0);
  return out;
}
