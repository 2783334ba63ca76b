/**
 * Prompt playground: the recorded LLM call on the left (prompt, output, model, settings), the
 * controls on the right (provider, model, generation settings, structured output, editable
 * messages), and every run below, side by side, with its output, latency and token usage.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { ErrorBox, IdText, Loading, PageHeader } from "../../components/ui";
import { formatDurationMicros } from "../../lib/time";
import type { Span } from "../../api/types";
import { playgroundApi, type GenerateResult } from "./api";
import { originalCall, type OriginalCall } from "./original";
import {
  buildRequest,
  capabilities,
  importSettings,
  PROVIDERS,
  settingChips,
  type GenerateBody,
  type GenerateMessage,
  type ProviderId,
  type Settings,
  type ToolDefinition,
} from "./settings";
import "./playground.css";

interface Run {
  n: number;
  body: GenerateBody;
  result?: GenerateResult;
  error?: string;
}

export default function PlaygroundPage() {
  const { service = "", traceId = "", spanId = "" } = useParams();
  const span = useQuery({
    queryKey: ["span", traceId, spanId],
    queryFn: () => playgroundApi.span(traceId, spanId),
    staleTime: 60_000,
  });
  const svc = encodeURIComponent(service);
  return (
    <div className="page">
      <PageHeader
        crumbs={
          <>
            <Link to="/">Services</Link> → <Link to={`/traces/${svc}`}>{service}</Link> →{" "}
            <Link to={`/traces/${svc}/${encodeURIComponent(traceId)}/${encodeURIComponent(spanId)}`}>
              Trace
            </Link>{" "}
            → Playground
          </>
        }
        title="Prompt playground"
        sub={<IdText id={spanId} />}
      />
      {span.isLoading ? (
        <Loading label="Loading span…" />
      ) : span.error ? (
        <ErrorBox error={span.error} title="Error loading span" />
      ) : span.data ? (
        <Playground span={span.data} />
      ) : (
        <p className="muted">This span was not found.</p>
      )}
    </div>
  );
}

function Playground({ span }: { span: Span }) {
  const original = useMemo(() => originalCall(span), [span]);
  const [provider, setProvider] = useState<ProviderId>(original.provider ?? "openai");
  const [model, setModel] = useState(original.provider ? original.model : "");
  const [settings, setSettings] = useState<Settings>(() =>
    importSettings(original.params, original.provider !== undefined),
  );
  const [messages, setMessages] = useState<GenerateMessage[]>(
    original.messages.length ? original.messages : [{ role: "user", content: "" }],
  );
  const [tools, setTools] = useState(() => original.tools.map((tool) => ({ tool, on: true })));
  const [runs, setRuns] = useState<Run[]>([]);
  const [formError, setFormError] = useState<string | null>(null);

  const changeProvider = (next: ProviderId) => {
    const same = next === original.provider;
    setProvider(next);
    setModel(same ? original.model : "");
    setSettings(importSettings(original.params, same));
    setFormError(null);
  };

  const generate = useMutation({
    mutationFn: (body: GenerateBody) => playgroundApi.generate(body),
  });
  const providers = useQuery({
    queryKey: ["llm-providers"],
    queryFn: playgroundApi.providers,
    staleTime: 60_000,
  });
  const status = providers.data?.find((p) => p.id === provider);
  const unconfigured = status !== undefined && !status.configured;
  const running = generate.isPending;

  const run = () => {
    let body: GenerateBody;
    try {
      const offered = tools.filter((t) => t.on).map((t) => t.tool);
      body = buildRequest(provider, model, messages, settings, offered);
    } catch (e) {
      setFormError((e as Error).message);
      return;
    }
    setFormError(null);
    const n = (runs.at(-1)?.n ?? 0) + 1;
    setRuns((rs) => [...rs, { n, body }]);
    generate.mutate(body, {
      onSuccess: (result) => setRuns((rs) => rs.map((r) => (r.n === n ? { ...r, result } : r))),
      onError: (e) => setRuns((rs) => rs.map((r) => (r.n === n ? { ...r, error: (e as Error).message } : r))),
    });
  };

  return (
    <>
      <div className="pg-layout">
        <OriginalPanel original={original} />
        <section className="panel pg-controls" aria-label="Playground controls">
          <h2>Run</h2>
          <div className="pg-row">
            <label>
              Provider
              <select
                aria-label="Provider"
                value={provider}
                onChange={(e) => changeProvider(e.target.value as ProviderId)}
              >
                {PROVIDERS.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label}
                  </option>
                ))}
              </select>
            </label>
            <ModelPicker provider={provider} model={model} onChange={setModel} />
          </div>
          <SettingsForm provider={provider} model={model} settings={settings} onChange={setSettings} />
          <MessagesEditor messages={messages} onChange={setMessages} />
          {tools.length ? <ToolsEditor tools={tools} onChange={setTools} /> : null}
          <div className="row gap">
            <button
              type="button"
              className="btn btn-primary"
              onClick={run}
              disabled={running || unconfigured}
              title={unconfigured ? `${status?.env_var} is not set on the server` : undefined}
            >
              {running ? "Running…" : runs.length ? "Run again" : "Run"}
            </button>
            {runs.length ? (
              <button type="button" className="btn btn-ghost" onClick={() => setRuns([])} disabled={running}>
                Clear runs
              </button>
            ) : null}
          </div>
          {unconfigured && status ? <ProviderSetup envVar={status.env_var} /> : null}
          {formError ? (
            <div className="alert alert-error" role="alert">
              {formError}
            </div>
          ) : null}
        </section>
      </div>
      {runs.length ? <Runs runs={runs} original={original} /> : null}
    </>
  );
}

/** What to do when the chosen provider has no API key on the server. */
function ProviderSetup({ envVar }: { envVar: string }) {
  return (
    <div className="alert alert-warn" role="status" aria-label="Provider setup">
      <strong>This provider has no API key on the server.</strong> To run it:
      <ol className="setup-steps">
        <li>
          Add <code>{envVar}=…</code> to the <code>.env</code> the backend reads (the project root for{" "}
          <code>make run</code>, beside <code>docker-compose.yml</code> in a deployment).
        </li>
        <li>
          Restart the backend (<code>make run</code> again, or <code>docker compose up -d backend</code>).
        </li>
      </ol>
      The key stays on the server; the browser never sees it.
    </div>
  );
}

