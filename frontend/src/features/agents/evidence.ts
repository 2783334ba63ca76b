/**
 * The Agent detail page's view of trace evidence (pure): the Agent's annotation, its operations in
 * sequence order with the calls a model requested but no Tool span ran placed inline, its Stores
 * and relationships, and whether anything about the evidence deserves a banner.
 */
import type { Span, TraceEvidence } from "../../api/types";

export interface Payload {
  mode: "full" | "redacted" | "excluded" | "reference" | "missing";
  policy: string | null;
  value: unknown;
  reference: unknown;
  reason: string | null;
}

export interface Candidate {
  available: boolean;
  payload: Payload | null;
  unavailable_reason: string | null;
}

export interface Issue {
  code: string;
  path: string;
  message: string;
}

export interface Integrity {
  status: "complete" | "partial";
  diagnostics: Issue[];
  loss_counts: Record<string, number>;
}

/** One verification rule the backend checked on this run (see backend/agents/verification.py). */
export interface RuleResult {
  rule: string;
  title: string;
  status: "passed" | "failed" | "skipped";
  reason: string | null;
  diagnostics: Issue[];
}

export interface Verification {
  status: "passed" | "failed";
  rules: RuleResult[];
}

export interface ErrorInfo {
  type: string | null;
  qualified_type: string | null;
  message: string | null;
  stacktrace: string | null;
}

export interface RequestedCall {
  call_id: string | null;
  tool_name: string | null;
  arguments: unknown;
  observed_tool_operation: string | null;
  admission: "admitted" | "not_admitted" | "unknown";
  reason: string | null;
}

interface OperationBase {
  sequence: number | null;
  span_id: string;
  name: string | null;
  start_time: string;
  end_time: string;
  outcome: "completed" | "failed" | "cancelled";
  error: ErrorInfo | null;
  cancellation: { reason: string | null } | null;
}

export interface ModelOperation extends OperationBase {
  operation_type: "model_request";
  ordinal: number | null;
  state_revision: number | null;
  driver_key: string | null;
  provider: string | null;
  model_name: string | null;
  fixture: boolean;
  request: Payload | null;
  response_candidate: Candidate | null;
  response_type: string | null;
  response: Payload | null;
  usage: Record<string, number> | null;
  requested_tool_calls: RequestedCall[];
}

export interface ToolOperation extends OperationBase {
  operation_type: "tool";
  call_id: string | null;
  ordinal: number | null;
  tool_name: string | null;
  tool_structural_id: string | null;
  state_revision_before: number | null;
  state_revision_after: number | null;
  requested_arguments: Payload | null;
  arguments: Payload | null;
  result_candidate: Candidate | null;
  result: Payload | null;
  started: boolean;
  completed: boolean;
}

export type Operation = ModelOperation | ToolOperation;

export interface Transition {
  sequence: number;
  span_id: string;
  event_id: string | null;
  store_name: string | null;
  action: string | null;
  revision_before: number | null;
  revision_after: number | null;
  patch: unknown[] | null;
  before: unknown;
  after: unknown;
}

export interface StoreDetail {
  available: boolean;
  store_id: string | null;
  revision_start: number | null;
  revision_end: number | null;
  transition_start: number | null;
  transition_end: number | null;
  transition_count: number | null;
  reconstructable_claimed: boolean | null;
  reconstructable: boolean;
  reconstruction_status: "verified" | "policy_unavailable" | "failed" | "not_applicable";
  reconstruction_reason: string | null;
  diagnostics: Issue[];
  start: Payload | null;
  end: Payload | null;
  transitions: Transition[];
}

export interface StoreEntry {
  store_id: string;
  role: "runtime" | "application";
  owner_span_id: string;
  owner_executable_type: string;
  detail: StoreDetail;
}

export interface ExecutableRef {
  executable_type: string | null;
  trace_id: string;
  span_id: string;
  name: string | null;
  service: { namespace: string; name: string; version: string | null };
  runtime_id: string | null;
  parent_operation_sequence?: number | null;
  parent_operation_span_id?: string;
}

export interface Relationships {
  parent: {
    executable_type: string;
    runtime_id: string;
    structural_id: string;
    span_id: string | null;
    name: string | null;
    resolved: boolean;
    physical_parent_span_id: string | null;
    workflow: ExecutableRef | null;
  } | null;
  nested: ExecutableRef[];
}

export interface AgentSummary {
  agent_key: string;
  agent_name: string;
  service: { namespace: string; name: string; version: string | null };
  structural_id: string | null;
  outcome: string | null;
  termination_reason: string | null;
  limits: { model_requests: number | null; tool_calls: number | null };
  counts: {
    operations: number | null;
    model_requests: number | null;
    tool_calls: {
      requested: number | null;
      admitted: number | null;
      started: number | null;
      completed: number | null;
    };
  };
  usage: { model_responses: number; fields: Record<string, { sum: number; observations: number }> };
  limit_exceeded: string | null;
}

