/**
 * Per-service lists: workflow executions, traces (root spans) and all spans, newest first, with a
 * span search bar (features/search), time-range presets, error-only, name search, cursor
 * pagination, an honest count and pausable live refresh.
 * Filters and the page position live in the URL (a filtered page is a shareable link; reload and Back
 * keep it). j/k move between rows, Enter opens one.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { observability, type ListFilters } from "../api/endpoints";
import type { Page, Span } from "../api/types";
import { Pager } from "../components/Pager";
import { Timestamp } from "../components/Timestamp";
import { UrlCheckbox } from "../components/UrlCheckbox";
import { DegradedNotice, Empty, ErrorBox, Loading, PageHeader } from "../components/ui";
import { QueryBar } from "../features/search/QueryBar";
import { rememberList } from "../lib/listContext";
import { attr, displayName, isFailed, isLlm } from "../lib/spans";
import {
  customRange,
  formatDurationMicros,
  rangeStart,
  shortId,
  spanDurationMicros,
  TIME_RANGES,
} from "../lib/time";

const PAGE_SIZE = 50;
const LIVE_MS = 5000;

type Kind = "workflows" | "traces" | "spans";

/** The cursors of the pages before this one (`after`, repeated): page N has N-1 of them. */
function readCursors(params: URLSearchParams): string[] {
  return params.getAll("after").filter((c) => c.length > 0 && c.length <= 2048);
}

function hasFilters(params: URLSearchParams): boolean {
  const p = readParams(params);
  return p.range !== "all" || p.custom !== null || p.errors || p.q !== "" || p.llm || p.search !== "";
}

function readParams(params: URLSearchParams) {
  return {
    range: params.get("range") ?? "all",
    // `from`/`to` (a chart bucket of the overview) take the place of the preset.
    custom: customRange(params),
    errors: params.get("errors") === "1",
    q: params.get("q") ?? "",
    search: params.get("search") ?? "",
    llm: params.get("llm") === "1",
    live: params.get("live") !== "0",
  };
}

/** The first page's query for a list URL; shared by the page and the startup prefetch. */
export function listQuery(
  kind: Kind,
  service: string,
  params: URLSearchParams,
  now: number,
  cursor: string | null = null,
) {
  const p = readParams(params);
  const filters: ListFilters = {
    start: p.custom ? p.custom.from : rangeStart(p.range, now),
    end: p.custom?.to,
    errorsOnly: p.errors,
    q: p.q || undefined,
    search: p.search || undefined,
    hasLlm: kind === "traces" ? p.llm : undefined,
    cursor,
    limit: PAGE_SIZE,
  };
  return {
    queryKey: ["list", kind, service, filters],
    queryFn: () =>
      kind === "workflows"
        ? observability.workflows(service, filters)
        : kind === "spans"
          ? observability.spans(service, filters)
          : observability.rootSpans(service, filters),
  };
}

function useListState() {
  const [params, setParams] = useSearchParams();
  const { range, custom, errors, q, search, llm, live } = readParams(params);
  const set = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    // A filter change starts again at the first page.
    if (Object.keys(patch).some((k) => k !== "live")) next.delete("after");
    // A new search is a history entry (Back returns to the previous one); other filters replace.
    setParams(next, { replace: !("search" in patch) });
  };
  return { range, custom, errors, q, search, llm, live, set };
}

