/**
 * LLM message extraction (pure). Reads the conventions producers actually emit and normalises them
 * to role-labelled messages: OpenInference flattened `llm.input_messages.*` / `llm.output_messages.*`,
 * OpenInference `input.value` / `output.value` holding OpenAI-style `{"messages": [...]}` (or a
 * response with `choices`, Gemini `contents` / `candidates`), GenAI semconv `gen_ai.input.messages` /
 * `gen_ai.output.messages` / `gen_ai.system_instructions`, and the older `gen_ai.prompt.N.*` /
 * `gen_ai.completion.N.*` keys.
 */
import type { Span } from "../../api/types";
import { llmModel, llmProvider, tokenCounts, type TokenCounts } from "../../lib/spans";

export interface ToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: string;
  content: string;
  name?: string;
  toolCalls: ToolCall[];
  toolCallId?: string;
}

export interface LlmView {
  input: ChatMessage[];
  output: ChatMessage[];
  model?: string;
  provider?: string;
  tokens?: TokenCounts;
  invocationParameters?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v, null, 2);
}

function tryJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** `{ "a.0.b": 1 }` style keys under `prefix` → nested arrays/objects. */
export function unflatten(attrs: Obj, prefix: string): unknown {
  const root: Obj = {};
  let found = false;
  for (const [key, value] of Object.entries(attrs)) {
    if (!key.startsWith(prefix + ".")) continue;
    found = true;
    const parts = key.slice(prefix.length + 1).split(".");
    let cur: Obj = root;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) cur[p] = value;
      else {
        if (!isObj(cur[p])) cur[p] = {};
        cur = cur[p] as Obj;
      }
    });
  }
  if (!found) return undefined;
  const toArrays = (v: unknown): unknown => {
    if (!isObj(v)) return v;
    const keys = Object.keys(v);
    if (keys.length && keys.every((k) => /^\d+$/.test(k))) {
      return keys.sort((a, b) => Number(a) - Number(b)).map((k) => toArrays(v[k]));
    }
    const out: Obj = {};
    for (const k of keys) out[k] = toArrays(v[k]);
    return out;
  };
  return toArrays(root);
}

function contentToText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === "string") return part;
        if (!isObj(part)) return str(part);
        if (typeof part.text === "string") return part.text;
        if (isObj(part.message_content)) return contentToText([part.message_content]);
        if (typeof part.content === "string") return part.content;
        if (part.type === "image_url" || part.type === "image") return "[image]";
        return str(part);
      })
      .join("\n");
  }
  return str(content);
}

function toolCallsFrom(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isObj).map((tc) => {
    const inner = isObj(tc.tool_call) ? tc.tool_call : tc;
    const fn = isObj(inner.function) ? inner.function : inner;
    return {
      id: typeof inner.id === "string" ? inner.id : undefined,
      name: str(fn.name ?? inner.name ?? "function"),
      arguments: str(fn.arguments ?? inner.arguments ?? inner.input ?? ""),
    };
  });
}