export interface AgentExecutable {
  executable_type: "agent";
  owner_span_id: string;
  runtime_id: string | null;
  contract_version: number;
  name: string;
  store_id: string | null;
  application_store_id: string | null;
  application_store: StoreEntry | null;
  state_available: boolean | null;
  summary: AgentSummary;
  definition: Payload | null;
  input: Payload | null;
  output: Payload | null;
  input_candidate: Candidate | null;
  history_candidate: Candidate | null;
  limit: { exceeded: string | null; attempted_count: number | null; requested_batch_size: number | null };
  error: ErrorInfo | null;
  cancellation: { reason: string | null } | null;
  verification: Verification;
  integrity: Integrity;
}

/** One entry of the operation timeline: an operation, or a requested call no Tool span ran. */
export type TimelineEntry =
  | { kind: "operation"; key: string; op: Operation }
  | { kind: "unstarted"; key: string; call: RequestedCall; requestedBy: ModelOperation };

export interface AgentView {
  agent: AgentExecutable;
  span: Span;
  spans: Span[];
  operations: Operation[];
  timeline: TimelineEntry[];
  stores: StoreEntry[];
  relationships: Relationships;
  traceDiagnostics: { scope: string; owner_span_id: string | null; issue: Issue }[];
}

export function agentView(evidence: TraceEvidence, agentSpanId: string): AgentView | undefined {
  const agent = evidence.executables_by_span_id[agentSpanId] as unknown as AgentExecutable | undefined;
  const span = evidence.spans.find((s) => s.span_id === agentSpanId);
  if (!agent || agent.executable_type !== "agent" || !span) return undefined;
  const byRuntime = agent.runtime_id ? evidence.operations_by_owner_runtime_id[agent.runtime_id] : undefined;
  const operations = Object.values(byRuntime ?? {}) as unknown as Operation[];
  operations.sort((a, b) => (a.sequence ?? Infinity) - (b.sequence ?? Infinity));
  const timeline: TimelineEntry[] = [];
  for (const op of operations) {
    timeline.push({ kind: "operation", key: `op-${op.sequence ?? op.span_id}`, op });
    if (op.operation_type !== "model_request") continue;
    for (const call of op.requested_tool_calls) {
      if (call.observed_tool_operation === null)
        timeline.push({ kind: "unstarted", key: `call-${call.call_id ?? "?"}`, call, requestedBy: op });
    }
  }
  const runtimeStore = agent.store_id
    ? (evidence.stores_by_id[agent.store_id] as unknown as StoreEntry | undefined)
    : undefined;
  const stores = [runtimeStore, agent.application_store ?? undefined].filter((s): s is StoreEntry => !!s);
  const relationships = (evidence.relationships_by_owner_span_id[
    agentSpanId
  ] as unknown as Relationships) ?? {
    parent: null,
    nested: [],
  };
  const traceDiagnostics = (evidence.diagnostics as unknown as AgentView["traceDiagnostics"]).filter(
    (d) => d.scope === "trace" || d.owner_span_id === agentSpanId,
  );
  return {
    agent,
    span,
    spans: evidence.spans,
    operations,
    timeline,
    stores,
    relationships,
    traceDiagnostics,
  };
}

/** Payload slots of the Agent and its operations whose mode is not `full`. */
export function nonFullPayloads(view: AgentView): { where: string; mode: string; reason: string | null }[] {
  const out: { where: string; mode: string; reason: string | null }[] = [];
  const check = (where: string, p: Payload | null | undefined) => {
    if (p && p.mode !== "full") out.push({ where, mode: p.mode, reason: p.reason });
  };
  check("definition", view.agent.definition);
  check("input", view.agent.input);
  check("output", view.agent.output);
  for (const op of view.operations) {
    const at = `operation ${op.sequence ?? "?"}`;
    if (op.operation_type === "model_request") {
      check(`${at} request`, op.request);
      check(`${at} response`, op.response);
    } else {
      check(`${at} arguments`, op.arguments);
      check(`${at} result`, op.result);
    }
  }
  return out;
}

/** True when the evidence should be questioned: the banner is quiet only when all of this is clean. */
export function needsBanner(view: AgentView): boolean {
  return (
    view.agent.integrity.status !== "complete" ||
    nonFullPayloads(view).length > 0 ||
    view.traceDiagnostics.length > 0 ||
    view.stores.some((s) => s.detail.reconstruction_status !== "verified")
  );
}

/** A list of messages when `value` looks like chat (`[{role, content}]`), else undefined. */
export function asChat(value: unknown): { role: string; content: string }[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const ok = value.every(
    (m) => m && typeof m === "object" && typeof (m as { role?: unknown }).role === "string",
  );
  if (!ok) return undefined;
  return value.map((m) => {
    const { role, content } = m as { role: string; content?: unknown };
    return {
      role,
      content: typeof content === "string" ? content : JSON.stringify(content ?? null, null, 2),
    };
  });
}
