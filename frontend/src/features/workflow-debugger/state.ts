/**
 * Store-history logic (pure): RFC 6902 patch application, the browser-side replay used only when
 * the backend's verified projection is absent, structural diffs for the Changes view, and what
 * Before/After mean for a selected span or transition.
 */
import type { Span, StoreHistory, Transition } from "../../api/types";
import { attr, attrStr, junjoType, parseJsonAttr } from "../../lib/spans";

type Json = unknown;

const clone = <T,>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new Error(`invalid JSON pointer: ${path}`);
  return path.slice(1).split("/").map(unescape);
}

function getAt(doc: Json, tokens: string[]): Json {
  let cur: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (cur && typeof cur === "object") cur = (cur as Record<string, Json>)[t];
    else return undefined;
  }
  return cur;
}

function setAt(doc: Json, tokens: string[], value: Json, mode: "add" | "replace"): Json {
  if (tokens.length === 0) return value;
  const parentTokens = tokens.slice(0, -1);
  let parent = getAt(doc, parentTokens);
  if (parent === undefined || parent === null || typeof parent !== "object") {
    // Pre-create missing containers (the SDK's patches assume them).
    doc = setAt(doc, parentTokens, {}, "add");
    parent = getAt(doc, parentTokens);
  }
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const idx = last === "-" ? parent.length : Number(last);
    if (mode === "add") parent.splice(idx, 0, value);
    else parent[idx] = value;
  } else {
    (parent as Record<string, Json>)[last] = value;
  }
  return doc;
}

function removeAt(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) return undefined;
  const parent = getAt(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (parent && typeof parent === "object") delete (parent as Record<string, Json>)[last];
  return doc;
}

export interface PatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export function applyPatch(doc: Json, patch: PatchOp[]): Json {
  let out = clone(doc);
  for (const op of patch) {
    const tokens = parsePointer(op.path);
    switch (op.op) {
      case "add":
        out = setAt(out, tokens, clone(op.value), "add");
        break;
      case "replace":
        out = setAt(out, tokens, clone(op.value), "replace");
        break;
      case "remove":
        out = removeAt(out, tokens);
        break;
      case "move": {
        const from = parsePointer(op.from ?? "");
        const v = clone(getAt(out, from));
        out = removeAt(out, from);
        out = setAt(out, tokens, v, "add");
        break;
      }
      case "copy":
        out = setAt(out, tokens, clone(getAt(out, parsePointer(op.from ?? ""))), "add");
        break;
      case "test":
        if (!deepEqual(getAt(out, tokens), op.value)) throw new Error(`test failed at ${op.path}`);
        break;
      default:
        throw new Error(`unknown patch op ${op.op}`);
    }
  }
  return out;
}

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
    before && after && typeof before === "object" && typeof after === "object" && Array.isArray(before) === Array.isArray(after);
  if (!bothObj) {
    if (before === undefined) return [{ path: path || "/", kind: "added", after }];
    if (after === undefined) return [{ path: path || "/", kind: "removed", before }];
    return [{ path: path || "/", kind: "changed", before, after }];
  }
  const out: Change[] = [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) out.push(...diffValues(i < before.length ? before[i] : undefined, i < after.length ? after[i] : undefined, `${path}/${i}`));
    return out;
  }
  const b = before as Record<string, Json>;
  const a = after as Record<string, Json>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  for (const k of keys) out.push(...diffValues(b[k], a[k], `${path}/${escapeToken(k)}`));
  return out;
}

interface RawTransition {
  seq: number;
  timeNs: string;
  span: Span;
  event: { attributes: Record<string, unknown> };
}

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

/**
 * Replays `set_state` patches for a workflow/subflow owner span from its start state, checking the
 * result against its recorded end state. Used only when the backend sent no projection.
 */