function OriginalPanel({ original }: { original: OriginalCall }) {
  const chips = Object.entries(original.params)
    .filter(
      ([k, v]) => k !== "model" && (typeof v === "number" || typeof v === "string" || typeof v === "boolean"),
    )
    .map(([k, v]) => `${k} ${String(v)}`);
  return (
    <section className="panel pg-original" aria-label="Original call">
      <h2>Original</h2>
      <p className="llm-meta">
        <strong>
          {original.providerLabel ?? "unknown provider"} / {original.model || "unknown model"}
        </strong>
        {original.mimeType ? <span className="badge">{original.mimeType}</span> : null}
        {original.provider ? null : <span className="badge">not runnable here: pick a provider</span>}
      </p>
      {chips.length ? (
        <div className="pg-chips" aria-label="Original settings">
          {chips.map((c) => (
            <span key={c} className="badge">
              {c}
            </span>
          ))}
        </div>
      ) : null}
      <h4>Prompt</h4>
      {original.messages.length ? (
        original.messages.map((m, i) => (
          <div key={i} className="pg-msg">
            <span className="muted small">{m.role}</span>
            <pre>{m.content}</pre>
          </div>
        ))
      ) : (
        <p className="muted">No prompt recorded.</p>
      )}
      <h4>
        Output <span className="muted small">· {formatDurationMicros(original.durationMicros)}</span>
        {original.tokens ? (
          <span className="muted small">
            {" "}
            · {original.tokens.prompt ?? "?"} in / {original.tokens.completion ?? "?"} out tokens
          </span>
        ) : null}
      </h4>
      <pre className="pg-output" aria-label="Original output">
        {original.output || "No output recorded."}
      </pre>
    </section>
  );
}