function Filters({
  kind,
  state,
  page,
  shown,
  fetching,
}: {
  kind: Kind;
  state: ReturnType<typeof useListState>;
  page?: Page<Span>;
  shown: number;
  fetching: boolean;
}) {
  // Exact totals are shown as such; otherwise only what is known: how many rows were loaded.
  const exactTotal = typeof page?.total === "number" && !page.totalApproximate ? page.total : undefined;
  const [text, setText] = useState(state.q);
  useEffect(() => setText(state.q), [state.q]);
  // Debounced: the search is applied 300 ms after the last keystroke (re-renders do not restart it).
  // A row opened meanwhile has changed the URL while this page is still on screen (the next page
  // renders in a transition once its code has loaded): applying the search then would navigate
  // back to the list, so it is dropped.
  const setRef = useRef(state.set);
  setRef.current = state.set;
  useEffect(() => {
    if (text === state.q) return;
    const listPath = window.location.pathname;
    const t = window.setTimeout(() => {
      if (window.location.pathname === listPath) setRef.current({ q: text || null });
    }, 300);
    return () => window.clearTimeout(t);
  }, [text, state.q]);
  return (
    <div className="filters" role="group" aria-label="Filters">
      <label>
        Time range
        <select
          value={state.custom ? "custom" : state.range}
          onChange={(e) =>
            state.set({ range: e.target.value === "all" ? null : e.target.value, from: null, to: null })
          }
        >
          {TIME_RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
          {state.custom ? (
            <option value="custom" disabled>
              {`${new Date(state.custom.from).toISOString().slice(0, 16)} – ${new Date(state.custom.to).toISOString().slice(11, 16)} UTC`}
            </option>
          ) : null}
        </select>
      </label>
      <label className="grow">
        Search names
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={kind === "workflows" ? "Workflow name…" : "Span name…"}
        />
      </label>
      <UrlCheckbox checked={state.errors} onChange={(on) => state.set({ errors: on ? "1" : null })}>
        Errors only
      </UrlCheckbox>
      {kind === "traces" ? (
        <UrlCheckbox checked={state.llm} onChange={(on) => state.set({ llm: on ? "1" : null })}>
          Has LLM spans
        </UrlCheckbox>
      ) : null}
      <UrlCheckbox checked={state.live} onChange={(on) => state.set({ live: on ? null : "0" })}>
        Live
      </UrlCheckbox>
      <span className="muted small count" aria-live="polite">
        {fetching ? "Updating… " : ""}
        {exactTotal !== undefined
          ? `${exactTotal.toLocaleString()} total`
          : page && !page.next_cursor
            ? `${shown.toLocaleString()} total`
            : `${shown.toLocaleString()}+ loaded`}
      </span>
    </div>
  );
}

function ListPage({ kind }: { kind: Kind }) {
  const { service = "" } = useParams();
  const state = useListState();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const cursors = readCursors(params);
  const pageIndex = cursors.length;
  const filterKey = `${kind}|${service}|${state.range}|${state.custom?.from}|${state.custom?.to}|${state.errors}|${state.q}|${state.search}|${state.llm}`;
  // The range start is fixed per filter change / refetch tick so query keys stay stable.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setNow(Date.now()), [filterKey]);
  const live = state.live && pageIndex === 0;
  // Page moves are history entries: Back returns to the previous page, reload stays on this one.
  const goToPage = (next: string[]) => {
    const p = new URLSearchParams(params);
    p.delete("after");
    next.forEach((c) => p.append("after", c));
    setParams(p);
  };
  const query = useQuery<Page<Span>>({
    ...listQuery(kind, service, params, now, cursors[pageIndex - 1] ?? null),
    placeholderData: keepPreviousData,
    refetchInterval: live ? LIVE_MS : false,
  });
  const items = useMemo(() => query.data?.items ?? [], [query.data]);
  // Rows that arrived through live refresh are briefly highlighted.
  const seen = useRef<Set<string> | null>(null);
  const fresh = useMemo(() => {
    const before = seen.current;
    seen.current = new Set(items.map((s) => s.span_id));
    return before
      ? new Set(items.filter((s) => !before.has(s.span_id)).map((s) => s.span_id))
      : new Set<string>();
  }, [items]);
  useEffect(() => {
    seen.current = null;
  }, [filterKey, pageIndex]);
  useEffect(() => {
    if (items.length && kind !== "spans")
      rememberList(
        kind,
        service,
        items.map((s) => ({ traceId: s.trace_id, spanId: s.span_id })),
      );
  }, [items, kind, service]);
  const open = (s: Span) => navigate(rowHref(kind, service, s));
  const [cursorRow, setCursorRow] = useState(-1);
  useEffect(() => setCursorRow(-1), [filterKey, pageIndex]);
  const openRef = useRef(open);
  openRef.current = open;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.metaKey || e.ctrlKey || e.altKey || t?.closest("input, textarea, select, [contenteditable]"))
        return;
      if (e.key === "j") setCursorRow((i) => Math.min(items.length - 1, i + 1));
      else if (e.key === "k") setCursorRow((i) => Math.max(0, i - 1));
      else if (e.key === "Enter" && cursorRow >= 0 && items[cursorRow]) openRef.current(items[cursorRow]);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [items, cursorRow]);
  const filtered = hasFilters(params);
  const title = TITLES[kind];
  // A refused search is shown under the search bar, not instead of the page.
  const searchError =
    state.search && query.error instanceof ApiError && query.error.status === 422
      ? query.error.message
      : null;
  const crumbs: ReactNode = (
    <>
      <Link to="/">Services</Link> <span aria-hidden>→</span> <span>{service}</span>
    </>
  );
  const others = (["workflows", "traces", "spans"] as const).filter((k) => k !== kind);
  // The search travels to the other lists: the same question asked of their rows.
  const carried = state.search ? `?search=${encodeURIComponent(state.search)}` : "";
  return (
    <div className="page">
      <PageHeader
        title={title}
        crumbs={crumbs}
        actions={
          <span className="row gap">
            {others.map((k) => (
              <Link key={k} to={`${LIST_PATHS[k]}/${encodeURIComponent(service)}${carried}`}>
                {TITLES[k]} →
              </Link>
            ))}
          </span>
        }
      />
      <QueryBar
        value={state.search}
        onChange={(search) => state.set({ search: search || null })}
        error={searchError}
        partial={query.data?.partial}
        scope={kind}
      />
      <Filters
        kind={kind}
        state={state}
        page={query.data}
        shown={pageIndex * PAGE_SIZE + items.length}
        fetching={query.isFetching && !query.isLoading}
      />
      <DegradedNotice degraded={query.data?.degraded} rows="spans" />
      {query.isLoading ? (
        <Loading />
      ) : searchError ? null : query.error ? (
        <ErrorBox error={query.error} />
      ) : !items.length ? (
        <Empty>
          {filtered ? (
            <>
              No {TITLES[kind].toLowerCase()} match these filters.{" "}
              {state.range !== "all" ? "Try a longer time range or " : ""}
              <Link to={`${LIST_PATHS[kind]}/${encodeURIComponent(service)}`}>
                {state.range !== "all" ? "clear the filters" : "Clear the filters"}
              </Link>
              .
            </>
          ) : kind === "spans" ? (
            <>{service} has sent no spans yet.</>
          ) : kind === "workflows" ? (
            <>
              {service} has sent no Junjo workflow executions yet. Workflows appear here when an app runs a
              Junjo <code>Workflow</code> with telemetry on;{" "}
              <Link to={`/traces/${encodeURIComponent(service)}`}>all of its traces</Link> are listed under
              Traces.
            </>
          ) : (
            <>
              {service} has sent no traces yet. <Link to="/">See every service</Link> or{" "}
              <Link to="/api-keys">set up an exporter</Link>.
            </>
          )}
        </Empty>
      ) : (
        <div className="table-scroll">
          <table className="table list-table" aria-label={title}>
            <thead>
              <tr>
                <th aria-label="Status" style={{ width: 36 }} />
                <th>{kind === "workflows" ? "Workflow" : "Name"}</th>
                <th style={{ width: 120 }}>Trace ID</th>
                <th style={{ width: 230 }}>Started</th>
                {kind === "workflows" ? (
                  <th className="right" style={{ width: 70 }}>
                    Nodes
                  </th>
                ) : null}
                <th className="right" style={{ width: 100 }}>
                  Duration
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((s, row) => {
                const failed = isFailed(s);
                const href = rowHref(kind, service, s);
                return (
                  <tr
                    key={s.span_id}
                    className={`clickable ${failed ? "failed" : ""} ${fresh.has(s.span_id) ? "row-new" : ""} ${row === cursorRow ? "row-cursor" : ""}`}
                    aria-current={row === cursorRow ? "true" : undefined}
                    onClick={() => open(s)}
                  >
                    <td>
                      {failed ? (
                        <span className="badge badge-error" role="img" aria-label="Failed">
                          !
                        </span>
                      ) : (
                        <span className="dot-ok" aria-label="OK" role="img" />
                      )}
                    </td>
                    <td className="cell-name">
                      <Link
                        to={href}
                        onClick={(e) => e.stopPropagation()}
                        title={s.name}
                        className="ellipsis"
                      >
                        {displayName(s)}
                      </Link>
                      {kind !== "workflows" && isLlm(s) ? <span className="badge">LLM</span> : null}
                    </td>
                    <td>
                      <code title={s.trace_id}>{shortId(s.trace_id, 8)}</code>
                    </td>
                    <td>
                      <Timestamp iso={s.start_time} />
                    </td>
                    {kind === "workflows" ? (
                      <td className="right mono">{String(attr(s, "junjo.workflow.node.count") ?? "—")}</td>
                    ) : null}
                    <td className="right mono">{formatDurationMicros(spanDurationMicros(s))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {items.length || pageIndex > 0 ? (
        <Pager
          pageIndex={pageIndex}
          onNewer={() => goToPage(cursors.slice(0, -1))}
          onOlder={
            query.data?.next_cursor
              ? () => goToPage([...cursors, query.data.next_cursor as string])
              : undefined
          }
        />
      ) : null}
    </div>
  );
}

const TITLES: Record<Kind, string> = { workflows: "Workflow executions", traces: "Traces", spans: "Spans" };
const LIST_PATHS: Record<Kind, string> = { workflows: "/logs", traces: "/traces", spans: "/spans" };

function rowHref(kind: Kind, service: string, s: Span): string {
  const svc = encodeURIComponent(service);
  if (kind === "workflows") return `/workflows/${svc}/${s.trace_id}/${s.span_id}`;
  if (kind === "spans") return `/traces/${svc}/${s.trace_id}/${s.span_id}`;
  return `/traces/${svc}/${s.trace_id}`;
}

export function SpansListPage() {
  return <ListPage kind="spans" />;
}

export function WorkflowsListPage() {
  return <ListPage kind="workflows" />;
}

export function TracesListPage() {
  return <ListPage kind="traces" />;
}