export function replayStore(owner: Span, spans: Span[], parentOf: Map<string, string>): StoreHistory | null {
  const storeId = attrStr(owner, "junjo.workflow.store.id");
  if (!storeId) return null;
  const start = parseJsonAttr(attr(owner, "junjo.workflow.state.start"));
  const end = parseJsonAttr(attr(owner, "junjo.workflow.state.end"));
  const raw: RawTransition[] = [];
  let storeName: string | null = null;
  for (const s of spans) {
    if (!isDescendant(s.span_id, owner.span_id, parentOf)) continue;
    for (const e of s.events_json ?? []) {
      if (e.name !== "set_state" || e.attributes?.["junjo.store.id"] !== storeId) continue;
      storeName = storeName ?? (typeof e.attributes["junjo.store.name"] === "string" ? (e.attributes["junjo.store.name"] as string) : null);
      raw.push({ seq: Number(e.attributes["junjo.store.transition.sequence"] ?? NaN), timeNs: e.timeUnixNano, span: s, event: e });
    }
  }
  const tStart = Number(attr(owner, "junjo.store.transition.start") ?? NaN);
  const tEnd = Number(attr(owner, "junjo.store.transition.end") ?? NaN);
  const inWindow = raw.filter((r) => {
    if (Number.isFinite(tStart) && Number.isFinite(tEnd) && Number.isFinite(r.seq)) return r.seq > tStart && r.seq <= tEnd;
    return true;
  });
  inWindow.sort((a, b) =>
    Number.isFinite(a.seq) && Number.isFinite(b.seq) ? a.seq - b.seq : BigInt(a.timeNs || "0") < BigInt(b.timeNs || "0") ? -1 : 1,
  );
  const transitions: Transition[] = [];
  let cur: Json = start;
  let failure: string | null = start === undefined ? "start state missing" : null;
  inWindow.forEach((r, i) => {
    const patchRaw = parseJsonAttr(r.event.attributes["junjo.state_json_patch"]);
    const patch = Array.isArray(patchRaw) ? (patchRaw as PatchOp[]) : [];
    const before = cur;
    let after: Json = before;
    try {
      after = applyPatch(before, patch);
    } catch (err) {
      failure = failure ?? `patch ${i + 1} failed: ${(err as Error).message}`;
    }
    transitions.push({
      sequence: Number.isFinite(r.seq) ? r.seq : i + 1,
      span_id: r.span.span_id,
      event_id: String(r.event.attributes["id"] ?? `${r.span.span_id}:${i}`),
      action: String(r.event.attributes["junjo.store.action"] ?? "set_state"),
      store_id: storeId,
      store_name: storeName ?? "Store",
      time_unix_nano: r.timeNs ?? null,
      patch,
      before,
      after,
    });
    cur = after;
  });
  if (!failure && end !== undefined && !deepEqual(cur, end)) failure = "replayed state does not match the recorded end state";
  if (!failure && end === undefined) failure = "end state missing";
  return {
    store_id: storeId,
    store_name: storeName,
    owner_span_id: owner.span_id,
    verified: failure === null,
    status: failure === null ? "verified" : "failed",
    reason: failure,
    start,
    end,
    transitions,
  };
}

/** The workflow/subflow spans from the outermost down to the nearest one enclosing `spanId`. */
export function workflowChain(spanId: string | undefined, byId: Map<string, Span>, parentOf: Map<string, string>, top: string): string[] {
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
export function stateViewFor(history: StoreHistory, transition: Transition | undefined, spanId: string | undefined, parentOf: Map<string, string>): StateView | undefined {
  if (transition) return { before: transition.before, after: transition.after, patch: transition.patch, label: `Transition ${transition.sequence} → ${transition.action}` };
  if (!spanId) return undefined;
  if (spanId === history.owner_span_id) return { before: history.start, after: history.end, label: "Whole execution" };
  const mine = history.transitions.filter((t) => isDescendant(t.span_id, spanId, parentOf));
  if (!mine.length) return undefined;
  return { before: mine[0].before, after: mine[mine.length - 1].after, label: `${mine.length} transition${mine.length > 1 ? "s" : ""} in this span` };
}
