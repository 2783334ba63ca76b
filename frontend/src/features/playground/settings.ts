/**
 * Playground settings (pure): which knobs each provider takes, importing them from a recorded
 * span's invocation parameters, and turning them into a `POST /llm/generate` body.
 *
 * The backend refuses a setting a provider does not accept (400), so the UI only offers, and only
 * sends, what the selected provider supports: OpenAI has reasoning effort but no thinking budget;
 * Anthropic's Messages API (2026-10-21) takes no temperature/top_p and has no schema-less JSON mode;
 * Gemini takes everything, with reasoning effort sent as its thinking level.
 */

export type ProviderId = "openai" | "anthropic" | "gemini";

export const PROVIDERS: { id: ProviderId; label: string }[] = [
  { id: "openai", label: "OpenAI" },
  { id: "anthropic", label: "Anthropic" },
  { id: "gemini", label: "Google Gemini" },
];

export interface Settings {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop: string[];
  reasoningEffort?: string;
  /** -1 adaptive/dynamic, 0 off, N tokens (Anthropic ≥ 1024). */
  thinkingBudget?: number;
  includeThoughts?: boolean;
  jsonMode: boolean;
  /** JSON schema as text (edited in a textarea); empty = none. */
  jsonSchema: string;
}

export const EMPTY_SETTINGS: Settings = { stop: [], jsonMode: false, jsonSchema: "" };

export interface Capabilities {
  temperature: boolean;
  topP: boolean;
  thinkingBudget: boolean;
  includeThoughts: boolean;
  reasoningEfforts: string[];
  schemaLessJson: boolean;
}

const OPENAI_REASONING = /^(o\d|gpt-5)/;

export function capabilities(provider: ProviderId, model: string): Capabilities {
  if (provider === "anthropic") {
    return {
      temperature: false,
      topP: false,
      thinkingBudget: true,
      includeThoughts: true,
      reasoningEfforts: ["low", "medium", "high", "xhigh", "max"],
      schemaLessJson: false,
    };
  }
  if (provider === "gemini") {
    return {
      temperature: true,
      topP: true,
      thinkingBudget: true,
      includeThoughts: true,
      reasoningEfforts: ["minimal", "low", "medium", "high", "xhigh"],
      schemaLessJson: true,
    };
  }
  const reasoning = OPENAI_REASONING.test(model);
  return {
    // reasoning models accept only the default temperature / top_p
    temperature: !reasoning,
    topP: !reasoning,
    thinkingBudget: false,
    includeThoughts: false,
    reasoningEfforts: reasoning ? ["none", "minimal", "low", "medium", "high", "xhigh"] : [],
    schemaLessJson: true,
  };
}

/** `llm.provider` / `gen_ai.provider.name` / `gen_ai.system` → our provider id (OTel "google" is Gemini). */
export function providerFromSpan(value: string | undefined): ProviderId | undefined {
  const v = (value ?? "").toLowerCase();
  if (v.includes("anthropic")) return "anthropic";
  if (v.includes("gemini") || v.includes("google") || v.includes("vertex")) return "gemini";
  if (v.includes("openai")) return "openai";
  return undefined;
}

