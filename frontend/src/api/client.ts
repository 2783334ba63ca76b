/**
 * The one place that talks HTTP: cookie credentials on every call, and FastAPI error bodies turned
 * into readable messages (`detail` string, or the 422 array's `msg` values joined with ". ").
 */
import { getApiHost } from "../config";

export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function errorMessageFromBody(body: unknown, status: number): string {
  if (body && typeof body === "object") {
    const detail = (body as { detail?: unknown }).detail;
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail)) {
      const msgs = detail
        .map((d) => (d && typeof d === "object" ? (d as { msg?: unknown }).msg : undefined))
        .filter((m): m is string => typeof m === "string" && m.length > 0);
      if (msgs.length) return msgs.join(". ");
    }
    if (detail && typeof detail === "object") {
      const msg = (detail as { message?: unknown }).message;
      if (typeof msg === "string" && msg) return msg;
    }
    const message = (body as { message?: unknown }).message;
    if (typeof message === "string" && message) return message;
  }
  return `Request failed (${status})`;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function buildUrl(path: string, query?: Query): string {
  const url = `${getApiHost()}${path}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE" | "PUT" | "PATCH";
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return (await requestWithHeaders<T>(path, opts)).body;
}

/** Like `request`, also returning response headers (listing metadata travels in headers). */
export async function requestWithHeaders<T>(
  path: string,
  opts: RequestOptions = {},
): Promise<{ body: T; headers: Headers }> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? "GET",
      credentials: "include",
      headers,
      body,
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(`Cannot reach the API at ${getApiHost()}`, 0);
  }
  if (res.status === 204) return { body: undefined as T, headers: res.headers };
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) throw new ApiError(errorMessageFromBody(parsed, res.status), res.status);
  return { body: parsed as T, headers: res.headers };
}

/** Path segment encoder: every segment is encoded, and a missing one is a bug, never a shifted URL. */
export function seg(value: string | undefined | null): string {
  if (value === undefined || value === null || value === "") throw new Error("missing path segment");
  return encodeURIComponent(value);
}