/** One message in OpenAI / OpenInference / Anthropic / Gemini / GenAI-parts form. */
export function normalizeMessage(raw: unknown): ChatMessage | undefined {
  if (typeof raw === "string") return { role: "user", content: raw, toolCalls: [] };
  if (!isObj(raw)) return undefined;
  const m = isObj(raw.message) ? raw.message : raw;
  const role = str(m.role ?? m.author ?? "message");
  const toolCalls = toolCallsFrom(m.tool_calls);
  let content = "";
  if (Array.isArray(m.parts)) {
    const texts: string[] = [];
    for (const part of m.parts) {
      if (!isObj(part)) {
        texts.push(str(part));
        continue;
      }
      const type = part.type;
      if (type === "tool_call" || isObj(part.functionCall) || isObj(part.function_call)) {
        const fc = (part.functionCall ?? part.function_call ?? part) as Obj;
        toolCalls.push({
          id: typeof part.id === "string" ? part.id : undefined,
          name: str(fc.name),
          arguments: str(fc.arguments ?? fc.args ?? ""),
        });
      } else if (type === "tool_call_response" || isObj(part.functionResponse)) {
        texts.push(str(part.response ?? part.result ?? part.functionResponse));
      } else if (typeof part.content === "string") texts.push(part.content);
      else if (typeof part.text === "string") texts.push(part.text);
      else texts.push(str(part));
    }
    content = texts.join("\n");
  } else if (m.content !== undefined) {
    if (Array.isArray(m.content)) {
      // Anthropic content blocks may hold tool_use blocks.
      const texts: string[] = [];
      for (const block of m.content) {
        if (isObj(block) && block.type === "tool_use") {
          toolCalls.push({
            id: typeof block.id === "string" ? block.id : undefined,
            name: str(block.name),
            arguments: str(block.input),
          });
        } else if (isObj(block) && block.type === "tool_result") {
          texts.push(contentToText(block.content));
        } else texts.push(contentToText([block]));
      }
      content = texts.join("\n");
    } else content = contentToText(m.content);
  } else if (m.contents !== undefined) content = contentToText(m.contents);
  else if (typeof m.text === "string") content = m.text;
  return {
    role: role === "model" ? "assistant" : role,
    content,
    name: typeof m.name === "string" ? m.name : undefined,
    toolCalls,
    toolCallId: typeof m.tool_call_id === "string" ? m.tool_call_id : undefined,
  };
}

function normalizeList(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw)) return [];
  return raw.map(normalizeMessage).filter((m): m is ChatMessage => !!m);
}

/** Messages inside a request-like JSON value (`input.value`). */
export function messagesFromRequest(value: unknown): ChatMessage[] {
  const parsed = tryJson(value);
  if (Array.isArray(parsed)) return normalizeList(parsed);
  if (!isObj(parsed))
    return typeof value === "string" && value.trim() ? [{ role: "user", content: value, toolCalls: [] }] : [];
  const out: ChatMessage[] = [];
  const system = parsed.system ?? parsed.system_instruction ?? parsed.instructions;
  if (system !== undefined)
    out.push({
      role: "system",
      content: contentToText(isObj(system) && system.parts ? system.parts : system),
      toolCalls: [],
    });
  if (Array.isArray(parsed.messages)) out.push(...normalizeList(parsed.messages));
  else if (Array.isArray(parsed.contents)) out.push(...normalizeList(parsed.contents));
  else if (typeof parsed.contents === "string")
    out.push({ role: "user", content: parsed.contents, toolCalls: [] });
  else if (typeof parsed.prompt === "string")
    out.push({ role: "user", content: parsed.prompt, toolCalls: [] });
  else if (Array.isArray(parsed.input)) out.push(...normalizeList(parsed.input));
  else if (typeof parsed.input === "string") out.push({ role: "user", content: parsed.input, toolCalls: [] });
  return out;
}

/** Messages inside a response-like JSON value (`output.value`). */
export function messagesFromResponse(value: unknown): ChatMessage[] {
  const parsed = tryJson(value);
  if (Array.isArray(parsed)) return normalizeList(parsed);
  if (!isObj(parsed))
    return typeof value === "string" && value.trim()
      ? [{ role: "assistant", content: value, toolCalls: [] }]
      : [];
  if (Array.isArray(parsed.choices)) {
    return normalizeList(parsed.choices.map((c) => (isObj(c) ? (c.message ?? c.delta ?? c.text) : c))).map(
      (m) => (m.role === "message" || m.role === "user" ? { ...m, role: "assistant" } : m),
    );
  }
  if (Array.isArray(parsed.candidates)) {
    return normalizeList(parsed.candidates.map((c) => (isObj(c) ? c.content : c)));
  }
  if (parsed.role !== undefined && parsed.content !== undefined) return normalizeList([parsed]);
  if (Array.isArray(parsed.messages)) return normalizeList(parsed.messages);
  if (Array.isArray(parsed.output)) return normalizeList(parsed.output);
  return [{ role: "assistant", content: JSON.stringify(parsed, null, 2), toolCalls: [] }];
}

function genAiMessages(attrs: Obj, key: string): ChatMessage[] {
  const v = tryJson(attrs[key]) ?? attrs[key];
  return Array.isArray(v) ? normalizeList(v) : [];
}

