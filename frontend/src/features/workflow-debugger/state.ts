/**
 * Store-history views (pure): structural diffs for the Changes view, the workflow chain of a
 * selection, and what Before/After mean for a selected span or transition. The history itself is
 * replayed and verified by the backend.
 */
import type { Span, StoreHistory, Transition } from "../../api/types";
import { junjoType } from "../../lib/spans";

function isDescendant(spanId: string, ownerId: string, parentOf: Map<string, string>): boolean {
  let cur: string | undefined = spanId;
  const seen = new Set<string>();
  while (cur && !seen.has(cur)) {
    if (cur === ownerId) return true;
    seen.add(cur);
    cur = parentOf.get(cur);
  }
  return false;
}

type Json = unknown;

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Json[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

export interface Change {
  path: string;
  kind: "added" | "removed" | "changed";
  before?: Json;
  after?: Json;
}

const escapeToken = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");

/** Leaf-level structural diff, paths as JSON pointers. */
export function diffValues(before: Json, after: Json, path = ""): Change[] {
  if (deepEqual(before, after)) return [];
  const bothObj =
    before &&
    after &&
    typeof before === "object" &&
    typeof after === "object" &&
    Array.isArray(before) === Array.isArray(after);
  if (!bothObj) {
    if (before === undefined) return [{ path: path || "/", kind: "added", after }];
    if (after === undefined) return [{ path: path || "/", kind: "removed", before }];
    return [{ path: path || "/", kind: "changed", before, after }];
  }
  const out: Change[] = [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++)
      out.push(
        ...diffValues(
          i < before.length ? before[i] : undefined,
          i < after.length ? after[i] : undefined,
          `${path}/${i}`,
        ),
      );
    return out;
  }
  const b = before as Record<string, Json>;
  const a = after as Record<string, Json>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  for (const k of keys) out.push(...diffValues(b[k], a[k], `${path}/${escapeToken(k)}`));
  return out;
}

/** The workflow/subflow spans from the outermost down to the nearest one enclosing `spanId`. */
export function workflowChain(
  spanId: string | undefined,
  byId: Map<string, Span>,
  parentOf: Map<string, string>,
  top: string,
): string[] {
  const chain: string[] = [];
  let cur: string | undefined = spanId;
  const seen = new Set<string>();
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    const t = junjoType(byId.get(cur));
    if (t === "workflow" || t === "subflow") chain.unshift(cur);
    if (cur === top) break;
    cur = parentOf.get(cur);
  }
  if (!chain.length || chain[0] !== top) {
    const i = chain.indexOf(top);
    return i >= 0 ? chain.slice(i) : [top];
  }
  return chain;
}

export interface StateView {
  before: Json;
  after: Json;
  patch?: Json;
  label: string;
}

/** Before/After for a selected transition, or for a span's boundary within the store's history. */
export function stateViewFor(
  history: StoreHistory,
  transition: Transition | undefined,
  spanId: string | undefined,
  parentOf: Map<string, string>,
): StateView | undefined {
  if (transition)
    return {
      before: transition.before,
      after: transition.after,
      patch: transition.patch,
      label: `Transition ${transition.sequence} → ${transition.action}`,
    };
  if (!spanId) return undefined;
  if (spanId === history.owner_span_id)
    return { before: history.start, after: history.end, label: "Whole execution" };
  const mine = history.transitions.filter((t) => isDescendant(t.span_id, spanId, parentOf));
  if (!mine.length) return undefined;
  return {
    before: mine[0].before,
    after: mine[mine.length - 1].after,
    label: `${mine.length} transition${mine.length > 1 ? "s" : ""} in this span`,
  };
}
