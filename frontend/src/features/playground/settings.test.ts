import { describe, expect, it } from "vitest";
import {
  bareModel,
  buildRequest,
  capabilities,
  EMPTY_SETTINGS,
  flattenParams,
  importSettings,
  providerFromSpan,
  settingChips,
  SettingsError,
  type Settings,
} from "./settings";

const user = [{ role: "user" as const, content: "hi" }];
const settings = (patch: Partial<Settings>): Settings => ({ ...EMPTY_SETTINGS, stop: [], ...patch });

describe("provider and model mapping", () => {
  it("maps recorded provider names to runnable providers (OTel google → gemini)", () => {
    expect(providerFromSpan("google")).toBe("gemini");
    expect(providerFromSpan("gcp.vertex_ai")).toBe("gemini");
    expect(providerFromSpan("OpenAI")).toBe("openai");
    expect(providerFromSpan("anthropic")).toBe("anthropic");
    expect(providerFromSpan("xai")).toBeUndefined();
    expect(providerFromSpan(undefined)).toBeUndefined();
  });

  it("strips Gemini's models/ and provider/ prefixes", () => {
    expect(bareModel("models/gemini-2.5-flash")).toBe("gemini-2.5-flash");
    expect(bareModel("openai/gpt-4o")).toBe("gpt-4o");
    expect(bareModel("ft:gpt-4o:org:abc")).toBe("ft:gpt-4o:org:abc");
  });

  it("offers temperature only where the provider/model accepts it", () => {
    expect(capabilities("openai", "gpt-4o-mini").temperature).toBe(true);
    expect(capabilities("openai", "o3-mini").temperature).toBe(false);
    expect(capabilities("openai", "gpt-5").reasoningEfforts).toContain("minimal");
    expect(capabilities("openai", "gpt-4o").reasoningEfforts).toEqual([]);
    expect(capabilities("anthropic", "claude-sonnet-5").temperature).toBe(false);
    expect(capabilities("gemini", "gemini-2.5-pro").thinkingBudget).toBe(true);
  });
});

describe("settings import from llm.invocation_parameters", () => {
  it("reads OpenAI params including a strict json_schema", () => {
    const p = flattenParams(
      JSON.stringify({
        temperature: 0.2,
        max_completion_tokens: 300,
        stop: "END",
        reasoning_effort: "low",
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "string" } } } },
        },
      }),
    );
    const s = importSettings(p, true);
    expect(s).toMatchObject({
      temperature: 0.2,
      maxTokens: 300,
      stop: ["END"],
      reasoningEffort: "low",
      jsonMode: true,
    });
    expect(JSON.parse(s.jsonSchema)).toEqual({ type: "object", properties: { a: { type: "string" } } });
  });

  it("reads Anthropic thinking and Gemini config/thinking_config", () => {
    expect(
      importSettings({ max_tokens: 8000, thinking: { type: "enabled", budget_tokens: 2048 } }, true),
    ).toMatchObject({ maxTokens: 8000, thinkingBudget: 2048 });
    expect(importSettings({ thinking: { type: "adaptive" } }, true).thinkingBudget).toBe(-1);
    const gemini = flattenParams({
      model: "gemini-2.5-flash",
      config: {
        temperature: 0.7,
        max_output_tokens: 99,
        thinking_config: { thinking_budget: 0, include_thoughts: false },
        response_mime_type: "application/json",
        response_json_schema: { type: "object" },
      },
    });
    expect(importSettings(gemini, true)).toMatchObject({
      temperature: 0.7,
      maxTokens: 99,
      thinkingBudget: 0,
      includeThoughts: false,
      jsonMode: true,
      jsonSchema: '{\n  "type": "object"\n}',
    });
  });

  it("imports only temperature when the target provider differs from the span's", () => {
    const s = importSettings(
      { temperature: 0.4, max_tokens: 10, thinking: { type: "enabled", budget_tokens: 2048 } },
      false,
    );
    expect(s).toEqual({ ...EMPTY_SETTINGS, stop: [], temperature: 0.4 });
  });
});