/** `models/gemini-2.5-flash` or `openai/gpt-4o` → the bare model name the providers use. */
export function bareModel(model: string | undefined): string {
  if (!model) return "";
  let m = model.trim();
  if (m.startsWith("models/")) m = m.slice("models/".length);
  const slash = m.indexOf("/");
  if (slash > 0 && /^[a-z_]+$/.test(m.slice(0, slash))) m = m.slice(slash + 1);
  return m;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function parse(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function num(v: unknown): number | undefined {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

/** Flatten the places SDKs put generation settings (`config`, `generation_config`, …) into one object. */
export function flattenParams(raw: unknown): Obj {
  const top = parse(raw);
  if (!isObj(top)) return {};
  const out: Obj = {};
  for (const nested of ["config", "generation_config", "generationConfig"]) {
    const inner = parse(top[nested]);
    if (isObj(inner)) Object.assign(out, inner);
  }
  for (const [k, v] of Object.entries(top))
    if (!["config", "generation_config", "generationConfig", "messages", "contents"].includes(k)) out[k] = v;
  return out;
}

/** The JSON schema a recorded call asked for, per the provider conventions (OpenAI, Anthropic, Gemini). */
export function schemaFromParams(p: Obj): unknown {
  const rf = parse(p.response_format);
  if (isObj(rf) && isObj(rf.json_schema) && rf.json_schema.schema !== undefined)
    return parse(rf.json_schema.schema);
  const oc = parse(p.output_config);
  if (isObj(oc) && isObj(oc.format) && oc.format.schema !== undefined) return parse(oc.format.schema);
  const gem = parse(
    pick(p, "response_json_schema", "responseJsonSchema", "response_schema", "responseSchema"),
  );
  if (isObj(gem)) return gem;
  const tools = parse(p.tools);
  if (Array.isArray(tools) && isObj(tools[0]) && isObj(tools[0].input_schema)) return tools[0].input_schema;
  return undefined;
}

/**
 * Settings recorded on the span. Temperature and the output schema are always imported; provider-specific knobs only when
 * the target provider is the span's own (a Gemini thinking budget means nothing to OpenAI).
 */
export function importSettings(params: Obj, sameProvider: boolean): Settings {
  const s: Settings = { ...EMPTY_SETTINGS, stop: [] };
  s.temperature = num(params.temperature);
  // the output schema is provider-neutral (a Junjo Agent's, recorded on a provider-less span)
  const schema = schemaFromParams(params);
  if (schema !== undefined) s.jsonSchema = JSON.stringify(schema, null, 2);
  s.jsonMode = schema !== undefined;
  if (!sameProvider) return s;
  s.topP = num(pick(params, "top_p", "topP"));
  s.maxTokens = num(
    pick(params, "max_completion_tokens", "max_tokens", "max_output_tokens", "maxOutputTokens"),
  );
  const stop = pick(params, "stop", "stop_sequences", "stopSequences");
  s.stop =
    typeof stop === "string"
      ? [stop]
      : Array.isArray(stop)
        ? stop.filter((x): x is string => typeof x === "string").slice(0, 4)
        : [];
  const reasoning = parse(params.reasoning);
  const oc = parse(params.output_config);
  const thinkingConfig = parse(pick(params, "thinking_config", "thinkingConfig"));
  const effort =
    pick(params, "reasoning_effort") ??
    (isObj(reasoning) ? reasoning.effort : undefined) ??
    (isObj(oc) ? oc.effort : undefined) ??
    (isObj(thinkingConfig) ? pick(thinkingConfig, "thinking_level", "thinkingLevel") : undefined);
  if (typeof effort === "string") s.reasoningEffort = effort.toLowerCase();
  const thinking = parse(params.thinking);
  if (isObj(thinking)) {
    if (thinking.type === "enabled") s.thinkingBudget = num(thinking.budget_tokens);
    else if (thinking.type === "adaptive") s.thinkingBudget = -1;
    else if (thinking.type === "disabled") s.thinkingBudget = 0;
  }
  if (isObj(thinkingConfig)) {
    s.thinkingBudget ??= num(pick(thinkingConfig, "thinking_budget", "thinkingBudget"));
    const inc = pick(thinkingConfig, "include_thoughts", "includeThoughts");
    if (typeof inc === "boolean") s.includeThoughts = inc;
  }
  const rf = parse(params.response_format);
  const mime = pick(params, "response_mime_type", "responseMimeType");
  s.jsonMode =
    schema !== undefined ||
    (isObj(rf) && (rf.type === "json_object" || rf.type === "json_schema")) ||
    mime === "application/json";
  return s;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** A function the model may call (`parameters`: the JSON Schema of its arguments). */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface GenerateMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string;
  /** The calls an assistant turn made (sent back so the model sees its own earlier calls). */
  tool_calls?: ToolCall[];
  /** A tool turn: which call it answers and the tool's name. */
  tool_call_id?: string;
  name?: string;
}

export interface GenerateBody {
  model: string;
  messages: GenerateMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: string[];
  reasoning_effort?: string;
  thinking_budget_tokens?: number;
  include_thoughts?: boolean;
  json_mode?: boolean;
  json_schema?: Record<string, unknown>;
  tools?: ToolDefinition[];
}

export class SettingsError extends Error {}

/** The request body for the selected provider and model, sending only what that provider accepts. */
export function buildRequest(
  provider: ProviderId,
  model: string,
  messages: GenerateMessage[],
  s: Settings,
  tools: ToolDefinition[] = [],
): GenerateBody {
  const caps = capabilities(provider, model);
  if (!model.trim()) throw new SettingsError("Choose a model.");
  // a tool turn or an assistant turn that only made calls counts even without text
  const sendable = messages.filter(
    (m) => m.content.trim() !== "" || m.role === "tool" || m.tool_calls?.length,
  );
  if (!sendable.some((m) => m.role === "user")) throw new SettingsError("Add a user message.");
  const body: GenerateBody = { model: `${provider}/${model.trim()}`, messages: sendable };
  if (tools.length) body.tools = tools;
  if (caps.temperature && s.temperature !== undefined) body.temperature = s.temperature;
  if (caps.topP && s.topP !== undefined) body.top_p = s.topP;
  if (s.maxTokens !== undefined) body.max_tokens = s.maxTokens;
  const stop = s.stop.filter((x) => x !== "");
  if (stop.length) body.stop = stop.slice(0, 4);
  if (s.reasoningEffort && caps.reasoningEfforts.includes(s.reasoningEffort))
    body.reasoning_effort = s.reasoningEffort;
  if (caps.thinkingBudget && s.thinkingBudget !== undefined) {
    if (provider === "gemini" && body.reasoning_effort)
      throw new SettingsError(
        "Gemini takes a thinking budget or a reasoning effort (thinking level), not both.",
      );
    body.thinking_budget_tokens = s.thinkingBudget;
    if (caps.includeThoughts && s.includeThoughts !== undefined) body.include_thoughts = s.includeThoughts;
  }
  if (s.jsonSchema.trim()) {
    let schema: unknown;
    try {
      schema = JSON.parse(s.jsonSchema);
    } catch (e) {
      throw new SettingsError(`The JSON schema is not valid JSON: ${(e as Error).message}`);
    }
    if (!isObj(schema)) throw new SettingsError("The JSON schema must be a JSON object.");
    body.json_schema = schema;
    body.json_mode = true;
  } else if (s.jsonMode) {
    if (!caps.schemaLessJson) throw new SettingsError("Anthropic needs a JSON schema for structured output.");
    body.json_mode = true;
  }
  return body;
}

/** Short labels for the settings actually sent (chips above a run). */
export function settingChips(body: GenerateBody): string[] {
  const chips: string[] = [];
  if (body.temperature !== undefined) chips.push(`temperature ${body.temperature}`);
  if (body.top_p !== undefined) chips.push(`top_p ${body.top_p}`);
  if (body.max_tokens !== undefined) chips.push(`max tokens ${body.max_tokens}`);
  if (body.stop?.length) chips.push(`stop ×${body.stop.length}`);
  if (body.reasoning_effort) chips.push(`reasoning ${body.reasoning_effort}`);
  if (body.thinking_budget_tokens !== undefined) {
    const b = body.thinking_budget_tokens;
    chips.push(b === -1 ? "thinking adaptive" : b === 0 ? "thinking off" : `thinking ${b}`);
  }
  if (body.include_thoughts) chips.push("thoughts shown");
  if (body.json_schema) chips.push("JSON schema");
  else if (body.json_mode) chips.push("JSON mode");
  if (body.tools?.length) chips.push(`tools ×${body.tools.length}`);
  return chips;
}
