/**
 * Trace detail for any OTLP trace: the span tree with its waterfall (or a sortable span table) on
 * the left, span details on the right. Finding time: a minimap to zoom into a window, the critical
 * path, and jumps to the slowest span and to each error. View, sort, zoom and selection live in the
 * URL, so every view is a link.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { traceDocumentQuery } from "../../api/traceDocument";
import { NeighbourNav } from "../../components/NeighbourNav";
import { Timestamp } from "../../components/Timestamp";
import { TruncationNotice } from "../../components/TruncationNotice";
import { UrlCheckbox } from "../../components/UrlCheckbox";
import { ErrorBox, IdText, Loading, PageHeader } from "../../components/ui";
import { displayName, ICON_GLYPH, ICON_LABEL, junjoType, type SpanIcon } from "../../lib/spans";
import { neutralizeBidi } from "../../lib/text";
import { formatDurationMicros } from "../../lib/time";
import { useNeighbours } from "../../lib/useNeighbours";
import { criticalPath, selfTimes } from "./analysis";
import { Minimap } from "./Minimap";
import { SlowestSpans } from "./SlowestSpans";
import { SpanDetails } from "./SpanDetails";
import { describeUsage, leftOutCalls, subtreeUsage, treeUsage } from "./usage";
import { AgentLinks } from "../agents/AgentLinks";
import { SpanTable, type SortKey } from "./SpanTable";
import { SpanTreeView } from "./SpanTree";
import { ancestors, buildSpanTree, type SpanTree } from "./tree";
import { Segmented } from "../../components/Segmented";

export const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SORT_KEYS: SortKey[] = ["name", "service", "start", "duration", "self", "status"];

/** The trace page named by the URL (`?after=` pages past a truncated answer). */
export function useTraceDocument(traceId: string) {
  const [params] = useSearchParams();
  return useQuery({ ...traceDocumentQuery(traceId, params.get("after")), enabled: TRACE_ID.test(traceId) });
}

function TraceProblem({ traceId, service, error }: { traceId: string; service: string; error?: unknown }) {
  const svc = encodeURIComponent(service);
  if (!TRACE_ID.test(traceId))
    return (
      <div className="alert alert-error" role="alert">
        <strong>This is not a trace id.</strong> Trace ids are 32 hexadecimal characters (0–9, a–f); the link
        may have been cut short. <Link to={`/traces/${svc}`}>Go to the traces of {service}</Link>.
      </div>
    );
  if (error instanceof ApiError && error.status === 404)
    return (
      <div className="alert alert-warn" role="alert">
        <strong>Trace not found in {service}.</strong> It may still be arriving: spans are queryable about a
        second after the exporter sends them, and exporters batch for a few seconds.{" "}
        <button type="button" className="btn btn-xs" onClick={() => window.location.reload()}>
          Try again
        </button>{" "}
        · <Link to={`/traces/${svc}`}>Traces of {service}</Link> · <Link to="/">All services</Link>
      </div>
    );
  return <ErrorBox error={error} title="The trace could not be loaded" />;
}

function IconLegend() {
  const icons: SpanIcon[] = [
    "workflow",
    "subflow",
    "node",
    "concurrent",
    "agent",
    "llm",
    "db",
    "server",
    "code",
  ];
  return (
    <details className="legend small">
      <summary className="muted">Legend</summary>
      <ul aria-label="Span icons">
        {icons.map((i) => (
          <li key={i}>
            <span className="tree-icon" aria-hidden>
              {ICON_GLYPH[i]}
            </span>{" "}
            {ICON_LABEL[i]}
          </li>
        ))}
        <li>
          <span className="legend-swatch critical" aria-hidden /> Critical path
        </li>
        <li>
          <span className="legend-swatch failed" aria-hidden /> Failed span
        </li>
      </ul>
    </details>
  );
}

