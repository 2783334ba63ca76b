/** Typed calls for every backend route the UI uses (paths per the reference REST surface). */
import { request, requestWithHeaders, seg, type Query } from "./client";
import type {
  AgentExecution,
  EvaluationScope,
  EvidenceReference,
  Page,
  Resp,
  Role,
  Span,
  TraceEvidence,
} from "./types";

export const auth = {
  dbHasUsers: () => request<Resp<"/users/db-has-users", "get">>("/users/db-has-users"),
  authTest: () => request<Resp<"/auth-test", "get">>("/auth-test"),
  createFirstUser: (email: string, password: string, setupCode: string) =>
    request<Resp<"/users/create-first-user", "post">>("/users/create-first-user", {
      method: "POST",
      body: { email, password, setup_code: setupCode.trim() || null },
    }),
  signIn: (email: string, password: string) =>
    request<Resp<"/sign-in", "post">>("/sign-in", { method: "POST", body: { email, password } }),
  signOut: () => request<Resp<"/sign-out", "post">>("/sign-out", { method: "POST" }),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<Resp<"/users/me/password", "post">>("/users/me/password", {
      method: "POST",
      body: { current_password: currentPassword, new_password: newPassword },
    }),
};

export const users = {
  list: () => request<Resp<"/users", "get">>("/users"),
  create: (email: string, password: string, role: Role) =>
    request<Resp<"/users", "post">>("/users", { method: "POST", body: { email, password, role } }),
  update: (id: string, change: { role?: Role; is_active?: boolean }) =>
    request<Resp<"/users/{user_id}", "patch">>(`/users/${seg(id)}`, { method: "PATCH", body: change }),
  remove: (id: string) =>
    request<Resp<"/users/{user_id}", "delete">>(`/users/${seg(id)}`, { method: "DELETE" }),
};

export const apiKeys = {
  list: () => request<Resp<"/api_keys", "get">>("/api_keys"),
  create: (name: string) =>
    request<Resp<"/api_keys", "post">>("/api_keys", { method: "POST", body: { name } }),
  remove: (id: string) => request<void>(`/api_keys/${seg(id)}`, { method: "DELETE" }),
};

const TOKENS = "/api/v1/evaluation-tokens";

export const evaluationTokens = {
  list: () => request<Resp<"/api/v1/evaluation-tokens", "get">>(TOKENS, { query: { limit: 100 } }),
  create: (name: string, scopes: EvaluationScope[], expiresAt: string | null) =>
    request<Resp<"/api/v1/evaluation-tokens", "post">>(TOKENS, {
      method: "POST",
      body: { name, scopes, expires_at: expiresAt },
    }),
  revoke: (id: string) => request<void>(`${TOKENS}/${seg(id)}`, { method: "DELETE" }),
};

const EVAL = "/api/v1/evaluation";

export const evaluations = {
  datasets: (cursor?: string | null) =>
    request<Resp<"/api/v1/evaluation/datasets", "get">>(`${EVAL}/datasets`, {
      query: { limit: 100, cursor: cursor ?? undefined },
    }),
  dataset: (id: string) =>
    request<Resp<"/api/v1/evaluation/datasets/{dataset_id}", "get">>(`${EVAL}/datasets/${seg(id)}`),
  runs: (datasetId?: string, cursor?: string | null) =>
    request<Resp<"/api/v1/evaluation/runs", "get">>(`${EVAL}/runs`, {
      query: { limit: 100, dataset_id: datasetId, cursor: cursor ?? undefined },
    }),
  run: (id: string) => request<Resp<"/api/v1/evaluation/runs/{run_id}", "get">>(`${EVAL}/runs/${seg(id)}`),
};

/** Where a semantic execution's evidence lives in this UI (404 while ingestion has not caught up). */
export interface ExecutionPaths {
  trace_id: string;
  span_id: string;
  detail_path: string;
  trace_path: string;
  failure_path: string;
}

export function resolveExecution(ref: EvidenceReference): Promise<ExecutionPaths> {
  if (ref.kind === "otel_span") {
    const path = `/traces/${seg(ref.service_name)}/${seg(ref.trace_id)}/${seg(ref.span_id)}`;
    return Promise.resolve({
      trace_id: ref.trace_id,
      span_id: ref.span_id,
      detail_path: path,
      trace_path: path,
      failure_path: path,
    });
  }
  // built by hand: an empty service_namespace is a real value and must be sent
  const query = new URLSearchParams({
    service_namespace: ref.service_namespace,
    service_name: ref.service_name,
    executable_type: ref.executable_type,
    runtime_id: ref.runtime_id,
  });
  return request<ExecutionPaths>(`/api/v1/execution-resolution?${query.toString()}`);
}

