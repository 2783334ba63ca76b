/**
 * Everything about one span: identity, status, LLM messages, failures with stack traces, attributes
 * as a searchable key/value table (or JSON), events, resource and timing.
 */
import { useMemo, useState, type ReactNode } from "react";
import type { Span } from "../../api/types";
import { JsonView } from "../../components/JsonView";
import { CopyButton, IdText } from "../../components/ui";
import { displayName, isFailed, isLlm } from "../../lib/spans";
import { formatDurationMicros, nanosToMicros, spanDurationMicros, formatUtcMicros } from "../../lib/time";
import { LlmMessages } from "./LlmMessages";
import { OpenInPlayground } from "../playground/OpenInPlayground";

function parseMaybeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function Value({ v }: { v: unknown }) {
  const parsed = typeof v === "object" && v !== null ? v : parseMaybeJson(v);
  if (parsed !== undefined && typeof parsed === "object" && parsed !== null)
    return <JsonView value={parsed} collapseAt={2} />;
  return <pre>{typeof v === "string" ? v : JSON.stringify(v)}</pre>;
}

export function KeyValueTable({
  data,
  label,
  searchable = true,
}: {
  data: Record<string, unknown>;
  label: string;
  searchable?: boolean;
}) {
  const [q, setQ] = useState("");
  const [asJson, setAsJson] = useState(false);
  const entries = useMemo(() => Object.entries(data ?? {}).sort(([a], [b]) => a.localeCompare(b)), [data]);
  const needle = q.trim().toLowerCase();
  const shown = needle
    ? entries.filter(
        ([k, v]) =>
          k.toLowerCase().includes(needle) ||
          String(typeof v === "string" ? v : JSON.stringify(v))
            .toLowerCase()
            .includes(needle),
      )
    : entries;
  return (
    <div>
      <div className="row gap wrap">
        {searchable ? (
          <input
            type="search"
            aria-label={`Filter ${label}`}
            placeholder={`Filter ${label.toLowerCase()}…`}
            value={q}
            onChange={(e) => setQ(e.target.value)}
            className="grow"
          />
        ) : null}
        <div className="segmented" role="radiogroup" aria-label={`${label} view`}>
          <button
            type="button"
            role="radio"
            aria-checked={!asJson}
            className={!asJson ? "on" : ""}
            onClick={() => setAsJson(false)}
          >
            Table
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={asJson}
            className={asJson ? "on" : ""}
            onClick={() => setAsJson(true)}
          >
            JSON
          </button>
        </div>
      </div>
      {!entries.length ? (
        <p className="muted">No {label.toLowerCase()}</p>
      ) : asJson ? (
        <JsonView value={Object.fromEntries(shown)} collapseAt={2} label={label} />
      ) : (
        <table className="kv" aria-label={label}>
          <tbody>
            {shown.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>
                  <Value v={v} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export interface Failure {
  label: string;
  type: string;
  message: string;
  stack?: string;
}

export function failuresOf(span: Span): Failure[] {
  const out: Failure[] = [];
  for (const e of span.events_json ?? []) {
    const a = e.attributes ?? {};
    if (e.name === "exception") {
      out.push({
        label: "Exception",
        type: String(a["exception.type"] ?? "Exception"),
        message: String(a["exception.message"] ?? "No exception message provided."),
        stack:
          typeof a["exception.stacktrace"] === "string" ? (a["exception.stacktrace"] as string) : undefined,
      });
    } else if (e.name === "junjo.hook_error") {
      out.push({
        label: "Hook failure",
        type: String(a["junjo.hook.error.type"] ?? a["exception.type"] ?? "Error"),
        message: String(a["junjo.hook.error.message"] ?? a["exception.message"] ?? ""),
        stack:
          typeof a["exception.stacktrace"] === "string" ? (a["exception.stacktrace"] as string) : undefined,
      });
    }
  }
  if (!out.length && isFailed(span)) {
    const t = span.attributes_json?.["error.type"];
    out.push({
      label: "Span failure",
      type: String(t ?? "Error status"),
      message: span.status_message || String(t ?? ""),
    });
  }
  return out;
}

export function FailureList({ span }: { span: Span }) {
  const failures = failuresOf(span);
  if (!failures.length) return null;
  return (
    <div aria-label={`Failures of ${span.name}`}>
      {failures.map((f, i) => (
        <div className="failure" key={i}>
          <div>
            <strong>{f.label}</strong>: <code>{f.type}</code>
          </div>
          <div>{f.message}</div>
          {f.stack ? (
            <details open>
              <summary className="muted small">Stack trace</summary>
              <pre className="stack">{f.stack}</pre>
            </details>
          ) : null}
        </div>
      ))}
    </div>
  );
}

function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="section" aria-label={title}>
      <div className="section-title">
        <h3>{title}</h3>
        {actions}
      </div>
      {children}
    </section>
  );
}

const STATUS: Record<string, string> = { "0": "UNSET", "1": "OK", "2": "ERROR" };

export function SpanDetails({ span, extra }: { span: Span; extra?: ReactNode }) {
  const failed = isFailed(span);
  return (
    <div className="span-details" aria-label="Span details">
      <h2>{displayName(span)}</h2>
      <table className="kv">
        <tbody>
          <tr>
            <td>Span ID</td>
            <td>
              <IdText id={span.span_id} />
            </td>
          </tr>
          <tr>
            <td>Trace ID</td>
            <td>
              <IdText id={span.trace_id} />
            </td>
          </tr>
          <tr>
            <td>Parent span</td>
            <td>{span.parent_span_id ? <IdText id={span.parent_span_id} /> : "None"}</td>
          </tr>
          <tr>
            <td>Service</td>
            <td>{span.service_name}</td>
          </tr>
          <tr>
            <td>Kind</td>
            <td>{span.kind}</td>
          </tr>
          <tr>
            <td>Status</td>
            <td className={failed ? "change-removed" : ""}>
              {STATUS[span.status_code] ?? span.status_code}
              {span.status_message ? ` — ${span.status_message}` : ""}
            </td>
          </tr>
          <tr>
            <td>Duration</td>
            <td>{formatDurationMicros(spanDurationMicros(span))}</td>
          </tr>
          <tr>
            <td>Start</td>
            <td>
              <code>{span.start_time}</code>
            </td>
          </tr>
          <tr>
            <td>End</td>
            <td>
              <code>{span.end_time}</code>
            </td>
          </tr>
        </tbody>
      </table>
      {extra}
      <OpenInPlayground span={span} />
      {failed ? (
        <Section title="Failures">
          <FailureList span={span} />
        </Section>
      ) : null}
      {isLlm(span) ? <LlmMessages span={span} /> : null}
      <Section
        title="Attributes"
        actions={
          <CopyButton value={JSON.stringify(span.attributes_json, null, 2)} label="Copy attributes JSON" />
        }
      >
        <KeyValueTable data={span.attributes_json} label="Attributes" />
      </Section>
      <Section title={`Events (${span.events_json?.length ?? 0})`}>
        {span.events_json?.length ? (
          span.events_json.map((e, i) => (
            <details key={i} className="card" style={{ marginBottom: 6 }} open={e.name === "exception"}>
              <summary>
                <strong>{e.name}</strong>{" "}
                <span className="muted mono small">{formatUtcMicros(nanosToMicros(e.timeUnixNano))} UTC</span>
              </summary>
              <KeyValueTable data={e.attributes} label={`${e.name} attributes`} searchable={false} />
            </details>
          ))
        ) : (
          <p className="muted">No events</p>
        )}
      </Section>
      <Section title="Resource">
        <KeyValueTable
          data={span.resource_attributes_json ?? {}}
          label="Resource attributes"
          searchable={false}
        />
      </Section>
      {span.links_json?.length ? (
        <Section title="Links">
          <JsonView value={span.links_json} label="Links" />
        </Section>
      ) : null}
    </div>
  );
}