function legacyGenAi(attrs: Obj, prefix: string): ChatMessage[] {
  const tree = unflatten(attrs, prefix);
  return Array.isArray(tree) ? normalizeList(tree) : [];
}

/** A Junjo Agent message (`agent_input`, `assistant_tool_calls`, `tool_result`, `assistant_output`). */
function agentMessage(m: unknown): ChatMessage | undefined {
  if (!isObj(m)) return undefined;
  switch (m.type) {
    case "agent_input":
      return { role: "user", content: str(m.input), toolCalls: [] };
    case "assistant_output":
      return { role: "assistant", content: str(m.output), toolCalls: [] };
    case "assistant_tool_calls":
      return {
        role: "assistant",
        content: typeof m.assistantText === "string" ? m.assistantText : "",
        toolCalls: (Array.isArray(m.calls) ? m.calls : []).filter(isObj).map((c) => ({
          id: typeof c.id === "string" ? c.id : undefined,
          name: typeof c.name === "string" ? c.name : "?",
          arguments: JSON.stringify(c.arguments ?? null),
        })),
      };
    case "tool_result":
      return {
        role: "tool",
        name: typeof m.toolName === "string" ? m.toolName : undefined,
        toolCallId: typeof m.callId === "string" ? m.callId : undefined,
        content: str(m.result),
        toolCalls: [],
      };
    default:
      return { role: String(m.type ?? "message"), content: str(m), toolCalls: [] };
  }
}

/** A Junjo Agent model request span: its normalized request and validated response as chat. */
export function agentLlm(a: Obj): { input: ChatMessage[]; output: ChatMessage[] } | undefined {
  const request = tryJson(a["junjo.agent.model.request"]);
  if (!isObj(request)) return undefined;
  const input: ChatMessage[] = [];
  if (typeof request.instructions === "string" && request.instructions)
    input.push({ role: "system", content: request.instructions, toolCalls: [] });
  for (const m of Array.isArray(request.messages) ? request.messages : []) {
    const msg = agentMessage(m);
    if (msg) input.push(msg);
  }
  const response = tryJson(a["junjo.agent.model.response"]);
  const output: ChatMessage[] = [];
  if (isObj(response)) {
    const msg =
      response.type === "tool_calls"
        ? agentMessage({ ...response, type: "assistant_tool_calls" })
        : agentMessage({ type: "assistant_output", output: response.output });
    if (msg) output.push(msg);
  }
  return { input, output };
}

export function extractLlm(span: Span): LlmView | undefined {
  const a = (span.attributes_json ?? {}) as Obj;
  const agent = agentLlm(a);
  if (agent)
    return { ...agent, model: llmModel(span), provider: llmProvider(span), tokens: tokenCounts(span) };
  let input = normalizeList(unflatten(a, "llm.input_messages"));
  let output = normalizeList(unflatten(a, "llm.output_messages"));
  if (!input.length) {
    input = [];
    const sys = a["gen_ai.system_instructions"];
    if (sys !== undefined) {
      const parsed = tryJson(sys) ?? sys;
      input.push({
        role: "system",
        content: contentToText(Array.isArray(parsed) ? parsed : [parsed]),
        toolCalls: [],
      });
    }
    input.push(...genAiMessages(a, "gen_ai.input.messages"));
    if (input.length === 0) input = legacyGenAi(a, "gen_ai.prompt");
  }
  if (!output.length) output = genAiMessages(a, "gen_ai.output.messages");
  if (!output.length) output = legacyGenAi(a, "gen_ai.completion");
  if (!input.length && a["input.value"] !== undefined) input = messagesFromRequest(a["input.value"]);
  if (!output.length && a["output.value"] !== undefined) output = messagesFromResponse(a["output.value"]);
  if (!output.length && typeof a["llm.output"] === "string") output = messagesFromResponse(a["llm.output"]);
  if (!input.length && !output.length) return undefined;
  const inv = a["llm.invocation_parameters"];
  return {
    input,
    output,
    model: llmModel(span),
    provider: llmProvider(span),
    tokens: tokenCounts(span),
    invocationParameters: inv === undefined ? undefined : str(tryJson(inv) ?? inv),
  };
}
