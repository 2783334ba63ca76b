/** Shapes the UI reads from the backend: generated OpenAPI types plus the UI's own views of them. */
import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export interface SpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Record<string, unknown>;
  droppedAttributesCount?: number;
}

/** The REST `Span`, from the backend's OpenAPI schema with events typed. */
export type Span = Omit<Schemas["Span"], "events_json"> & { events_json: SpanEvent[] };

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  total?: number | null;
  /** The total is an estimate (filters applied or data not yet indexed). */
  totalApproximate?: boolean;
  /** Why recent data may be missing (e.g. `ingestion-unavailable`). */
  degraded?: string | null;
  /** A search ran out of time: this page holds the matches found so far; "older" searches on. */
  partial?: boolean;
}

export type User = Schemas["UserRead"];
export type Role = Schemas["Role"];
export type ApiKey = Schemas["ApiKeyListed"];
export type CreatedApiKey = Schemas["ApiKeyCreated"];
export type ServerConfig = Schemas["PublicConfig"];
export type RawTraceDocument = Schemas["TraceDocument"];
export type RawStoreHistory = Schemas["StoreHistory"];
export type AgentExecution = Schemas["AgentExecution"];
export type Overview = Schemas["Overview"];
export type ServiceOverview = Schemas["ServiceOverview"];
export type LlmUsage = Schemas["LlmUsage"];
export type ExecutionResolution = Schemas["ExecutionResolution"];
/** Trace evidence: the envelope is typed by OpenAPI; the annotations inside are read by `features/agents/evidence.ts`. */
export type TraceEvidence = Omit<Schemas["TraceEvidence"], "spans"> & { spans: Span[] };

/**
 * The JSON body of a route's success response, looked up in the generated OpenAPI types so a
 * renamed path or changed response breaks the build instead of the page.
 */
type Ok<R> = R extends { 200: { content: { "application/json": infer B } } }
  ? B
  : R extends { 201: { content: { "application/json": infer B } } }
    ? B
    : never;
export type Resp<P extends keyof paths, M extends "get" | "post" | "patch" | "delete"> = paths[P][M] extends {
  responses: infer R;
}
  ? Ok<R>
  : never;

/** One verified store transition (before/after computed by the backend). */
export interface Transition {
  sequence: number;
  span_id: string;
  event_id: string;
  action: string;
  store_id: string;
  store_name: string;
  time_unix_nano: string | null;
  patch: unknown;
  before: unknown;
  after: unknown;
}

export interface StoreHistory {
  store_id: string;
  store_name: string | null;
  owner_span_id: string;
  verified: boolean;
  status: string;
  reason: string | null;
  start: unknown;
  end: unknown;
  transitions: Transition[];
}

export interface GraphNode {
  nodeRuntimeId: string;
  nodeStructuralId?: string;
  nodeType?: string;
  nodeLabel?: string;
  isConcurrentSubgraph?: boolean;
  childNodeRuntimeIds?: string[];
  isSubflow?: boolean;
  subflowGraphStructuralId?: string;
  subflowSourceNodeRuntimeId?: string;
  subflowSinkNodeRuntimeIds?: string[];
}

export interface GraphEdge {
  edgeStructuralId?: string;
  tailNodeRuntimeId: string;
  headNodeRuntimeId: string;
  edgeConditionLabel?: string | null;
  edgeScope?: string;
  parentSubflowRuntimeId?: string | null;
}

export interface GraphSnapshot {
  v?: number;
  graphStructuralId?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface WorkflowEvidence {
  span_id: string;
  graph: GraphSnapshot | null;
  store: StoreHistory | null;
}

/** The trace document the trace and workflow pages render. */
export interface TraceDocument {
  trace_id: string;
  spans: Span[];
  workflows: Record<string, WorkflowEvidence>;
  /** What the backend could not interpret (unsupported contract version, bad graph snapshot, …). */
  diagnostics: Schemas["Diagnostic"][];
  /** Set when the answer leaves spans out ("trace truncated, N more spans"). */
  truncated: TraceTruncation | null;
}

export type EvaluationToken = Schemas["TokenRead"];
export type CreatedEvaluationToken = Schemas["TokenCreated"];
export type EvaluationScope = Schemas["Scope"];
export type Dataset = Schemas["DatasetRead"];
export type EvaluationCase = Schemas["CaseRead"];
export type EvaluationRun = Schemas["RunRead"];
export type Attempt = Schemas["AttemptRead"];
export type RunDetail = Schemas["RunDetail"];
export type RunSummary = Schemas["RunSummary"];
export type OutcomeSummary = Schemas["OutcomeSummary"];
export type EvidenceReference = NonNullable<Attempt["subject_evidence"]>;
export type TraceTruncation = Schemas["TraceTruncation"];
