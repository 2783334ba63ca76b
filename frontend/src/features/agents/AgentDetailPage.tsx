/**
 * One Agent execution: what it was asked and answered, which limit it hit, what it cost, every
 * model request and Tool call in sequence order, and its state revisions replayed by the backend.
 * Built from one trace-evidence call. Every selection is in the URL (`?op=`, `?store=&rev=`), so
 * any view is a shareable link; `?focus=failure` (the failure link) opens the failing operation.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, type ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import type { Span } from "../../api/types";
import { ErrorBox, IdText, Loading, PageHeader, useDocumentTitle } from "../../components/ui";
import { JsonView } from "../../components/JsonView";
import { formatDurationMicros, spanDurationMicros } from "../../lib/time";
import { LlmMessages } from "../trace/LlmMessages";
import { playgroundPath } from "../playground/OpenInPlayground";
import {
  agentView,
  needsBanner,
  nonFullPayloads,
  type AgentView,
  type ModelOperation,
  type Operation,
  type StoreEntry,
  type TimelineEntry,
  type ToolOperation,
} from "./evidence";
import { CandidateView, OutcomePill, PayloadView, countOf, tokens } from "./parts";
import { Timestamp } from "../../components/Timestamp";
import { traceEvidenceQuery } from "./queries";
import { buildSpanTree } from "../trace/tree";
import { formatUsd, subtreeUsage } from "../trace/usage";
import "./agents.css";

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

export default function AgentDetailPage() {
  const { traceId = "", agentSpanId = "" } = useParams();
  const valid = HEX32.test(traceId) && HEX16.test(agentSpanId);
  const evidence = useQuery({ ...traceEvidenceQuery(traceId), enabled: valid });
  const view = useMemo(
    () => (evidence.data ? agentView(evidence.data, agentSpanId) : undefined),
    [evidence.data, agentSpanId],
  );
  useDocumentTitle(view ? `${view.agent.name} · Agent` : "Agent execution");
  const crumbs = (
    <>
      <Link to="/agents">Agents</Link> <span aria-hidden>→</span> <span>Execution</span>
    </>
  );
  if (!valid)
    return (
      <div className="page">
        <PageHeader title="Agent execution" crumbs={crumbs} />
        <ErrorBox error="An Agent link needs a 32-character trace id and a 16-character span id (lowercase hex)." />
      </div>
    );
  return (
    <div className="page agent-page">
      {evidence.isLoading ? (
        <>
          <PageHeader title="Agent execution" crumbs={crumbs} />
          <Loading label="Loading the execution…" />
        </>
      ) : evidence.error ? (
        <>
          <PageHeader title="Agent execution" crumbs={crumbs} />
          <ErrorBox error={evidence.error} title="Cannot load this trace" />
        </>
      ) : view ? (
        <AgentExecutionView view={view} crumbs={crumbs} />
      ) : (
        <>
          <PageHeader title="Agent execution" crumbs={crumbs} />
          <p className="muted">This trace has no Junjo Agent execution with span id {agentSpanId}.</p>
        </>
      )}
    </div>
  );
}

export function AgentExecutionView({ view, crumbs }: { view: AgentView; crumbs?: ReactNode }) {
  const { agent, span } = view;
  const s = agent.summary;
  const svc = encodeURIComponent(span.service_name);
  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title={
          <>
            {agent.name} <OutcomePill outcome={s.outcome} />
          </>
        }
        sub={
          <span className="row gap small">
            <code>{s.agent_key}</code>
            <span className="muted">
              {s.service.namespace ? `${s.service.namespace}/` : ""}
              {s.service.name}
              {s.service.version ? ` ${s.service.version}` : ""}
            </span>
            <span className="muted">run</span> <IdText id={agent.runtime_id ?? "?"} />
          </span>
        }
        actions={<Link to={`/traces/${svc}/${span.trace_id}/${span.span_id}`}>Raw trace →</Link>}
      />
      <Header view={view} />
      <IntegrityBanner view={view} />
      <VerificationCard view={view} />
      <ParentCard view={view} />
      <Failure view={view} />
      <Payloads view={view} />
      <Timeline view={view} />
      <StateRevisions view={view} />
      <Usage view={view} />
    </>
  );
}

function Tile({ label, children, tone }: { label: string; children: ReactNode; tone?: string }) {
  return (
    <div className={`tile ${tone ? `tile-${tone}` : ""}`}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{children}</div>
    </div>
  );
}

function Header({ view }: { view: AgentView }) {
  const s = view.agent.summary;
  const tc = s.counts.tool_calls;
  const total = s.usage.fields.totalTokens?.sum;
  const limitHit = view.agent.limit.exceeded;
  // Cost: the run's model requests (its subtree's LLM calls), priced by the backend per call.
  const cost = useMemo(() => subtreeUsage(buildSpanTree(view.spans), view.span.span_id), [view]);
  return (
    <section aria-label="Summary" className="tiles">
      <Tile
        label="Termination"
        tone={s.outcome === "completed" ? "ok" : s.outcome === "failed" ? "error" : undefined}
      >
        {s.termination_reason ?? "—"}
      </Tile>
      <Tile label="Duration">{formatDurationMicros(spanDurationMicros(view.span))}</Tile>
      <Tile label="Model requests" tone={limitHit === "model_requests" ? "error" : undefined}>
        {countOf(s.counts.model_requests, s.limits.model_requests)}
      </Tile>
      <Tile label="Tool calls" tone={limitHit === "tool_calls" ? "error" : undefined}>
        {countOf(tc.requested, s.limits.tool_calls)}
        <div className="muted small">
          admitted {tc.admitted ?? "—"} · started {tc.started ?? "—"} · completed {tc.completed ?? "—"}
        </div>
      </Tile>
      <Tile label="Tokens">
        {tokens(total)}
        <div className="muted small">
          in {tokens(s.usage.fields.inputTokens?.sum)} · out {tokens(s.usage.fields.outputTokens?.sum)}
        </div>
      </Tile>
      <Tile label="Cost">
        {cost.calls === 0 ? "—" : cost.calls === cost.unpriced ? "price unknown" : formatUsd(cost.costUsd)}
        <div className="muted small">
          {cost.calls} LLM call{cost.calls === 1 ? "" : "s"}
          {cost.unpriced && cost.unpriced !== cost.calls ? ` · ${cost.unpriced} price unknown` : ""}
        </div>
      </Tile>
      <Tile label="Started">
        <Timestamp iso={view.span.start_time} />
      </Tile>
      {limitHit ? (
        <Tile label="Limit exceeded" tone="error">
          {limitHit}
          <div className="muted small">
            attempted {view.agent.limit.attempted_count ?? "—"}
            {view.agent.limit.requested_batch_size
              ? ` (batch of ${view.agent.limit.requested_batch_size})`
              : ""}
          </div>
        </Tile>
      ) : null}
    </section>
  );
}

function IntegrityBanner({ view }: { view: AgentView }) {
  if (!needsBanner(view)) return null;
  const losses = Object.entries(view.agent.integrity.loss_counts).filter(([, n]) => n > 0);
  const payloads = nonFullPayloads(view);
  return (
    <section className="alert alert-warn integrity" role="status" aria-label="Evidence integrity">
      <strong>
        Evidence is {view.agent.integrity.status === "complete" ? "complete, with caveats" : "partial"}.
      </strong>
      <ul>
        {view.agent.integrity.diagnostics.map((d, i) => (
          <li key={`d${i}`}>
            <code>{d.code}</code> {d.message} {d.path ? <span className="muted">at {d.path}</span> : null}
          </li>
        ))}
        {view.traceDiagnostics
          .filter((d) => d.scope === "trace")
          .map((d, i) => (
            <li key={`t${i}`}>
              <code>{d.issue.code}</code> {d.issue.message}
            </li>
          ))}
        {payloads.map((p) => (
          <li key={p.where}>
            {p.where}: payload mode <code>{p.mode}</code>
            {p.reason ? ` (${p.reason})` : ""}
          </li>
        ))}
        {view.stores.map((st) => (
          <li key={st.store_id}>
            {st.role === "application" ? "Application Store" : "Agent state"}: backend replay{" "}
            <code>{st.detail.reconstruction_status}</code>, producer claims reconstructable{" "}
            <code>{String(st.detail.reconstructable_claimed)}</code>
          </li>
        ))}
        {losses.map(([k, n]) => (
          <li key={k}>
            Dropped by the SDK before export: {k.replaceAll("_", " ")} = {n}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The backend's rule-by-rule check of this run: quiet when every rule passed, open when one failed. */
