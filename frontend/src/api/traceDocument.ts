/**
 * Loads a trace as the document the trace and workflow pages render. The backend's trace document
 * (spans + per workflow/subflow span: graph snapshot and verified store history) is the source of
 * truth; if a backend has no document route, spans are fetched and the history is replayed in the
 * browser and labelled as such.
 */
import { ApiError, request, seg } from "./client";
import { observability } from "./endpoints";
import type { GraphSnapshot, Span, StoreHistory, TraceDocument, Transition, WorkflowEvidence } from "./types";
import { buildSpanTree } from "../features/trace/tree";
import { junjoType, parseJsonAttr } from "../lib/spans";
import { replayStore } from "../features/workflow-debugger/state";

export const TRACE_DOCUMENT_PATH = (traceId: string) => `/api/v1/observability/traces/${seg(traceId)}/document`;

interface RawTransition {
  sequence: number;
  span_id: string;
  event_id: string | null;
  store_name?: string | null;
  action?: string | null;
  time_unix_nano?: string | null;
  patch: unknown;
  before: unknown;
  after: unknown;
}

interface RawStore {
  store_id: string | null;
  start: unknown;
  end: unknown;
  transitions: RawTransition[];
  status: string;
  reasons?: string[];
}

interface RawWorkflow {
  span_id: string;
  graph: GraphSnapshot | null;
  store: RawStore | null;
}

interface RawDocument {
  trace_id: string;
  spans: Span[];
  workflows: Record<string, RawWorkflow>;
}

export function adaptStore(owner: string, raw: RawStore | null): StoreHistory | null {
  if (!raw || !raw.store_id) return null;
  const transitions: Transition[] = (raw.transitions ?? []).map((t, i) => ({
    sequence: t.sequence,
    span_id: t.span_id,
    event_id: t.event_id ?? `${t.span_id}:${i}`,
    action: t.action ?? "set_state",
    store_id: raw.store_id as string,
    store_name: t.store_name ?? "Store",
    time_unix_nano: t.time_unix_nano ?? null,
    patch: t.patch,
    before: t.before,
    after: t.after,
  }));
  const reasons = raw.reasons ?? [];
  return {
    store_id: raw.store_id,
    store_name: transitions[0]?.store_name ?? null,
    owner_span_id: owner,
    verified: raw.status === "verified",
    status: raw.status,
    reason: reasons.length ? reasons.join("; ") : null,
    start: raw.start,
    end: raw.end,
    transitions,
  };
}

export function adaptDocument(raw: RawDocument): TraceDocument {
  const workflows: Record<string, WorkflowEvidence> = {};
  for (const [id, w] of Object.entries(raw.workflows ?? {})) {
    workflows[id] = { span_id: id, graph: w.graph ?? null, store: adaptStore(id, w.store) };
  }
  return { trace_id: raw.trace_id, spans: raw.spans ?? [], workflows, source: "backend" };
}

/** Browser-side document from raw spans (fallback only). */
export function documentFromSpans(traceId: string, spans: Span[]): TraceDocument {
  const tree = buildSpanTree(spans);
  const workflows: Record<string, WorkflowEvidence> = {};
  for (const s of spans) {
    const t = junjoType(s);
    if (t !== "workflow" && t !== "subflow") continue;
    const g = parseJsonAttr(s.attributes_json["junjo.workflow.execution_graph_snapshot"]);
    const graph = g && typeof g === "object" && Array.isArray((g as GraphSnapshot).nodes) ? (g as GraphSnapshot) : null;
    workflows[s.span_id] = { span_id: s.span_id, graph, store: replayStore(s, spans, tree.parentOf) };
  }
  return { trace_id: traceId, spans, workflows, source: "browser" };
}

export async function fetchTraceDocument(traceId: string, signal?: AbortSignal): Promise<TraceDocument> {
  try {
    const raw = await request<RawDocument>(TRACE_DOCUMENT_PATH(traceId), { signal });
    return adaptDocument(raw);
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405) || /trace not found/i.test(err.message)) throw err;
  }
  const spans = await observability.traceSpans(traceId);
  if (!spans.length) throw new ApiError("Trace not found", 404);
  return documentFromSpans(traceId, spans);
}