describe("importing a recorded output schema", () => {
  it("keeps the schema when the target provider is another one", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } } };
    const params = { response_format: { type: "json_schema", json_schema: { name: "o", schema } } };
    const s = importSettings(params, false);
    expect(JSON.parse(s.jsonSchema)).toEqual(schema);
    expect(s.jsonMode).toBe(true);
  });
});

describe("request building", () => {
  it("sends the offered tools and keeps turns that only call or answer tools", () => {
    const tool = { name: "get_weather", description: "", parameters: { type: "object" } };
    const messages = [
      { role: "user" as const, content: "Paris?" },
      {
        role: "assistant" as const,
        content: "",
        tool_calls: [{ id: "c1", name: "get_weather", arguments: { city: "Paris" } }],
      },
      { role: "tool" as const, content: "", tool_call_id: "c1", name: "get_weather" },
      { role: "user" as const, content: "  " },
    ];
    const body = buildRequest("openai", "gpt-4o-mini", messages, settings({}), [tool]);
    expect(body.tools).toEqual([tool]);
    expect(body.messages).toEqual(messages.slice(0, 3));
    expect(settingChips(body)).toContain("tools ×1");
    expect(buildRequest("openai", "gpt-4o-mini", messages, settings({})).tools).toBeUndefined();
  });

  it("sends only what the provider accepts", () => {
    const s = settings({
      temperature: 0.5,
      topP: 0.9,
      maxTokens: 100,
      stop: ["x", ""],
      reasoningEffort: "high",
      thinkingBudget: 2048,
      includeThoughts: true,
    });
    expect(buildRequest("openai", "gpt-4o-mini", user, s)).toEqual({
      model: "openai/gpt-4o-mini",
      messages: user,
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 100,
      stop: ["x"],
    });
    expect(buildRequest("openai", "o3", user, s)).toEqual({
      model: "openai/o3",
      messages: user,
      max_tokens: 100,
      stop: ["x"],
      reasoning_effort: "high",
    });
    expect(buildRequest("anthropic", "claude-opus-5", user, s)).toEqual({
      model: "anthropic/claude-opus-5",
      messages: user,
      max_tokens: 100,
      stop: ["x"],
      reasoning_effort: "high",
      thinking_budget_tokens: 2048,
      include_thoughts: true,
    });
  });

  it("refuses combinations the provider would reject, before calling", () => {
    expect(() =>
      buildRequest(
        "gemini",
        "gemini-2.5-pro",
        user,
        settings({ reasoningEffort: "low", thinkingBudget: 10 }),
      ),
    ).toThrow(SettingsError);
    expect(() => buildRequest("anthropic", "claude-opus-5", user, settings({ jsonMode: true }))).toThrow(
      /JSON schema/,
    );
    expect(() => buildRequest("openai", "gpt-4o", user, settings({ jsonSchema: "{not json" }))).toThrow(
      /not valid JSON/,
    );
    expect(() => buildRequest("openai", "", user, EMPTY_SETTINGS)).toThrow(/model/);
    expect(() =>
      buildRequest("openai", "gpt-4o", [{ role: "system", content: "only system" }], EMPTY_SETTINGS),
    ).toThrow(/user message/);
  });

  it("sends structured output as json_mode plus the parsed schema", () => {
    const body = buildRequest(
      "gemini",
      "gemini-2.5-flash",
      user,
      settings({ jsonSchema: '{"type":"object"}' }),
    );
    expect(body).toMatchObject({ json_mode: true, json_schema: { type: "object" } });
    expect(settingChips(body)).toEqual(["JSON schema"]);
    expect(
      settingChips(buildRequest("gemini", "g", user, settings({ thinkingBudget: -1, jsonMode: true }))),
    ).toEqual(["thinking adaptive", "JSON mode"]);
  });
});