function VerificationCard({ view }: { view: AgentView }) {
  const { verification } = view.agent;
  const failed = verification.rules.filter((r) => r.status === "failed");
  const skipped = verification.rules.filter((r) => r.status === "skipped");
  const tone = verification.status === "passed" ? "ok" : "error";
  return (
    <section className="card verification" aria-label="Verification">
      <details open={failed.length > 0}>
        <summary>
          <span className={`pill pill-${tone}`}>
            {verification.status === "passed" ? "Verified" : "Verification failed"}
          </span>{" "}
          {failed.length
            ? `${failed.length} of ${verification.rules.length} rules failed: ${failed.map((r) => r.title).join("; ")}`
            : `${verification.rules.length - skipped.length} of ${verification.rules.length} rules passed`}
          {skipped.length ? <span className="muted"> · {skipped.length} skipped</span> : null}
        </summary>
        <ul className="rules">
          {verification.rules.map((r) => (
            <li key={r.rule} data-rule={r.rule} data-status={r.status}>
              <span
                className={`pill ${r.status === "passed" ? "pill-ok" : r.status === "failed" ? "pill-error" : ""}`}
              >
                {r.status}
              </span>{" "}
              {r.title}
              {r.reason ? <span className="muted"> — {r.reason}</span> : null}
              {r.diagnostics.length ? (
                <ul>
                  {r.diagnostics.map((d, i) => (
                    <li key={i}>
                      <code>{d.code}</code> {d.message}{" "}
                      {d.path ? <span className="muted">at {d.path}</span> : null}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}

function ParentCard({ view }: { view: AgentView }) {
  const { parent, nested } = view.relationships;
  if (!parent && !nested.length) return null;
  const svc = encodeURIComponent(view.span.service_name);
  const wf = parent?.workflow;
  return (
    <section className="card" aria-label="Relationships">
      {parent ? (
        <p>
          Run by {parent.executable_type} <strong>{parent.name ?? parent.runtime_id}</strong>
          {wf ? (
            <>
              {" "}
              in {wf.executable_type}{" "}
              <Link
                to={`/workflows/${svc}/${wf.trace_id}/${wf.span_id}${parent.span_id ? `/${parent.span_id}` : ""}`}
              >
                {wf.name}
              </Link>
            </>
          ) : parent.span_id ? (
            <>
              {" "}
              <Link to={`/traces/${svc}/${view.span.trace_id}/${parent.span_id}`}>(span)</Link>
            </>
          ) : (
            <span className="muted"> (not found in this trace)</span>
          )}
        </p>
      ) : null}
      {nested.length ? (
        <>
          <h3>Nested executables</h3>
          <ul>
            {nested.map((n) => (
              <li key={n.span_id}>
                {n.executable_type}{" "}
                <Link
                  to={
                    n.executable_type === "agent"
                      ? `/agents/${n.trace_id}/${n.span_id}`
                      : `/workflows/${svc}/${n.trace_id}/${n.span_id}`
                  }
                >
                  {n.name}
                </Link>{" "}
                <span className="muted">from operation {n.parent_operation_sequence}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function Failure({ view }: { view: AgentView }) {
  const { error, cancellation } = view.agent;
  if (cancellation)
    return (
      <section className="alert alert-warn" aria-label="Cancellation">
        <strong>Execution cancelled</strong> {cancellation.reason ?? ""}
      </section>
    );
  if (!error) return null;
  return (
    <section className="alert alert-error failure" aria-label="Error">
      <strong>{error.type ?? "Error"}</strong>: {error.message}
      {error.stacktrace ? (
        <details>
          <summary>Stack trace</summary>
          <pre className="mono small">{error.stacktrace}</pre>
        </details>
      ) : null}
    </section>
  );
}

function Payloads({ view }: { view: AgentView }) {
  const a = view.agent;
  const definition = a.definition?.value as
    | {
        instructions?: string;
        tools?: { name: string; description?: string; inputSchema?: unknown; outputSchema?: unknown }[];
        outputSchema?: unknown;
        limits?: unknown;
        model?: unknown;
      }
    | undefined;
  return (
    <section aria-label="Input and output" className="io">
      <div className="io-col">
        <h2>Input</h2>
        {a.input ? <PayloadView payload={a.input} label="Agent input" /> : null}
        {a.input_candidate ? (
          <>
            <h3>Rejected input</h3>
            <CandidateView candidate={a.input_candidate} label="Rejected input" />
          </>
        ) : null}
        {a.history_candidate ? (
          <>
            <h3>Rejected history</h3>
            <CandidateView candidate={a.history_candidate} label="Rejected history" />
          </>
        ) : null}
        {!a.input && !a.input_candidate ? <p className="muted small">Not recorded.</p> : null}
      </div>
      <div className="io-col">
        <h2>Final output</h2>
        {a.output ? (
          <PayloadView payload={a.output} label="Agent output" />
        ) : (
          <p className="muted small">No final output ({a.summary.termination_reason ?? "unknown reason"}).</p>
        )}
      </div>
      <details className="definition">
        <summary>Definition snapshot</summary>
        {definition ? (
          <div>
            <h3>Instructions</h3>
            <pre className="instructions">{definition.instructions}</pre>
            <h3>Tools</h3>
            {(definition.tools ?? []).map((t) => (
              <details key={t.name} className="tool-def">
                <summary>
                  <code>{t.name}</code> <span className="muted">{t.description}</span>
                </summary>
                <JsonView
                  value={{ inputSchema: t.inputSchema, outputSchema: t.outputSchema }}
                  label={`${t.name} schemas`}
                />
              </details>
            ))}
            <h3>Output schema</h3>
            <JsonView value={definition.outputSchema} label="Output schema" />
            <h3>Model and limits</h3>
            <JsonView
              value={{ model: definition.model, limits: definition.limits }}
              label="Model and limits"
            />
          </div>
        ) : (
          <PayloadView payload={a.definition} label="Definition" />
        )}
      </details>
    </section>
  );
}

function opLabel(op: Operation): string {
  return op.operation_type === "model_request"
    ? `Model request ${op.ordinal ?? ""}`
    : `Tool ${op.tool_name ?? "?"}`;
}

function entryId(e: TimelineEntry): string {
  return e.kind === "operation" ? String(e.op.sequence ?? e.op.span_id) : `call-${e.call.call_id ?? "?"}`;
}

function Timeline({ view }: { view: AgentView }) {
  const [params, setParams] = useSearchParams();
  const focusFailure = params.get("focus") === "failure";
  const failing = view.timeline.find((e) => e.kind === "operation" && e.op.outcome !== "completed");
  const selectedId = params.get("op") ?? (focusFailure && failing ? entryId(failing) : undefined);
  const selected = view.timeline.find((e) => entryId(e) === selectedId) ?? view.timeline[0];
  const select = (e: TimelineEntry) => {
    const next = new URLSearchParams(params);
    next.set("op", entryId(e));
    next.delete("focus");
    setParams(next, { replace: true });
  };
  useEffect(() => {
    if (focusFailure) document.getElementById("operations")?.scrollIntoView();
  }, [focusFailure]);
  if (!view.timeline.length)
    return (
      <section id="operations" aria-label="Operations">
        <h2>Operations</h2>
        <p className="muted">No model request or Tool call ran.</p>
      </section>
    );
  return (
    <section id="operations" aria-label="Operations">
      <h2>Operations</h2>
      <div className="rail-layout">
        <ol className="rail" aria-label="Operation timeline">
          {view.timeline.map((e) => {
            const active = selected && entryId(selected) === entryId(e);
            const failed = e.kind === "operation" && e.op.outcome !== "completed";
            return (
              <li key={e.key}>
                <button
                  type="button"
                  className={`rail-item ${active ? "active" : ""} ${failed ? "failed" : ""} ${e.kind === "unstarted" ? "unstarted" : ""}`}
                  aria-current={active ? "true" : undefined}
                  onClick={() => select(e)}
                >
                  {e.kind === "operation" ? (
                    <>
                      <span className="seq">{e.op.sequence}</span>
                      <span className={`kind kind-${e.op.operation_type}`}>
                        {e.op.operation_type === "tool" ? "Tool" : "Model"}
                      </span>
                      <span className="grow">
                        {e.op.operation_type === "tool" ? e.op.tool_name : `request ${e.op.ordinal ?? ""}`}
                      </span>
                      <span className="muted small">{formatDurationMicros(spanDurationMicros(e.op))}</span>
                    </>
                  ) : (
                    <>
                      <span className="seq">·</span>
                      <span className="kind kind-unstarted">Call</span>
                      <span className="grow">{e.call.tool_name}</span>
                      <span className="small">
                        {e.call.admission === "admitted"
                          ? "admitted, never started"
                          : e.call.admission.replace("_", " ")}
                      </span>
                    </>
                  )}
                </button>
              </li>
            );
          })}
        </ol>
        <div className="inspector" aria-label="Operation details">
          {selected ? (
            selected.kind === "operation" ? (
              selected.op.operation_type === "model_request" ? (
                <ModelInspector op={selected.op} view={view} />
              ) : (
                <ToolInspector op={selected.op} />
              )
            ) : (
              <UnstartedInspector entry={selected} />
            )
          ) : null}
        </div>
      </div>
    </section>
  );
}

function spanOf(view: AgentView, id: string): Span | undefined {
  return view.spans.find((s) => s.span_id === id);
}

function ModelInspector({ op, view }: { op: ModelOperation; view: AgentView }) {
  const span = spanOf(view, op.span_id);
  const u = op.usage ?? {};
  return (
    <div>
      <h3>
        {opLabel(op)} <OutcomePill outcome={op.outcome} />
      </h3>
      <p className="muted small">
        {op.provider}/{op.model_name} · driver {op.driver_key}
        {op.fixture ? " · fixture" : ""} · {formatDurationMicros(spanDurationMicros(op))} · state revision{" "}
        {op.state_revision ?? "—"} · tokens in {u.input_tokens ?? "—"} / out {u.output_tokens ?? "—"} / total{" "}
        {u.total_tokens ?? "—"}
      </p>
      {span ? (
        <p>
          <Link className="btn" to={playgroundPath(span)}>
            Open in playground →
          </Link>
        </p>
      ) : null}
      {op.error ? (
        <div className="alert alert-error">
          <strong>{op.error.type}</strong>: {op.error.message}
        </div>
      ) : null}
      {span ? <LlmMessages span={span} /> : <PayloadView payload={op.request} label="Request" />}
      {op.requested_tool_calls.length ? (
        <>
          <h4>Tool calls requested by this response</h4>
          <ul className="calls">
            {op.requested_tool_calls.map((c) => (
              <li key={c.call_id ?? c.tool_name ?? ""}>
                <code>{c.tool_name}</code> <span className="muted mono small">{c.call_id}</span>{" "}
                <span
                  className={`pill pill-${c.admission === "admitted" ? (c.observed_tool_operation ? "ok" : "warn") : "unknown"}`}
                >
                  {c.admission === "admitted"
                    ? c.observed_tool_operation
                      ? "admitted · ran"
                      : "admitted · never started"
                    : c.admission.replace("_", " ")}
                </span>
                {c.reason ? <span className="muted small"> {c.reason}</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <details>
        <summary>Returned candidate and validated response</summary>
        <div className="io">
          <div className="io-col">
            <h4>Returned candidate</h4>
            <CandidateView candidate={op.response_candidate} label="Response candidate" />
          </div>
          <div className="io-col">
            <h4>Validated response</h4>
            <PayloadView payload={op.response} label="Validated response" />
          </div>
        </div>
      </details>
      <details>
        <summary>Normalized request</summary>
        <PayloadView payload={op.request} label="Normalized request" />
      </details>
    </div>
  );
}

function ToolInspector({ op }: { op: ToolOperation }) {
  const status = op.completed ? "completed" : op.started ? "started, no result" : "admitted, not started";
  return (
    <div>
      <h3>
        {opLabel(op)} <OutcomePill outcome={op.outcome} />
      </h3>
      <p className="muted small">
        call <code>{op.call_id}</code> · ordinal {op.ordinal ?? "—"} · {status} · state revision{" "}
        {op.state_revision_before ?? "—"} → {op.state_revision_after ?? "—"} ·{" "}
        {formatDurationMicros(spanDurationMicros(op))}
      </p>
      {op.error ? (
        <div className="alert alert-error">
          <strong>{op.error.type}</strong>: {op.error.message}
          {op.error.stacktrace ? (
            <details>
              <summary>Stack trace</summary>
              <pre className="mono small">{op.error.stacktrace}</pre>
            </details>
          ) : null}
        </div>
      ) : null}
      <div className="io">
        <div className="io-col">
          <h4>Arguments</h4>
          <PayloadView payload={op.arguments ?? op.requested_arguments} label="Tool arguments" />
          {op.arguments === null && op.requested_arguments ? (
            <p className="muted small">The requested arguments failed validation.</p>
          ) : null}
        </div>
        <div className="io-col">
          <h4>Result</h4>
          {op.result ? (
            <PayloadView payload={op.result} label="Tool result" />
          ) : (
            <CandidateView candidate={op.result_candidate} label="Tool result candidate" />
          )}
        </div>
      </div>
    </div>
  );
}

function UnstartedInspector({ entry }: { entry: Extract<TimelineEntry, { kind: "unstarted" }> }) {
  const c = entry.call;
  return (
    <div>
      <h3>
        Tool call <code>{c.tool_name}</code> never ran
      </h3>
      <p>
        Requested by model request {entry.requestedBy.ordinal} (call <code>{c.call_id}</code>):{" "}
        {c.admission === "admitted"
          ? "admitted, but the execution stopped before it started."
          : c.admission === "not_admitted"
            ? "not admitted."
            : "admission unknown (the Agent state could not be verified)."}
        {c.reason ? <span className="muted"> Reason: {c.reason}</span> : null}
      </p>
      <h4>Arguments</h4>
      <JsonView value={c.arguments} label="Requested arguments" />
    </div>
  );
}

const STATUS_TEXT: Record<string, string> = {
  verified: "Backend replay verified",
  policy_unavailable: "Replay unavailable by payload policy",
  failed: "Replay verification failed",
  not_applicable: "No state",
};

function StateRevisions({ view }: { view: AgentView }) {
  if (!view.stores.length)
    return (
      <section aria-label="State revisions">
        <h2>State revisions</h2>
        <p className="muted">
          No state was recorded{view.agent.state_available === false ? " (the run was not admitted)" : ""}.
        </p>
      </section>
    );
  return (
    <section aria-label="State revisions">
      <h2>State revisions</h2>
      {view.stores.map((store) => (
        <StoreHistory key={store.store_id} store={store} />
      ))}
    </section>
  );
}

function StoreHistory({ store }: { store: StoreEntry }) {
  const [params, setParams] = useSearchParams();
  const d = store.detail;
  const mine = params.get("store") === store.store_id || (!params.get("store") && store.role === "runtime");
  const rev = mine ? (params.get("rev") ?? "end") : "end";
  const select = (value: string) => {
    const next = new URLSearchParams(params);
    next.set("store", store.store_id);
    next.set("rev", value);
    setParams(next, { replace: true });
  };
  const selected = d.transitions.find((t) => String(t.sequence) === rev);
  const declared = d.transition_count ?? d.transitions.length;
  return (
    <div
      className="store card"
      role="group"
      aria-label={store.role === "application" ? "Application Store" : "Agent state"}
    >
      <h3>
        {store.role === "application"
          ? `Application Store ${store.detail.transitions[0]?.store_name ?? ""}`
          : "Agent state"}{" "}
        <span
          className={`pill pill-${d.reconstruction_status === "verified" ? "ok" : d.reconstruction_status === "failed" ? "error" : "warn"}`}
        >
          {STATUS_TEXT[d.reconstruction_status]}
        </span>
      </h3>
      <p className="muted small">
        producer claims reconstructable: {String(d.reconstructable_claimed)} · {d.transitions.length} of{" "}
        {declared} declared transitions preserved · revisions {d.revision_start ?? "—"} →{" "}
        {d.revision_end ?? "—"}
        {d.reconstruction_reason ? ` · ${d.reconstruction_reason}` : ""}
      </p>
      <div className="rail-layout">
        <ol className="rail" aria-label="Transitions">
          <li>
            <button
              type="button"
              className={`rail-item ${rev === "start" ? "active" : ""}`}
              onClick={() => select("start")}
            >
              Start
            </button>
          </li>
          {d.transitions.map((t) => (
            <li key={t.sequence}>
              <button
                type="button"
                className={`rail-item ${rev === String(t.sequence) ? "active" : ""}`}
                aria-current={rev === String(t.sequence) ? "true" : undefined}
                onClick={() => select(String(t.sequence))}
              >
                <span className="seq">{t.sequence}</span>
                <span className="grow mono small">{t.action}</span>
                <span className="muted small">
                  rev {t.revision_before}→{t.revision_after}
                </span>
              </button>
            </li>
          ))}
          <li>
            <button
              type="button"
              className={`rail-item ${rev === "end" ? "active" : ""}`}
              onClick={() => select("end")}
            >
              End
            </button>
          </li>
        </ol>
        <div className="inspector">
          {selected ? (
            <>
              <p className="muted small">
                event <code>{selected.event_id}</code> on span <code>{selected.span_id}</code> ·{" "}
                {selected.store_name}.{selected.action}
              </p>
              <h4>Patch</h4>
              <JsonView value={selected.patch} label="Patch" />
              {d.reconstruction_status === "verified" ? (
                <div className="io">
                  <div className="io-col">
                    <h4>Before</h4>
                    <JsonView value={selected.before} label="State before" />
                  </div>
                  <div className="io-col">
                    <h4>After</h4>
                    <JsonView value={selected.after} label="State after" />
                  </div>
                </div>
              ) : (
                <p className="muted small">Before/after are shown only when the backend replay verifies.</p>
              )}
            </>
          ) : (
            <>
              <h4>{rev === "start" ? "Start state" : "End state"}</h4>
              <PayloadView
                payload={rev === "start" ? d.start : d.end}
                label={rev === "start" ? "Start state" : "End state"}
              />
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function Usage({ view }: { view: AgentView }) {
  const u = view.agent.summary.usage;
  const fields = Object.entries(u.fields);
  return (
    <section aria-label="Usage">
      <h2>Usage</h2>
      {fields.length ? (
        <table className="table">
          <thead>
            <tr>
              <th>Field</th>
              <th className="right">Sum</th>
              <th className="right">Reported by</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(([name, f]) => (
              <tr key={name}>
                <td>{name}</td>
                <td className="right mono">{f.sum.toLocaleString()}</td>
                <td className="right mono">
                  {f.observations} of {u.model_responses} responses
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted small">No model response reported usage ({u.model_responses} responses).</p>
      )}
    </section>
  );
}
