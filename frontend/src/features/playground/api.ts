/** Backend calls of the playground: the recorded span, provider model lists (cached server-side), generation. */
import { request, seg } from "../../api/client";
import type { Resp, Span } from "../../api/types";
import type { GenerateBody, ProviderId } from "./settings";

export type ModelList = Resp<"/llm/providers/{provider}/models", "get">;
export type ModelInfo = ModelList["models"][number];
export type GenerateResult = Resp<"/llm/generate", "post">;
export type ProviderStatus = Resp<"/llm/providers", "get">[number];

export const playgroundApi = {
  span: (traceId: string, spanId: string) =>
    request<Span | null>(`/api/v1/observability/traces/${seg(traceId)}/spans/${seg(spanId)}`),
  providers: () => request<ProviderStatus[]>("/llm/providers"),
  models: (provider: ProviderId) => request<ModelList>(`/llm/providers/${seg(provider)}/models`),
  refreshModels: (provider: ProviderId) =>
    request<ModelList>(`/llm/providers/${seg(provider)}/models/refresh`, { method: "POST" }),
  generate: (body: GenerateBody) => request<GenerateResult>("/llm/generate", { method: "POST", body }),
};
