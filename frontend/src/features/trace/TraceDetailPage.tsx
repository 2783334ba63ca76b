/** Trace detail for any OTLP trace: span tree + waterfall on the left, span details on the right. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { traceDocumentQuery } from "../../api/traceDocument";
import { ErrorBox, IdText, Loading, PageHeader } from "../../components/ui";
import { junjoType } from "../../lib/spans";
import { formatDurationMicros, formatLocal } from "../../lib/time";
import { useNeighbours } from "../../lib/useNeighbours";
import { SpanDetails } from "./SpanDetails";
import { SpanTreeView } from "./SpanTree";
import { ancestors, buildSpanTree, type SpanTree } from "./tree";

export function useTraceDocument(traceId: string) {
  return useQuery(traceDocumentQuery(traceId));
}

export default function TraceDetailPage() {
  const { service = "", traceId = "", spanId } = useParams();
  const navigate = useNavigate();
  const doc = useTraceDocument(traceId);
  const tree = useMemo(() => (doc.data ? buildSpanTree(doc.data.spans) : undefined), [doc.data]);
  const [query, setQuery] = useState("");
  const root = tree?.roots[0]?.span;
  const selected = (spanId && tree?.byId.get(spanId)) || root;
  const nav = useNeighbours("traces", service, traceId, "trace");
  const svc = encodeURIComponent(service);
  const go = (t?: string) => t && navigate(`/traces/${svc}/${t}`);
  useEffect(() => setQuery(""), [traceId]);
  const select = (id: string) => navigate(`/traces/${svc}/${traceId}/${id}`, { replace: true });
  const durationUs = tree ? tree.endUs - tree.startUs : NaN;
  return (
    <div className="page">
      <PageHeader
        crumbs={
          <>
            <Link to="/">Services</Link> → <Link to={`/traces/${svc}`}>{service}</Link> → Trace
          </>
        }
        title={root ? root.name : "Trace"}
        sub={
          <>
            <IdText id={traceId} />{" "}
            {root
              ? `· ${formatLocal(root.start_time)} · ${formatDurationMicros(durationUs)} · ${tree?.byId.size} spans`
              : ""}
          </>
        }
        actions={
          <div className="header-nav">
            <button
              type="button"
              className="btn"
              aria-label="Previous (newer) trace"
              disabled={!nav.newer}
              onClick={() => go(nav.newer?.traceId)}
            >
              ↑ Newer
            </button>
            <button
              type="button"
              className="btn"
              aria-label="Next (older) trace"
              disabled={!nav.older}
              onClick={() => go(nav.older?.traceId)}
            >
              ↓ Older
            </button>
          </div>
        }
      />
      {doc.isLoading ? (
        <Loading label="Loading trace…" />
      ) : doc.error ? (
        <ErrorBox error={doc.error} title="Error loading trace" />
      ) : tree && selected ? (
        <div className="trace-layout">
          <div className="panel">
            <div className="tree-toolbar">
              <input
                type="search"
                className="grow"
                aria-label="Search within trace"
                placeholder="Search spans, attributes…"
                value={query}
                onChange={(e) => setQuery(e.target.value)}
              />
              {tree.failed.size ? <span className="badge badge-error">{tree.failed.size} failed</span> : null}
            </div>
            <div className="panel-scroll">
              <SpanTreeView
                tree={tree}
                selectedId={selected.span_id}
                onSelect={select}
                query={query}
                label="Trace spans"
              />
            </div>
          </div>
          <div className="panel panel-scroll">
            <SpanDetails span={selected} extra={debuggerLink(tree, selected.span_id, svc, traceId)} />
          </div>
        </div>
      ) : (
        <p className="muted">No spans in this trace.</p>
      )}
    </div>
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
