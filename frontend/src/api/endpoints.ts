/** Typed calls for every backend route the UI uses (paths per the reference REST surface). */
import { request, requestWithHeaders, seg, type Query } from "./client";
import type { Page, Resp, Span } from "./types";

export const auth = {
  dbHasUsers: () => request<Resp<"/users/db-has-users", "get">>("/users/db-has-users"),
  authTest: () => request<Resp<"/auth-test", "get">>("/auth-test"),
  createFirstUser: (email: string, password: string) =>
    request<Resp<"/users/create-first-user", "post">>("/users/create-first-user", {
      method: "POST",
      body: { email, password },
    }),
  signIn: (email: string, password: string) =>
    request<Resp<"/sign-in", "post">>("/sign-in", { method: "POST", body: { email, password } }),
  signOut: () => request<Resp<"/sign-out", "post">>("/sign-out", { method: "POST" }),
};

export const users = {
  list: () => request<Resp<"/users", "get">>("/users"),
  create: (email: string, password: string) =>
    request<Resp<"/users", "post">>("/users", { method: "POST", body: { email, password } }),
  remove: (id: string) =>
    request<Resp<"/users/{user_id}", "delete">>(`/users/${seg(id)}`, { method: "DELETE" }),
};

export const apiKeys = {
  list: () => request<Resp<"/api_keys", "get">>("/api_keys"),
  create: (name: string) =>
    request<Resp<"/api_keys", "post">>("/api_keys", { method: "POST", body: { name } }),
  remove: (id: string) => request<void>(`/api_keys/${seg(id)}`, { method: "DELETE" }),
};

export const system = {
  config: () => request<Resp<"/api/config", "get">>("/api/config"),
  flushWal: () => request<Resp<"/api/admin/flush-wal", "post">>("/api/admin/flush-wal", { method: "POST" }),
};

export interface ListFilters {
  start?: string;
  end?: string;
  errorsOnly?: boolean;
  q?: string;
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
  };
}

async function listing<T>(path: string, query?: Query): Promise<Page<T>> {
  const { body, headers } = await requestWithHeaders<T[]>(path, { query });
  return toPage(body, headers);
}

const OBS = "/api/v1/observability";

export const observability = {
  services: () => request<Resp<"/api/v1/observability/services", "get">>(`${OBS}/services`),
  workflows: (service: string, f: ListFilters) =>
    listing<Span>(`${OBS}/services/${seg(service)}/workflows`, listQuery(f)),
  rootSpans: (service: string, f: ListFilters) =>
    listing<Span>(`${OBS}/services/${seg(service)}/spans/root`, listQuery(f)),
  traceSpans: (traceId: string) => request<Span[]>(`${OBS}/traces/${seg(traceId)}/spans`),
};
