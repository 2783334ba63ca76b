/**
 * Everything about one span: identity, status, LLM messages, failures with stack traces, attributes
 * as a searchable key/value table (or JSON), events, resource and timing.
 */
import { useMemo, useRef, useState, type PointerEvent as ReactPointerEvent, type ReactNode } from "react";
import type { Span } from "../../api/types";
import { JsonView } from "../../components/JsonView";
import { LongText } from "../../components/LongText";
import { TimeOfDay, Timestamp } from "../../components/Timestamp";
import { CopyButton, IdText } from "../../components/ui";
import { displayName, isFailed, isLlm, llmTag } from "../../lib/spans";
import { describeUsage, formatUsd, type UsageTotal } from "./usage";
import { keyParts, neutralizeBidi } from "../../lib/text";
import {
  formatDurationMicros,
  formatOffsetMicros,
  isoToMicros,
  nanosToMicros,
  spanDurationMicros,
} from "../../lib/time";
import { LlmMessages } from "./LlmMessages";
import { OpenInPlayground } from "../playground/OpenInPlayground";
import { Segmented } from "../../components/Segmented";

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

function Value({ v, name }: { v: unknown; name: string }) {
  const parsed = typeof v === "object" && v !== null ? v : parseMaybeJson(v);
  if (parsed !== undefined && typeof parsed === "object" && parsed !== null)
    return <JsonView value={parsed} collapseAt={2} label={name} />;
  return <LongText text={typeof v === "string" ? v : JSON.stringify(v)} title={name} />;
}

/** A key that may break only after its separators (`junjo.` `state_` …), never mid-word. */
export function KeyText({ k }: { k: string }) {
  const parts = keyParts(neutralizeBidi(k));
  return (
    <span className="kv-key" title={k}>
      {parts.map((p, i) => (
        <span key={i}>
          {p}
          {i < parts.length - 1 ? <wbr /> : null}
        </span>
      ))}
    </span>
  );
}

const KEY_WIDTH_MIN = 80;
const KEY_WIDTH_MAX = 640;