function ModelPicker({
  provider,
  model,
  onChange,
}: {
  provider: ProviderId;
  model: string;
  onChange: (m: string) => void;
}) {
  const client = useQueryClient();
  const key = ["llm-models", provider];
  const models = useQuery({
    queryKey: key,
    queryFn: () => playgroundApi.models(provider),
    staleTime: 5 * 60_000,
    retry: false,
  });
  const refresh = useMutation({
    mutationFn: () => playgroundApi.refreshModels(provider),
    onSuccess: (data) => client.setQueryData(key, data),
  });
  const listId = `pg-models-${provider}`;
  const list = models.data?.models ?? [];
  const prefix = `${provider}/`;
  const current = list.find((m) => m.id === prefix + model);
  return (
    <div className="pg-model grow">
      <label>
        Model
        <div className="row gap">
          <input
            aria-label="Model"
            list={listId}
            value={model}
            placeholder="model name"
            onChange={(e) => onChange(e.target.value.trim())}
            className="grow"
          />
          <button
            type="button"
            className="btn btn-xs"
            onClick={() => refresh.mutate()}
            disabled={refresh.isPending}
            aria-label="Refresh models"
          >
            {refresh.isPending ? "…" : "↻"}
          </button>
        </div>
      </label>
      <datalist id={listId}>
        {list.map((m) => (
          <option key={m.id} value={m.id.slice(prefix.length)}>
            {m.display_name}
          </option>
        ))}
      </datalist>
      <div className="muted small" aria-live="polite">
        {models.isLoading
          ? "Loading models…"
          : models.error || refresh.error
            ? null
            : `${list.length} models${current ? ` · ${[current.supports_reasoning && "reasoning", current.supports_vision && "vision", current.max_tokens && `max ${current.max_tokens} tokens`].filter(Boolean).join(" · ")}` : ""}`}
      </div>
      <ErrorBox error={models.error ?? refresh.error} />
    </div>
  );
}

