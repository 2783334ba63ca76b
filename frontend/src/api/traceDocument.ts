/**
 * Loads a trace as the document the trace and workflow pages render: the backend's trace document
 * (spans + per workflow/subflow span: graph snapshot and a store history the backend replayed and
 * verified). The browser never replays patches itself; it only adapts the shape.
 */
import { request, seg } from "./client";
import type {
  GraphSnapshot,
  RawStoreHistory,
  RawTraceDocument,
  Span,
  StoreHistory,
  TraceDocument,
  Transition,
  WorkflowEvidence,
} from "./types";

export const TRACE_DOCUMENT_PATH = (traceId: string) => `/api/v1/trace-document/${seg(traceId)}`;

export function adaptStore(owner: string, raw: RawStoreHistory | null): StoreHistory | null {
  // An unverifiable history (the backend could not build it) is kept even without a store id: its
  // reason is what the user must see.
  if (!raw || (!raw.store_id && raw.status !== "unverifiable")) return null;
  const transitions: Transition[] = (raw.transitions ?? []).map((t, i) => ({
    sequence: t.sequence,
    span_id: t.span_id,
    event_id: t.event_id ?? `${t.span_id}:${i}`,
    action: t.action ?? "set_state",
    store_id: raw.store_id ?? "",
    store_name: t.store_name ?? "Store",
    time_unix_nano: t.time_unix_nano ?? null,
    patch: t.patch,
    before: t.before,
    after: t.after,
  }));
  const reasons = raw.reasons ?? [];
  return {
    store_id: raw.store_id ?? "",
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

export function adaptDocument(raw: RawTraceDocument): TraceDocument {
  const workflows: Record<string, WorkflowEvidence> = {};
  for (const [id, w] of Object.entries(raw.workflows ?? {})) {
    workflows[id] = {
      span_id: id,
      graph: (w.graph as GraphSnapshot | null) ?? null,
      store: adaptStore(id, w.store),
    };
  }
  return {
    trace_id: raw.trace_id,
    spans: (raw.spans ?? []) as Span[],
    workflows,
    diagnostics: raw.diagnostics ?? [],
    truncated: raw.truncated ?? null,
  };
}

/**
 * One page of a trace: the backend answers at most a bounded number of spans and bytes; `after`
 * (the previous page's `truncated.next_cursor`) asks for the spans that follow.
 */
export async function fetchTraceDocument(
  traceId: string,
  after: string | null,
  signal?: AbortSignal,
): Promise<TraceDocument> {
  return adaptDocument(
    await request<RawTraceDocument>(TRACE_DOCUMENT_PATH(traceId), {
      signal,
      query: after ? { cursor: after } : undefined,
    }),
  );
}

/** One query definition for a trace page, shared by the pages and the startup prefetch. */
export function traceDocumentQuery(traceId: string, after: string | null = null) {
  return {
    queryKey: ["trace", traceId, after],
    queryFn: ({ signal }: { signal?: AbortSignal }) => fetchTraceDocument(traceId, after, signal),
    staleTime: 60_000,
  };
}
