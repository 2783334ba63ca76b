/**
 * Agent executions of every service, newest first: outcome and termination reason, model requests
 * and Tool calls against their limits, tokens, duration. Filters (service, namespace, Agent key,
 * outcome, time range, errors only, name search) and the span search (a run matches through its
 * agent span or any span under it) live in the URL; pages follow the cursor.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { agentsApi, type AgentFilters } from "../../api/endpoints";
import type { AgentExecution, Page } from "../../api/types";
import { DegradedNotice, Empty, ErrorBox, Loading, PageHeader, useDocumentTitle } from "../../components/ui";
import { formatDurationMicros, rangeStart, shortId, TIME_RANGES } from "../../lib/time";
import { OutcomePill, countOf, tokens } from "./parts";
import { Timestamp } from "../../components/Timestamp";
import { Pager } from "../../components/Pager";
import { UrlCheckbox } from "../../components/UrlCheckbox";
import { QueryBar } from "../search/QueryBar";
import "./agents.css";

const PAGE_SIZE = 50;
const OUTCOMES = ["completed", "failed", "cancelled"];
const FIELDS = [
  "service",
  "namespace",
  "key",
  "outcome",
  "range",
  "errors",
  "q",
  "search",
  "from",
  "to",
] as const;

export function agentPath(run: { trace_id: string; agent_span_id: string }): string {
  return `/agents/${run.trace_id}/${run.agent_span_id}`;
}

function useFilters() {
  const [params, setParams] = useSearchParams();
  const value = Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ""])) as Record<
    (typeof FIELDS)[number],
    string
  >;
  const set = (patch: Partial<Record<(typeof FIELDS)[number], string>>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (!v) next.delete(k);
      else next.set(k, v);
    }
    // A new search is a history entry (Back returns to the previous one); other filters replace.
    setParams(next, { replace: !("search" in patch) });
  };
  return { value, set };
}

function TextFilter({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
}) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <label>
      {label}
      <input
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => text !== value && onChange(text.trim())}
        onKeyDown={(e) => e.key === "Enter" && onChange(text.trim())}
      />
    </label>
  );
}

export default function AgentsListPage() {
  useDocumentTitle("Agents");
  const { value: f, set } = useFilters();
  const navigate = useNavigate();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const filterKey = FIELDS.map((k) => f[k]).join("|");
  useEffect(() => setCursors([null]), [filterKey]);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setNow(Date.now()), [filterKey]);
  const pageIndex = cursors.length - 1;
  const filters: AgentFilters = {
    service: f.service || undefined,
    namespace: f.namespace || undefined,
    agentKey: f.key || undefined,
    outcome: f.outcome || undefined,
    errorsOnly: f.errors === "1",
    q: f.q || undefined,
    search: f.search || undefined,
    // `from`/`to` (a chart bucket of the overview) take the place of the preset.
    start: f.from && f.to ? f.from : rangeStart(f.range || "all", now),
    end: f.from && f.to ? f.to : undefined,
    cursor: cursors[pageIndex],
    limit: PAGE_SIZE,
  };
  const query = useQuery<Page<AgentExecution>>({
    queryKey: ["agents", filters],
    queryFn: () => agentsApi.list(filters),
    placeholderData: keepPreviousData,
    refetchInterval: pageIndex === 0 ? 5000 : false,
  });
  const items = query.data?.items ?? [];
  // A refused search is shown under the search bar, not instead of the page.
  const searchError =
    f.search && query.error instanceof ApiError && query.error.status === 422 ? query.error.message : null;
  return (
    <div className="page">
      <PageHeader title="Agent executions" sub="Junjo Agent runs across every service, newest first" />
      <QueryBar
        value={f.search}
        onChange={(search) => set({ search })}
        error={searchError}
        partial={query.data?.partial}
        scope="agents"
      />
      <div className="filters" role="group" aria-label="Filters">
        <TextFilter label="Service" value={f.service} onChange={(v) => set({ service: v })} />
        <TextFilter label="Namespace" value={f.namespace} onChange={(v) => set({ namespace: v })} />
        <TextFilter label="Agent key" value={f.key} onChange={(v) => set({ key: v })} />
        <label>
          Outcome
          <select value={f.outcome} onChange={(e) => set({ outcome: e.target.value })}>
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label>
          Time range
          <select
            value={f.range || "all"}
            onChange={(e) => set({ range: e.target.value === "all" ? "" : e.target.value, from: "", to: "" })}
          >
            {TIME_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <TextFilter label="Search names" value={f.q} onChange={(v) => set({ q: v })} />
        <UrlCheckbox checked={f.errors === "1"} onChange={(on) => set({ errors: on ? "1" : "" })}>
          Errors only
        </UrlCheckbox>
        <span className="muted small" aria-live="polite">
          {typeof query.data?.total === "number" ? `${query.data.total.toLocaleString()} runs` : ""}
        </span>
      </div>
      <DegradedNotice degraded={query.data?.degraded} rows="runs" />
      {query.isLoading ? (
        <Loading />
      ) : searchError ? null : query.error ? (
        <ErrorBox error={query.error} />
      ) : !items.length ? (
        <Empty>No Agent executions match these filters.</Empty>
      ) : (
        <table className="table list-table agents-table" aria-label="Agent executions">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Outcome</th>
              <th className="right">Model</th>
              <th className="right">Tools</th>
              <th className="right">Tokens</th>
              <th className="right">Duration</th>
              <th>Service</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run) => (
              <tr
                key={`${run.trace_id}-${run.agent_span_id}`}
                className={`clickable ${run.outcome === "failed" ? "failed" : ""}`}
                onClick={() => navigate(agentPath(run))}
              >
                <td>
                  <Link to={agentPath(run)} onClick={(e) => e.stopPropagation()}>
                    {run.agent_name || "(unnamed)"}
                  </Link>
                  <div className="muted small mono">{run.agent_key}</div>
                </td>
                <td>
                  <OutcomePill outcome={run.outcome} />
                  <div className="muted small">{run.termination_reason ?? ""}</div>
                </td>
                <td className="right mono">
                  {countOf(run.counts.model_requests, run.limits.model_requests)}
                </td>
                <td className="right mono">
                  {countOf(run.counts.tool_calls.requested, run.limits.tool_calls)}
                  <div className="muted small">{run.counts.tool_calls.completed ?? "—"} completed</div>
                </td>
                <td className="right mono">{tokens(run.usage.fields.totalTokens?.sum)}</td>
                <td className="right mono">{formatDurationMicros(run.duration_ns / 1000)}</td>
                <td>
                  {run.service.namespace ? <span className="muted">{run.service.namespace}/</span> : null}
                  {run.service.name}
                  <div className="muted small mono" title={run.structural_id ?? ""}>
                    {run.structural_id ? shortId(run.structural_id.replace("agent_sha256:", ""), 8) : ""}
                  </div>
                </td>
                <td>
                  <Timestamp iso={run.start_time} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        pageIndex={pageIndex}
        onNewer={() => setCursors(cursors.slice(0, -1))}
        onOlder={
          query.data?.next_cursor
            ? () => setCursors([...cursors, query.data.next_cursor as string])
            : undefined
        }
      />
    </div>
  );
}
