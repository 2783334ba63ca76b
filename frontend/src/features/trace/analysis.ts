/**
 * Where a trace's time went (pure, iterative so a deep or wide trace cannot overflow the stack):
 * each span's self time (its duration minus the part covered by its children) and the critical
 * path (the chain of spans that, walked back from the root's end, the trace was waiting on).
 */
import { isoToMicros } from "../../lib/time";
import type { SpanTree, TreeNode } from "./tree";

interface Interval {
  start: number;
  end: number;
}

function interval(node: TreeNode): Interval {
  return { start: isoToMicros(node.span.start_time), end: isoToMicros(node.span.end_time) };
}

/** Every node of the tree, parents before children, without recursion. */
export function allNodes(tree: SpanTree): TreeNode[] {
  const out: TreeNode[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const node = stack.pop() as TreeNode;
    out.push(node);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
  }
  return out;
}

/** Self time in µs per span id: the span's duration not covered by any child (children clipped to it). */
export function selfTimes(tree: SpanTree): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of allNodes(tree)) {
    const own = interval(node);
    const total = own.end - own.start;
    if (!Number.isFinite(total)) {
      out.set(node.span.span_id, NaN);
      continue;
    }
    const parts = node.children
      .map(interval)
      .map((c) => ({ start: Math.max(c.start, own.start), end: Math.min(c.end, own.end) }))
      .filter((c) => Number.isFinite(c.start) && Number.isFinite(c.end) && c.end > c.start)
      .sort((a, b) => a.start - b.start);
    let covered = 0;
    let runStart = -Infinity;
    let runEnd = -Infinity;
    for (const p of parts) {
      if (p.start > runEnd) {
        if (runEnd > runStart) covered += runEnd - runStart;
        runStart = p.start;
        runEnd = p.end;
      } else {
        runEnd = Math.max(runEnd, p.end);
      }
    }
    if (runEnd > runStart) covered += runEnd - runStart;
    out.set(node.span.span_id, Math.max(0, total - covered));
  }
  return out;
}

/**
 * Span ids on the critical path, from each root: starting at a span's end, the child that finished
 * last before that moment is waited on; its own path is followed, then the walk continues from that
 * child's start among the remaining earlier children.
 */
export function criticalPath(tree: SpanTree): Set<string> {
  const onPath = new Set<string>();
  const work: { node: TreeNode; until: number }[] = tree.roots.map((r) => ({
    node: r,
    until: interval(r).end,
  }));
  while (work.length) {
    const { node, until } = work.pop() as { node: TreeNode; until: number };
    if (onPath.has(node.span.span_id)) continue;
    onPath.add(node.span.span_id);
    const own = interval(node);
    // Children by end time, latest first; each is considered once per walk of this node.
    const children = node.children
      .map((c) => ({ c, iv: interval(c) }))
      .filter(({ iv }) => Number.isFinite(iv.end) && Number.isFinite(iv.start))
      .sort((a, b) => b.iv.end - a.iv.end);
    let point = Math.min(until, own.end);
    for (const { c, iv } of children) {
      if (iv.end > point) continue;
      if (iv.end <= own.start) break;
      work.push({ node: c, until: iv.end });
      point = iv.start;
    }
  }
  return onPath;
}

/** The `n` span ids with the largest finite `times` (µs), largest first; ties by span id. */
export function topSpans(times: Map<string, number>, n: number): { id: string; us: number }[] {
  const ranked: { id: string; us: number }[] = [];
  for (const [id, us] of times) if (Number.isFinite(us)) ranked.push({ id, us });
  ranked.sort((a, b) => b.us - a.us || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ranked.slice(0, n);
}