/** The key column's width, dragged with a handle on its header. */
function useColumnResize(initial: number) {
  const [width, setWidth] = useState(initial);
  const drag = useRef<{ x: number; w: number } | null>(null);
  const onPointerDown = (e: ReactPointerEvent<HTMLSpanElement>) => {
    drag.current = { x: e.clientX, w: width };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLSpanElement>) => {
    if (!drag.current) return;
    const next = drag.current.w + e.clientX - drag.current.x;
    setWidth(Math.min(KEY_WIDTH_MAX, Math.max(KEY_WIDTH_MIN, next)));
  };
  const onPointerUp = () => {
    drag.current = null;
  };
  return { width, setWidth, handle: { onPointerDown, onPointerMove, onPointerUp } };
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
  const keyColumn = useColumnResize(190);
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
        <Segmented
          label={`${label} view`}
          options={[
            { value: "table", label: "Table" },
            { value: "json", label: "JSON" },
          ]}
          value={asJson ? "json" : "table"}
          onChange={(v) => setAsJson(v === "json")}
        />
      </div>
      {!entries.length ? (
        <p className="muted">No {label.toLowerCase()}</p>
      ) : asJson ? (
        <JsonView value={Object.fromEntries(shown)} collapseAt={2} label={label} />
      ) : (
        <table className="kv kv-fixed" aria-label={label}>
          <colgroup>
            <col style={{ width: keyColumn.width }} />
            <col />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">
                Key
                <span
                  className="col-resize"
                  role="separator"
                  aria-orientation="vertical"
                  aria-label="Resize the key column"
                  aria-valuenow={keyColumn.width}
                  aria-valuemin={KEY_WIDTH_MIN}
                  aria-valuemax={KEY_WIDTH_MAX}
                  tabIndex={0}
                  onKeyDown={(e) => {
                    if (e.key === "ArrowLeft") keyColumn.setWidth((w) => Math.max(KEY_WIDTH_MIN, w - 20));
                    if (e.key === "ArrowRight") keyColumn.setWidth((w) => Math.min(KEY_WIDTH_MAX, w + 20));
                  }}
                  {...keyColumn.handle}
                />
              </th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {shown.map(([k, v]) => (
              <tr key={k}>
                <td>
                  <KeyText k={k} />
                </td>
                <td>
                  <Value v={v} name={k} />
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
  // Instrumentations often record one exception twice (the SDK and the framework both do).
  const seen = new Set<string>();
  const unique = out.filter((f) => {
    const id = `${f.label}\u0000${f.type}\u0000${f.message}\u0000${f.stack ?? ""}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  out.length = 0;
  out.push(...unique);
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
          <div className="failure-message">{neutralizeBidi(f.message)}</div>
          {f.stack ? (
            <details open>
              <summary className="muted small">Stack trace</summary>
              <pre className="stack">{neutralizeBidi(f.stack)}</pre>
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

/** Tokens, model and cost of an LLM call span; for any other span, the sum over its children's calls. */
function UsageSection({ span, subtree, leftOut }: { span: Span; subtree?: UsageTotal; leftOut?: boolean }) {
  const u = span.llm_usage;
  if (!u) {
    if (!subtree?.calls) return null;
    return (
      <Section title="LLM usage of this span and its children">
        <p aria-label="LLM usage">{describeUsage(subtree)}</p>
      </Section>
    );
  }
  const rows: [string, ReactNode][] = [
    ["Model", u.model ?? "—"],
    ["Provider", u.provider ?? "—"],
    ["Input tokens", u.input_tokens?.toLocaleString() ?? "—"],
    ["Output tokens", u.output_tokens?.toLocaleString() ?? "—"],
    ["Total tokens", u.total_tokens?.toLocaleString() ?? "—"],
    ["Cost", u.cost_usd === null || u.cost_usd === undefined ? "price unknown" : formatUsd(u.cost_usd)],
  ];
  if (u.cache_read_tokens !== null && u.cache_read_tokens !== undefined)
    rows.splice(4, 0, ["Cached input tokens", u.cache_read_tokens.toLocaleString()]);
  return (
    <Section title="LLM usage">
      <table className="kv" aria-label="LLM usage">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <td>{k}</td>
              <td className="wrap-anywhere">{v}</td>
            </tr>
          ))}
          {leftOut ? (
            <tr>
              <td>In totals</td>
              <td>
                {u.source === "junjo"
                  ? "no: it reports no tokens, the LLM spans below it record this call"
                  : "no: the Junjo model request above it records this call"}
              </td>
            </tr>
          ) : null}
          {u.flags.length ? (
            <tr>
              <td>Ignored values</td>
              <td className="wrap-anywhere">{u.flags.join("; ")}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </Section>
  );
}

export function SpanDetails({
  span,
  extra,
  traceStartUs,
  subtreeUsage,
  leftOut,
}: {
  span: Span;
  extra?: ReactNode;
  /** The trace's first start, for "+N ms from trace start". */
  traceStartUs?: number;
  /** LLM usage summed over this span's subtree (shown for spans that are not calls themselves). */
  subtreeUsage?: UsageTotal;
  /** An LLM call span whose call totals count elsewhere (`leftOutCalls`). */
  leftOut?: boolean;
}) {
  const failed = isFailed(span);
  const tag = llmTag(span);
  const startUs = isoToMicros(span.start_time);
  return (
    <div className="span-details" aria-label="Span details">
      <h2 className="span-title">
        <span className="wrap-anywhere">{displayName(span)}</span>
        {tag ? <span className="tag tag-llm">{tag}</span> : null}
      </h2>
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
            <td className="wrap-anywhere">{neutralizeBidi(span.service_name)}</td>
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
              <Timestamp iso={span.start_time} precise />
              {traceStartUs !== undefined && Number.isFinite(startUs) ? (
                <span className="muted small" aria-label="Offset from trace start">
                  {" "}
                  · {formatOffsetMicros(startUs - traceStartUs)} from trace start
                </span>
              ) : null}
            </td>
          </tr>
          <tr>
            <td>End</td>
            <td>
              <Timestamp iso={span.end_time} precise />
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
      <UsageSection span={span} subtree={subtreeUsage} leftOut={leftOut} />
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
                <strong>{neutralizeBidi(e.name)}</strong>{" "}
                <span className="muted mono small">
                  <TimeOfDay micros={nanosToMicros(e.timeUnixNano)} />
                </span>
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