export default function TraceDetailPage() {
  const { service = "", traceId = "", spanId } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const doc = useTraceDocument(traceId);
  const tree = useMemo(() => (doc.data ? buildSpanTree(doc.data.spans) : undefined), [doc.data]);
  const [query, setQuery] = useState("");
  const root = tree?.roots[0]?.span;
  const requested = spanId ? tree?.byId.get(spanId) : undefined;
  const selected = requested ?? root;
  const nav = useNeighbours("traces", service, traceId, "trace");
  const realService = root?.service_name ?? service;
  const svc = encodeURIComponent(realService);
  useEffect(() => setQuery(""), [traceId]);

  const view = params.get("view") === "table" ? "table" : "tree";
  const showCritical = params.get("critical") === "1";
  const sortKey = (SORT_KEYS as string[]).includes(params.get("sort") ?? "")
    ? (params.get("sort") as SortKey)
    : "duration";
  const sortDesc = params.get("dir") !== "asc";
  const zoom = useMemo<[number, number] | null>(() => {
    const z = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(params.get("zoom") ?? "");
    if (!z || !tree) return null;
    const a = tree.startUs + Number(z[1]) * 1000;
    const b = tree.startUs + Number(z[2]) * 1000;
    return b > a ? [a, b] : null;
  }, [params, tree]);
  const setParam = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };
  const search = params.toString() ? `?${params.toString()}` : "";
  const select = (id: string) =>
    navigate(`/traces/${encodeURIComponent(service)}/${traceId}/${id}${search}`, { replace: true });
  const go = (t?: string) => t && navigate(`/traces/${encodeURIComponent(service)}/${t}`);

  const selfTime = useMemo(() => (tree ? selfTimes(tree) : new Map<string, number>()), [tree]);
  const critical = useMemo(
    () => (tree && showCritical ? criticalPath(tree) : undefined),
    [tree, showCritical],
  );
  const spans = useMemo(() => (tree ? [...tree.byId.values()] : []), [tree]);
  const traceUsage = useMemo(() => (tree ? treeUsage(tree) : undefined), [tree]);
  const failedIds = useMemo(
    () => spans.filter((s) => tree?.failed.has(s.span_id)).map((s) => s.span_id),
    [spans, tree],
  );
  const nextError = () => {
    if (!failedIds.length) return;
    const i = selected ? failedIds.indexOf(selected.span_id) : -1;
    select(failedIds[(i + 1) % failedIds.length]);
  };

  const durationUs = tree ? tree.endUs - tree.startUs : NaN;
  const bad = !TRACE_ID.test(traceId) || !!doc.error;
  return (
    <div className="page">
      <PageHeader
        crumbs={
          <>
            <Link to="/">Services</Link> → <Link to={`/traces/${svc}`}>{neutralizeBidi(realService)}</Link> →
            Trace
          </>
        }
        title={<span className="title-ellipsis">{root ? displayName(root) : "Trace"}</span>}
        sub={
          <>
            {TRACE_ID.test(traceId) ? <IdText id={traceId} /> : null}
            {root ? (
              <>
                {" "}
                · <Timestamp iso={root.start_time} /> · {formatDurationMicros(durationUs)} ·{" "}
                {tree?.byId.size.toLocaleString()} spans
                {traceUsage?.calls ? (
                  <span aria-label="Trace LLM usage"> · {describeUsage(traceUsage)}</span>
                ) : null}
              </>
            ) : null}
          </>
        }
        actions={
          bad ? undefined : (
            <NeighbourNav
              noun="trace"
              newer={nav.newer}
              older={nav.older}
              go={(entry) => go(entry.traceId)}
            />
          )
        }
      />
      <TruncationNotice truncated={doc.data?.truncated} />
      {bad ? (
        <TraceProblem traceId={traceId} service={service} error={doc.error} />
      ) : doc.isLoading ? (
        <Loading label="Loading trace…" />
      ) : tree && selected ? (
        <>
          {realService !== service ? (
            <div className="alert alert-warn trace-notice" role="status">
              This trace belongs to <strong>{neutralizeBidi(realService)}</strong>, not {service}.
            </div>
          ) : null}
          {spanId && !requested ? (
            <div className="alert alert-warn trace-notice" role="status">
              Span <code>{spanId}</code> is not in this trace; the root span is shown instead.
            </div>
          ) : null}
          <div className="trace-layout">
            <div className="panel">
              <Minimap
                spans={spans}
                startUs={tree.startUs}
                endUs={tree.endUs}
                window={zoom}
                onWindow={(w) =>
                  setParam({
                    zoom: w
                      ? `${((w[0] - tree.startUs) / 1000).toFixed(3)}-${((w[1] - tree.startUs) / 1000).toFixed(3)}`
                      : null,
                  })
                }
                failed={tree.failed}
                highlight={critical}
              />
              <div className="tree-toolbar">
                <input
                  type="search"
                  className="grow"
                  aria-label="Search within trace"
                  placeholder="Search spans, attributes…"
                  value={query}
                  onChange={(e) => setQuery(e.target.value)}
                />
                <Segmented
                  label="Trace view"
                  options={[
                    { value: "tree", label: "Waterfall" },
                    { value: "table", label: "Table" },
                  ]}
                  value={view}
                  onChange={(v) => setParam({ view: v === "tree" ? null : v })}
                />
                <UrlCheckbox
                  className="check small"
                  checked={showCritical}
                  onChange={(on) => setParam({ critical: on ? "1" : null })}
                >
                  Critical path
                </UrlCheckbox>
                <SlowestSpans
                  spans={tree.byId}
                  selfTimes={selfTime}
                  selectedId={selected.span_id}
                  onSelect={select}
                />
                <button
                  type="button"
                  className="btn btn-xs"
                  disabled={!failedIds.length}
                  onClick={nextError}
                  title="Select the next failed span"
                >
                  {failedIds.length ? `Next error (${failedIds.length})` : "No errors"}
                </button>
                <IconLegend />
              </div>
              <div className="panel-scroll">
                {view === "table" ? (
                  <SpanTable
                    spans={query ? spans.filter((s) => matches(s, query)) : spans}
                    selfTimes={selfTime}
                    traceStartUs={tree.startUs}
                    selectedId={selected.span_id}
                    onSelect={select}
                    highlight={critical}
                    sort={{ key: sortKey, desc: sortDesc }}
                    onSort={(k) =>
                      setParam(
                        k === sortKey
                          ? { dir: sortDesc ? "asc" : null }
                          : { sort: k === "duration" ? null : k, dir: null },
                      )
                    }
                  />
                ) : (
                  <SpanTreeView
                    tree={tree}
                    selectedId={selected.span_id}
                    onSelect={select}
                    query={query}
                    label="Trace spans"
                    rangeUs={zoom ?? undefined}
                    highlight={critical}
                  />
                )}
              </div>
            </div>
            <div className="panel panel-scroll">
              <SpanDetails
                span={selected}
                traceStartUs={tree.startUs}
                subtreeUsage={subtreeUsage(tree, selected.span_id)}
                leftOut={leftOutCalls(tree).has(selected.span_id)}
                extra={
                  <>
                    {debuggerLink(tree, selected.span_id, svc, traceId)}
                    <AgentLinks span={selected} spans={tree.byId.values()} />
                  </>
                }
              />
            </div>
          </div>
        </>
      ) : (
        <p className="muted">No spans in this trace.</p>
      )}
    </div>
  );
}

function matches(s: { name: string; span_id: string; service_name: string }, query: string): boolean {
  const q = query.trim().toLowerCase();
  return (
    !q ||
    s.name.toLowerCase().includes(q) ||
    s.span_id.includes(q) ||
    s.service_name.toLowerCase().includes(q)
  );
}

/** A link into the workflow debugger for a workflow span, or for any span inside a workflow. */
function debuggerLink(tree: SpanTree, spanId: string, svc: string, traceId: string) {
  const chain = [spanId, ...ancestors(tree, spanId)];
  const workflowId = chain.find((id) => junjoType(tree.byId.get(id)) === "workflow");
  if (!workflowId) return null;
  const to =
    workflowId === spanId
      ? `/workflows/${svc}/${traceId}/${workflowId}`
      : `/workflows/${svc}/${traceId}/${workflowId}/${spanId}`;
  return (
    <p>
      <Link className="btn" to={to}>
        {workflowId === spanId ? "Open in workflow debugger →" : "Show in workflow debugger →"}
      </Link>
    </p>
  );
}