function numberOrUndefined(v: string): number | undefined {
  if (v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function SettingsForm({
  provider,
  model,
  settings,
  onChange,
}: {
  provider: ProviderId;
  model: string;
  settings: Settings;
  onChange: (s: Settings) => void;
}) {
  const caps = capabilities(provider, model);
  const set = (patch: Partial<Settings>) => onChange({ ...settings, ...patch });
  return (
    <fieldset className="pg-settings" aria-label="Generation settings">
      <legend>Settings</legend>
      <div className="pg-grid">
        {caps.temperature ? (
          <label>
            Temperature
            <input
              type="number"
              min={0}
              max={2}
              step={0.1}
              value={settings.temperature ?? ""}
              placeholder="provider default"
              onChange={(e) => set({ temperature: numberOrUndefined(e.target.value) })}
            />
          </label>
        ) : null}
        {caps.topP ? (
          <label>
            Top P
            <input
              type="number"
              min={0}
              max={1}
              step={0.05}
              value={settings.topP ?? ""}
              placeholder="provider default"
              onChange={(e) => set({ topP: numberOrUndefined(e.target.value) })}
            />
          </label>
        ) : null}
        <label>
          Max tokens
          <input
            type="number"
            min={1}
            step={1}
            value={settings.maxTokens ?? ""}
            placeholder="provider default"
            onChange={(e) => set({ maxTokens: numberOrUndefined(e.target.value) })}
          />
        </label>
        {caps.reasoningEfforts.length ? (
          <label>
            {provider === "gemini" ? "Thinking level" : "Reasoning effort"}
            <select
              value={settings.reasoningEffort ?? ""}
              onChange={(e) => set({ reasoningEffort: e.target.value || undefined })}
            >
              <option value="">default</option>
              {caps.reasoningEfforts.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {caps.thinkingBudget ? (
          <label
            title={
              provider === "anthropic" ? "-1 adaptive, 0 off, ≥ 1024 tokens" : "-1 dynamic, 0 off, N tokens"
            }
          >
            Thinking budget
            <input
              type="number"
              min={-1}
              step={1}
              value={settings.thinkingBudget ?? ""}
              placeholder={provider === "anthropic" ? "-1, 0 or ≥ 1024" : "-1, 0 or N"}
              onChange={(e) => set({ thinkingBudget: numberOrUndefined(e.target.value) })}
            />
          </label>
        ) : null}
      </div>
      {!caps.temperature ? (
        <p className="muted small">
          {provider === "anthropic"
            ? "Anthropic's Messages API no longer accepts temperature or top P; they are not sent."
            : "Reasoning models run at the default temperature and top P; they are not sent."}
        </p>
      ) : null}
      <label>
        Stop sequences (one per line, up to 4)
        <textarea
          rows={2}
          value={settings.stop.join("\n")}
          onChange={(e) => set({ stop: e.target.value.split("\n").slice(0, 4) })}
        />
      </label>
      {caps.includeThoughts && settings.thinkingBudget !== undefined ? (
        <label className="check">
          <input
            type="checkbox"
            checked={settings.includeThoughts ?? false}
            onChange={(e) => set({ includeThoughts: e.target.checked })}
          />{" "}
          Include thoughts
        </label>
      ) : null}
      <label className="check">
        <input
          type="checkbox"
          checked={settings.jsonMode || settings.jsonSchema.trim() !== ""}
          onChange={(e) =>
            set({ jsonMode: e.target.checked, jsonSchema: e.target.checked ? settings.jsonSchema : "" })
          }
        />{" "}
        Structured output (JSON)
      </label>
      {settings.jsonMode || settings.jsonSchema.trim() ? (
        <label>
          JSON schema{" "}
          {caps.schemaLessJson ? "(optional: empty = schema-less JSON mode)" : "(required by Anthropic)"}
          <textarea
            className="mono"
            rows={6}
            value={settings.jsonSchema}
            onChange={(e) => set({ jsonSchema: e.target.value })}
            placeholder='{"type": "object", "properties": {…}}'
          />
        </label>
      ) : null}
    </fieldset>
  );
}

/** The functions offered to the model, each sent or not; their calls come back unrun. */
function ToolsEditor({
  tools,
  onChange,
}: {
  tools: { tool: ToolDefinition; on: boolean }[];
  onChange: (t: { tool: ToolDefinition; on: boolean }[]) => void;
}) {
  return (
    <fieldset className="pg-tools" aria-label="Tools">
      <legend>Tools</legend>
      {tools.map(({ tool, on }, i) => (
        <div key={tool.name} className="pg-tool">
          <label className="row gap">
            <input
              type="checkbox"
              checked={on}
              aria-label={`Offer ${tool.name}`}
              onChange={(e) => onChange(tools.map((t, j) => (j === i ? { ...t, on: e.target.checked } : t)))}
            />
            <code>{tool.name}</code>
            <span className="muted small">{tool.description}</span>
          </label>
          <details>
            <summary className="muted small">Arguments schema</summary>
            <pre className="pg-output">{JSON.stringify(tool.parameters, null, 2)}</pre>
          </details>
        </div>
      ))}
      <p className="muted small">
        The model's calls are shown with its answer; the playground never runs them.
      </p>
    </fieldset>
  );
}

function ToolCalls({
  calls,
  label,
}: {
  calls: { id: string; name: string; arguments?: Record<string, unknown> }[];
  label: string;
}) {
  return (
    <ul className="pg-tool-calls" aria-label={label}>
      {calls.map((c) => (
        <li key={c.id}>
          <code>{c.name}</code> <span className="muted small">{c.id}</span>
          <pre className="pg-output">{JSON.stringify(c.arguments ?? {}, null, 2)}</pre>
        </li>
      ))}
    </ul>
  );
}

function MessagesEditor({
  messages,
  onChange,
}: {
  messages: GenerateMessage[];
  onChange: (m: GenerateMessage[]) => void;
}) {
  const update = (i: number, patch: Partial<GenerateMessage>) =>
    onChange(messages.map((m, j) => (j === i ? { ...m, ...patch } : m)));
  return (
    <fieldset className="pg-messages" aria-label="Messages">
      <legend>Messages</legend>
      {messages.map((m, i) => (
        <div key={i} className="pg-edit-msg">
          <div className="row gap">
            {m.role === "tool" ? (
              <span className="badge" aria-label={`Role of message ${i + 1}`}>
                tool result · {m.name} · {m.tool_call_id}
              </span>
            ) : (
              <select
                aria-label={`Role of message ${i + 1}`}
                value={m.role}
                onChange={(e) => {
                  const next = e.target.value as GenerateMessage["role"];
                  // only an assistant turn carries tool calls
                  update(i, { role: next, tool_calls: next === "assistant" ? m.tool_calls : undefined });
                }}
              >
                {["system", "developer", "user", "assistant"].map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            )}
            <button
              type="button"
              className="btn btn-ghost btn-xs"
              aria-label={`Remove message ${i + 1}`}
              onClick={() => onChange(messages.filter((_, j) => j !== i))}
              disabled={messages.length === 1}
            >
              Remove
            </button>
          </div>
          <textarea
            aria-label={`Message ${i + 1}`}
            rows={Math.min(12, Math.max(3, m.content.split("\n").length + 1))}
            value={m.content}
            onChange={(e) => update(i, { content: e.target.value })}
          />
          {m.tool_calls?.length ? (
            <ToolCalls calls={m.tool_calls} label={`Tool calls of message ${i + 1}`} />
          ) : null}
        </div>
      ))}
      <button
        type="button"
        className="btn btn-xs"
        onClick={() => onChange([...messages, { role: "user", content: "" }])}
      >
        + Add message
      </button>
    </fieldset>
  );
}

function Runs({ runs, original }: { runs: Run[]; original: OriginalCall }) {
  return (
    <section aria-label="Runs">
      <h2>Runs · side by side</h2>
      <div className="pg-runs">
        <article className="panel pg-run" aria-label="Original output column">
          <header>
            <strong>Original</strong> <span className="muted small">{original.model}</span>
          </header>
          <pre className="pg-output">{original.output || "No output recorded."}</pre>
        </article>
        {runs.map((r) => (
          <RunCard key={r.n} run={r} />
        ))}
      </div>
    </section>
  );
}

function RunCard({ run }: { run: Run }) {
  const res = run.result;
  const usage = res?.usage;
  const choice = res?.choices[0];
  return (
    <article className="panel pg-run" aria-label={`Run ${run.n}`}>
      <header>
        <strong>Run {run.n}</strong> <span className="muted small">{run.body.model}</span>
      </header>
      <div className="pg-chips">
        {settingChips(run.body).map((c) => (
          <span key={c} className="badge">
            {c}
          </span>
        ))}
      </div>
      {run.error ? (
        <div className="alert alert-error" role="alert">
          {run.error}
        </div>
      ) : !res ? (
        <Loading label="Running…" />
      ) : (
        <>
          <div className="muted small pg-stats">
            <span aria-label={`Latency of run ${run.n}`}>
              {Math.round(res.latency_ms).toLocaleString()} ms
            </span>
            {usage ? (
              <span aria-label={`Token usage of run ${run.n}`}>
                {usage.prompt_tokens} in / {usage.completion_tokens} out
                {usage.reasoning_tokens ? ` (${usage.reasoning_tokens} reasoning)` : ""} ·{" "}
                {usage.total_tokens} total
              </span>
            ) : null}
            {choice?.finish_reason ? <span>finish: {choice.finish_reason}</span> : null}
            <span>{res.model}</span>
          </div>
          {res.reasoning_content ? (
            <details>
              <summary className="muted small">Reasoning</summary>
              <pre className="pg-output">{res.reasoning_content}</pre>
            </details>
          ) : null}
          <pre className="pg-output" aria-label={`Output of run ${run.n}`}>
            {choice?.message.content ?? ""}
          </pre>
          {choice?.message.tool_calls?.length ? (
            <ToolCalls calls={choice.message.tool_calls} label={`Tool calls of run ${run.n}`} />
          ) : null}
        </>
      )}
    </article>
  );
}
