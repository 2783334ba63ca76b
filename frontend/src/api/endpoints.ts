/** Typed calls for every backend route the UI uses (paths per the reference REST surface). */
import { request, seg, type Query } from "./client";
import type { ApiKey, CreatedApiKey, Page, ServerConfig, Span, User } from "./types";

export const auth = {
  dbHasUsers: () => request<{ users_exist: boolean }>("/users/db-has-users"),
  authTest: () => request<{ user_email: string }>("/auth-test"),
  createFirstUser: (email: string, password: string) =>
    request<{ message: string }>("/users/create-first-user", { method: "POST", body: { email, password } }),
  signIn: (email: string, password: string) => request<{ message: string }>("/sign-in", { method: "POST", body: { email, password } }),
  signOut: () => request<{ message: string }>("/sign-out", { method: "POST" }),
};

export const users = {
  list: () => request<User[]>("/users"),
  create: (email: string, password: string) => request<{ message: string }>("/users", { method: "POST", body: { email, password } }),
  remove: (id: string) => request<{ message: string }>(`/users/${seg(id)}`, { method: "DELETE" }),
};

export const apiKeys = {
  list: () => request<ApiKey[]>("/api_keys"),
  create: (name: string) => request<CreatedApiKey>("/api_keys", { method: "POST", body: { name } }),
  remove: (id: string) => request<void>(`/api_keys/${seg(id)}`, { method: "DELETE" }),
};

export const system = {
  config: () => request<ServerConfig>("/api/config"),
  flushWal: () => request<{ success: boolean; message: string; files_indexed?: number }>("/api/admin/flush-wal", { method: "POST" }),
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
    start: f.start,
    end: f.end,
    errors_only: f.errorsOnly ? "true" : undefined,
    q: f.q,
    has_llm: f.hasLlm ? "true" : undefined,
    cursor: f.cursor ?? undefined,
    limit: f.limit,
  };
}

/** Accepts our paginated envelope or a bare array (reference shape). */
export function toPage<T>(raw: Page<T> | T[] | null | undefined): Page<T> {
  if (Array.isArray(raw)) return { items: raw, next_cursor: null, total: raw.length };
  if (raw && Array.isArray(raw.items)) return { items: raw.items, next_cursor: raw.next_cursor ?? null, total: raw.total ?? null };
  return { items: [], next_cursor: null, total: 0 };
}

const OBS = "/api/v1/observability";

export const observability = {
  services: async (): Promise<string[]> => {
    const raw = await request<string[] | { items: string[] }>(`${OBS}/services`);
    return Array.isArray(raw) ? raw : (raw?.items ?? []);
  },
  workflows: async (service: string, f: ListFilters) =>
    toPage(await request<Page<Span> | Span[]>(`${OBS}/services/${seg(service)}/workflows`, { query: listQuery(f) })),
  rootSpans: async (service: string, f: ListFilters) =>
    toPage(await request<Page<Span> | Span[]>(`${OBS}/services/${seg(service)}/spans/root`, { query: listQuery(f) })),
  traceSpans: async (traceId: string) => toPage(await request<Page<Span> | Span[]>(`${OBS}/traces/${seg(traceId)}/spans`)).items,
};