export const system = {
  config: () => request<Resp<"/api/config", "get">>("/api/config"),
  flushWal: () => request<Resp<"/api/admin/flush-wal", "post">>("/api/admin/flush-wal", { method: "POST" }),
};

export interface ListFilters {
  start?: string;
  end?: string;
  errorsOnly?: boolean;
  q?: string;
  /** A span search (docs/SEARCH.md), e.g. `user.id = 42 duration > 5s`. */
  search?: string;
  hasLlm?: boolean;
  cursor?: string | null;
  limit?: number;
}

function listQuery(f: ListFilters): Query {
  return {
    start_time: f.start,
    end_time: f.end,
    errors_only: f.errorsOnly ? "true" : undefined,
    name: f.q,
    search: f.search,
    has_llm: f.hasLlm ? "true" : undefined,
    cursor: f.cursor ?? undefined,
    limit: f.limit,
  };
}

/**
 * A listing page: the body is the reference's bare `[Span]`; cursor, total and degradation come
 * in `X-Next-Cursor`, `X-Total-Count` (+ `X-Total-Count-Approximate`) and `X-Junjo-Degraded`.
 */
export function toPage<T>(raw: T[] | null | undefined, headers?: Headers): Page<T> {
  const items = Array.isArray(raw) ? raw : [];
  const totalHeader = headers?.get("X-Total-Count");
  const total =
    totalHeader !== null &&
    totalHeader !== undefined &&
    totalHeader !== "" &&
    Number.isFinite(Number(totalHeader))
      ? Number(totalHeader)
      : null;
  return {
    items,
    next_cursor: headers?.get("X-Next-Cursor") || null,
    total,
    totalApproximate: headers?.get("X-Total-Count-Approximate") === "true",
    degraded: headers?.get("X-Junjo-Degraded") || null,
    partial: headers?.get("X-Junjo-Search-Partial") === "time-budget",
  };
}

async function listing<T>(path: string, query?: Query): Promise<Page<T>> {
  const { body, headers } = await requestWithHeaders<T[]>(path, { query });
  return toPage(body, headers);
}

const OBS = "/api/v1/observability";

export const observability = {
  services: () => request<Resp<"/api/v1/observability/services", "get">>(`${OBS}/services`),
  overview: (start: string, end: string, points: number) =>
    request<Resp<"/api/v1/observability/overview", "get">>(`${OBS}/overview`, {
      query: { start_time: start, end_time: end, points },
    }),
  workflows: (service: string, f: ListFilters) =>
    listing<Span>(`${OBS}/services/${seg(service)}/workflows`, listQuery(f)),
  rootSpans: (service: string, f: ListFilters) =>
    listing<Span>(`${OBS}/services/${seg(service)}/spans/root`, listQuery(f)),
  spans: (service: string, f: ListFilters) =>
    listing<Span>(`${OBS}/services/${seg(service)}/spans`, listQuery(f)),
  traceSpans: (traceId: string) => request<Span[]>(`${OBS}/traces/${seg(traceId)}/spans`),
};

export type SavedSearch = Resp<"/api/v1/saved-searches", "get">[number];

export const savedSearches = {
  list: () => request<SavedSearch[]>("/api/v1/saved-searches"),
  create: (name: string, query: string) =>
    request<SavedSearch>("/api/v1/saved-searches", { method: "POST", body: { name, query } }),
  remove: (id: string) => request<void>(`/api/v1/saved-searches/${seg(id)}`, { method: "DELETE" }),
};

export interface AgentFilters {
  namespace?: string;
  service?: string;
  agentKey?: string;
  outcome?: string;
  errorsOnly?: boolean;
  q?: string;
  /** A span search (docs/SEARCH.md) matched by the agent span or any span under it. */
  search?: string;
  start?: string;
  end?: string;
  cursor?: string | null;
  limit?: number;
}

export const agentsApi = {
  list: (f: AgentFilters) =>
    listing<AgentExecution>("/api/v1/agent-executions", {
      service_namespace: f.namespace,
      service_name: f.service,
      agent_key: f.agentKey,
      outcome: f.outcome,
      errors_only: f.errorsOnly ? "true" : undefined,
      name: f.q,
      search: f.search,
      start_time: f.start,
      end_time: f.end,
      cursor: f.cursor ?? undefined,
      limit: f.limit,
    }),
  evidence: (traceId: string) => request<TraceEvidence>(`/api/v1/trace-evidence/${seg(traceId)}`),
  resolve: (query: Record<string, string>) =>
    request<Resp<"/api/v1/execution-resolution", "get">>("/api/v1/execution-resolution", { query }),
};
