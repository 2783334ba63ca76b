/** Facts about a span the UI needs everywhere: type, failure signal, LLM-ness, display name, icon. */
import type { Span } from "../api/types";
import { neutralizeBidi } from "./text";

export type JunjoSpanType = "workflow" | "subflow" | "node" | "run_concurrent" | "agent";
const JUNJO_TYPES = new Set(["workflow", "subflow", "node", "run_concurrent", "agent"]);

export function attr(span: Span | undefined, key: string): unknown {
  return span?.attributes_json?.[key];
}

export function attrStr(span: Span | undefined, key: string): string | undefined {
  const v = attr(span, key);
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : String(v);
}

export function junjoType(span: Span | undefined): JunjoSpanType | undefined {
  const t = attr(span, "junjo.span_type");
  return typeof t === "string" && JUNJO_TYPES.has(t) ? (t as JunjoSpanType) : undefined;
}

export function isCancelled(span: Span): boolean {
  const c = attr(span, "junjo.cancelled");
  return c === true || c === "true";
}

/** `error.type`, an `exception` event, a `junjo.hook_error` event, or ERROR status; never cancellation. */
export function isFailed(span: Span): boolean {
  if (isCancelled(span) && !span.events_json?.some((e) => e.name === "exception")) return false;
  if (attr(span, "error.type") !== undefined) return true;
  if (span.status_code === "2" || span.status_code === "ERROR" || span.status_code === "STATUS_CODE_ERROR")
    return true;
  return (span.events_json ?? []).some((e) => e.name === "exception" || e.name === "junjo.hook_error");
}

/** A Junjo Agent's model request (its normalized request/response are read by `features/trace/llm.ts`). */
export function isAgentModelRequest(span: Span): boolean {
  return attr(span, "junjo.agent.operation_type") === "model_request";
}

export function isLlm(span: Span): boolean {
  if (isAgentModelRequest(span)) return true;
  const k = attr(span, "openinference.span.kind");
  if (typeof k === "string" && k.toUpperCase() === "LLM") return true;
  const p = attr(span, "gen_ai.provider.name") ?? attr(span, "gen_ai.system");
  const op = attr(span, "gen_ai.operation.name");
  return (typeof p === "string" && p !== "") || (typeof op === "string" && op !== "");
}

export function llmModel(span: Span): string | undefined {
  return (
    attrStr(span, "llm.model_name") ??
    attrStr(span, "gen_ai.response.model") ??
    attrStr(span, "gen_ai.request.model") ??
    attrStr(span, "junjo.agent.model.name")
  );
}

export function llmProvider(span: Span): string | undefined {
  return (
    attrStr(span, "llm.provider") ??
    attrStr(span, "gen_ai.provider.name") ??
    attrStr(span, "gen_ai.system") ??
    attrStr(span, "junjo.agent.model.provider")
  );
}

export interface TokenCounts {
  prompt?: number;
  completion?: number;
  total?: number;
  /** Cost in USD when the producer recorded it (OpenInference `llm.cost.total`). */
  cost?: number;
}

function num(v: unknown): number | undefined {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function agentUsage(span: Span): Record<string, unknown> {
  const raw = attr(span, "junjo.agent.model.usage");
  if (typeof raw !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function tokenCounts(span: Span): TokenCounts | undefined {
  const a = { ...(span.attributes_json ?? {}) };
  if (isAgentModelRequest(span)) {
    const u = agentUsage(span);
    a["gen_ai.usage.input_tokens"] = u.inputTokens;
    a["gen_ai.usage.output_tokens"] = u.outputTokens;
    a["gen_ai.usage.total_tokens"] = u.totalTokens;
  }
  const prompt =
    num(a["llm.token_count.prompt"]) ??
    num(a["gen_ai.usage.input_tokens"]) ??
    num(a["gen_ai.usage.prompt_tokens"]);
  const completion =
    num(a["llm.token_count.completion"]) ??
    num(a["gen_ai.usage.output_tokens"]) ??
    num(a["gen_ai.usage.completion_tokens"]);
  let total = num(a["llm.token_count.total"]) ?? num(a["gen_ai.usage.total_tokens"]);
  if (total === undefined && prompt !== undefined && completion !== undefined) total = prompt + completion;
  const cost = num(a["llm.cost.total"]) ?? num(a["gen_ai.usage.cost"]);
  if (prompt === undefined && completion === undefined && total === undefined && cost === undefined)
    return undefined;
  return { prompt, completion, total, cost };
}

/** The span's own name, as recorded (bidi controls made visible); never replaced by a made-up label. */
export function displayName(span: Span): string {
  return span.name ? neutralizeBidi(span.name) : "(unnamed span)";
}

/** "openai · gpt-4o-mini" for an LLM span, shown as a tag beside its name. */
export function llmTag(span: Span): string | undefined {
  if (!isLlm(span)) return undefined;
  const parts = [llmProvider(span), llmModel(span)].filter((p): p is string => !!p);
  return parts.length ? neutralizeBidi(parts.join(" · ")) : undefined;
}

export type SpanIcon =
  "subflow" | "node" | "concurrent" | "db" | "llm" | "server" | "workflow" | "agent" | "code";

export function spanIcon(span: Span): SpanIcon {
  const t = junjoType(span);
  if (t === "subflow") return "subflow";
  if (t === "node") return "node";
  if (t === "run_concurrent") return "concurrent";
  if (t === "workflow") return "workflow";
  if (t === "agent") return "agent";
  if (attr(span, "db.system") !== undefined) return "db";
  if (isLlm(span)) return "llm";
  if (span.kind === "SERVER" || span.kind === "2") return "server";
  return "code";
}

export const ICON_GLYPH: Record<SpanIcon, string> = {
  subflow: "❏",
  node: "■",
  concurrent: "▦",
  db: "⛁",
  llm: "✦",
  server: "⇄",
  workflow: "◇",
  agent: "☉",
  code: "‹›",
};

/** What each tree icon means (tooltips and the legend). */
export const ICON_LABEL: Record<SpanIcon, string> = {
  subflow: "Junjo subflow",
  node: "Junjo node",
  concurrent: "Junjo RunConcurrent group",
  db: "Database call",
  llm: "LLM call",
  server: "Server span",
  workflow: "Junjo workflow",
  agent: "Junjo agent",
  code: "Other span",
};

export function formatCost(usd: number): string {
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(2)}`;
}
