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
  type ToolCall,
  type ToolDefinition,
} from "./settings";

export interface OriginalCall {
  /** The span's provider as recorded (`llm.provider`, `gen_ai.provider.name`…). */
  providerLabel?: string;
  /** The playground provider it maps to, if it is one we can run. */
  provider?: ProviderId;
  model: string;
  messages: GenerateMessage[];
  /** The functions the recorded call offered the model (a Junjo Agent's Tools). */
  tools: ToolDefinition[];
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

function callArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* kept below */
  }
  return { _unparsed: text };
}

/**
 * The prompt as playground messages. When every earlier tool call has an id and every tool result
 * names its call and tool, the calls and results stay structured (the providers replay them as tool
 * turns); otherwise they are flattened into text, which every provider accepts.
 */
function messagesOf(input: ChatMessage[]): GenerateMessage[] {
  const structured = input.every(
    (m) => m.toolCalls.every((c) => c.id) && (m.role.toLowerCase() !== "tool" || (m.toolCallId && m.name)),
  );
  return input.map((m) => {
    if (!structured) return { role: role(m.role), content: text(m) };
    if (m.role.toLowerCase() === "tool")
      return { role: "tool", content: m.content, tool_call_id: m.toolCallId, name: m.name };
    const r = role(m.role);
    if (r !== "assistant" || !m.toolCalls.length) return { role: r, content: text(m) };
    const calls: ToolCall[] = m.toolCalls.map((c) => ({
      id: c.id ?? "",
      name: c.name,
      arguments: callArguments(c.arguments),
    }));
    return { role: r, content: m.content, tool_calls: calls };
  });
}

/** A Junjo Agent request's Tools, as the playground's tool definitions. */
function agentTools(raw: unknown): ToolDefinition[] {
  if (typeof raw !== "string") return [];
  try {
    const tools = (JSON.parse(raw) as { tools?: unknown } | null)?.tools;
    if (!Array.isArray(tools)) return [];
    return tools
      .filter((t): t is Record<string, unknown> => !!t && typeof t === "object" && typeof t.name === "string")
      .map((t) => ({
        name: t.name as string,
        description: typeof t.description === "string" ? t.description : "",
        parameters:
          t.inputSchema && typeof t.inputSchema === "object"
            ? (t.inputSchema as Record<string, unknown>)
            : { type: "object", properties: {} },
      }));
  } catch {
    return [];
  }
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
    messages: messagesOf(view?.input ?? []),
    tools: agentTools(a["junjo.agent.model.request"]),
    output: (view?.output ?? []).map(text).filter(Boolean).join("\n\n"),
    params,
    mimeType: attrStr(span, "input.mime_type"),
    durationMicros: spanDurationMicros(span),
    tokens: tokenCounts(span),
  };
}
