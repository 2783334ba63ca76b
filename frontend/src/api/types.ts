/** Shapes the UI reads from the backend (reference Span dict and our list/document envelopes). */

export interface SpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: Record<string, unknown>;
  droppedAttributesCount?: number;
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service_name: string;
  name: string;
  kind: string;
  start_time: string;
  end_time: string;
  status_code: string;
  status_message: string;
  attributes_json: Record<string, unknown>;
  events_json: SpanEvent[];
  links_json: unknown[];
  trace_flags?: number;
  trace_state?: string | null;
  dropped_attributes_count?: number;
  dropped_events_count?: number;
  dropped_links_count?: number;
  resource_attributes_json?: Record<string, unknown>;
  resource_dropped_attributes_count?: number;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  total?: number | null;
}

export interface User {
  id: string;
  email: string;
  is_active?: boolean;
  created_at: string;
  updated_at?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix?: string;
  created_at: string;
}

export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface ServerConfig {
  environment?: string;
  otlp_endpoint?: string;
  frontend_url?: string | null;
  backend_url?: string | null;
}

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
  /** Where the state history came from: the backend's verified projection or a browser replay. */
  source: "backend" | "browser";
}
