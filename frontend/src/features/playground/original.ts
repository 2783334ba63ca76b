/**
 * The recorded LLM call a playground session starts from (pure): provider and model, the prompt
 * as editable messages, the recorded output, and the recorded settings. Message extraction is the
 * trace view's (`features/trace/llm.ts`), so every convention it reads (OpenInference, GenAI
 * semconv, provider JSON in `input.value`) opens in the playground too.
 */
import type { Span } from "../../api/types";
import { attrStr, llmModel, llmProvider, tokenCounts, type TokenCounts } from "../../lib/spans";
import { spanDurationMicros } from "../../lib/time";
import { extractLlm, type ChatMessage } from "../trace/llm";
import {
  bareModel,
  flattenParams,
  providerFromSpan,
  type GenerateMessage,
  type ProviderId,
} from "./settings";

export interface OriginalCall {
  /** The span's provider as recorded (`llm.provider`, `gen_ai.provider.name`…). */
  providerLabel?: string;
  /** The playground provider it maps to, if it is one we can run. */
  provider?: ProviderId;
  model: string;
  messages: GenerateMessage[];
  output: string;
  params: Record<string, unknown>;
  mimeType?: string;
  durationMicros: number;
  tokens?: TokenCounts;
}

function role(r: string): GenerateMessage["role"] {
  const v = r.toLowerCase();
  if (v === "system" || v === "developer" || v === "user" || v === "assistant") return v;
  if (v === "model") return "assistant";
  return "user";
}

function text(m: ChatMessage): string {
  const calls = m.toolCalls.map((c) => `${c.name}(${c.arguments})`).join("\n");
  return [m.content, calls].filter(Boolean).join("\n");
}

/** A Junjo Agent request's output schema, as the structured-output setting the playground imports. */
function agentOutputSchema(raw: unknown): Record<string, unknown> {
  if (typeof raw !== "string") return {};
  try {
    const request: unknown = JSON.parse(raw);
    const schema = (request as { outputSchema?: unknown } | null)?.outputSchema;
    if (!schema || typeof schema !== "object") return {};
    return { response_format: { type: "json_schema", json_schema: { name: "agent_output", schema } } };
  } catch {
    return {};
  }
}

export function originalCall(span: Span): OriginalCall {
  const view = extractLlm(span);
  const a = span.attributes_json ?? {};
  const invocation = flattenParams(a["llm.invocation_parameters"]);
  const request = flattenParams(a["input.value"]);
  const params = { ...request, ...invocation, ...agentOutputSchema(a["junjo.agent.model.request"]) };
  const providerLabel = llmProvider(span) ?? attrStr(span, "llm.system");
  const rawModel = llmModel(span) ?? (typeof params.model === "string" ? params.model : undefined);
  return {
    providerLabel,
    provider: providerFromSpan(providerLabel),
    model: bareModel(rawModel),
    messages: (view?.input ?? []).map((m) => ({ role: role(m.role), content: text(m) })),
    output: (view?.output ?? []).map(text).filter(Boolean).join("\n\n"),
    params,
    mimeType: attrStr(span, "input.mime_type"),
    durationMicros: spanDurationMicros(span),
    tokens: tokenCounts(span),
  };
}
