/**
 * The workflow debugger: execution graph(s) of the selected workflow chain, the store-transition
 * strip (←/→), the span tree with state events interleaved, and the state / span detail panel.
 * Every selection is in the URL: `:spanId` for the span, `?t=<store>:<sequence>` for a transition.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import type { Span, Transition } from "../../api/types";
import { ErrorBox, IdText, Loading, Tabs } from "../../components/ui";
import { displayName, ICON_GLYPH, junjoType, spanIcon } from "../../lib/spans";
import { formatDurationMicros, formatLocal, formatUtcMicros, nanosToMicros, spanDurationMicros } from "../../lib/time";
import { useNeighbours } from "../../lib/useNeighbours";
import { FailureList, SpanDetails } from "../trace/SpanDetails";
import { SpanTreeView } from "../trace/SpanTree";
import { useTraceDocument } from "../trace/TraceDetailPage";
import { buildSpanTree, findNode, type ExtraItem } from "../trace/tree";
import { matchNodeSpans, nodeForSpan } from "./matching";
import { HistoryNotice, StateViewBody } from "./StatePanel";
import { stateViewFor, workflowChain } from "./state";
import { WorkflowGraph } from "./WorkflowGraph";

const transitionKey = (t: Transition) => `${t.store_id}:${t.sequence}`;

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

export default function WorkflowDebuggerPage() {
  const { service = "", traceId = "", workflowSpanId = "", spanId } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const doc = useTraceDocument(traceId);
  const tree = useMemo(() => (doc.data ? buildSpanTree(doc.data.spans) : undefined), [doc.data]);
  const workflow = tree?.byId.get(workflowSpanId);
  const svc = encodeURIComponent(service);
  const base = `/workflows/${svc}/${traceId}/${workflowSpanId}`;
  const selectedId = spanId ?? workflowSpanId;
  const selected = tree?.byId.get(selectedId);
  const nav = useNeighbours("workflows", service, workflowSpanId, "span");
  const [leftTab, setLeftTab] = useState("spans");
  const [rightTab, setRightTab] = useState("details");
  const [edgeLabels, setEdgeLabels] = useState(false);

  // All transitions of every store in this trace, by key.
  const allTransitions = useMemo(() => {
    const m = new Map<string, Transition>();
    for (const w of Object.values(doc.data?.workflows ?? {})) for (const t of w.store?.transitions ?? []) m.set(transitionKey(t), t);
    return m;
  }, [doc.data]);
  const selectedTransition = params.get("t") ? allTransitions.get(params.get("t") as string) : undefined;

  const chain = useMemo(() => (tree && workflow ? workflowChain(selected ? selectedId : workflowSpanId, tree.byId, tree.parentOf, workflowSpanId) : []), [tree, workflow, selected, selectedId, workflowSpanId]);

  // The active store: the selected transition's, else the nearest enclosing workflow/subflow's.
  const activeHistory = useMemo(() => {
    const ws = doc.data?.workflows ?? {};
    if (selectedTransition) {
      const owner = Object.values(ws).find((w) => w.store?.store_id === selectedTransition.store_id);
      if (owner?.store) return owner.store;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const h = ws[chain[i]]?.store;
      if (h) return h;
    }
    return null;
  }, [doc.data, chain, selectedTransition]);
  const transitions = activeHistory?.transitions ?? [];
  const tIndex = selectedTransition ? transitions.findIndex((t) => transitionKey(t) === transitionKey(selectedTransition)) : -1;

  const selectSpan = useCallback(
    (id: string) => {
      navigate(id === workflowSpanId ? base : `${base}/${id}`, { replace: true });
      setRightTab((t) => (t === "before" || t === "after" || t === "patch" || t === "changes" ? t : "details"));
    },
    [navigate, base, workflowSpanId],
  );
  const selectTransition = useCallback(
    (t: Transition) => {
      navigate(`${t.span_id === workflowSpanId ? base : `${base}/${t.span_id}`}?t=${encodeURIComponent(transitionKey(t))}`, { replace: true });
      setRightTab((cur) => (cur === "before" || cur === "after" || cur === "patch" || cur === "changes" ? cur : "after"));
    },
    [navigate, base, workflowSpanId],
  );

  const step = useCallback(
    (dir: 1 | -1) => {
      if (!transitions.length) return;
      let next: Transition | undefined;
      if (tIndex >= 0) next = transitions[tIndex + dir];
      else if (dir === 1) next = transitions.find((t) => t.span_id === selectedId) ?? transitions[0];
      else next = transitions[transitions.length - 1];
      if (next) selectTransition(next);
    },
    [transitions, tIndex, selectedId, selectTransition],
  );
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || isTyping(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "ArrowRight") step(1);
      else if (e.key === "ArrowLeft") step(-1);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [step]);

  const view = useMemo(
    () => (activeHistory && tree ? stateViewFor(activeHistory, selectedTransition, selectedId, tree.parentOf) : undefined),
    [activeHistory, tree, selectedTransition, selectedId],
  );

  // State events as extra rows under their span.
  const extrasFor = useMemo(() => {
    const bySpan = new Map<string, ExtraItem<Transition>[]>();
    for (const t of allTransitions.values()) {
      const list = bySpan.get(t.span_id) ?? bySpan.set(t.span_id, []).get(t.span_id);
      list?.push({ key: transitionKey(t), timeUs: nanosToMicros(t.time_unix_nano), payload: t });
    }
    return (s: Span) => bySpan.get(s.span_id) ?? [];
  }, [allTransitions]);

  if (doc.isLoading) return <Loading label="Loading workflow…" />;
  if (doc.error) return <div className="page"><ErrorBox error={doc.error} title="Error loading workflow" /></div>;
  if (!tree || !workflow) return <div className="page"><ErrorBox error={`Workflow span ${workflowSpanId} is not in trace ${traceId}.`} /></div>;
  if (spanId && !selected) return <div className="page"><ErrorBox error={`Span ${spanId} is not part of this trace.`} /></div>;
  const wfNode = findNode(tree.roots, workflowSpanId);
  const failedInWorkflow = [...tree.failed].filter((id) => id === workflowSpanId || chainContains(tree.parentOf, id, workflowSpanId)).map((id) => tree.byId.get(id) as Span);
  const stateTabs = view ? [{ id: "before", label: "Before" }, { id: "after", label: "After" }, ...(view.patch !== undefined ? [{ id: "patch", label: "Patch" }] : []), { id: "changes", label: "Changes" }] : [];
  const selectedFailed = selected ? tree.failed.has(selected.span_id) : false;
  const rightTabs = [...stateTabs, { id: "details", label: "Span details" }, ...(selectedFailed ? [{ id: "failures", label: "Failures" }] : [])];
  const activeRight = rightTabs.some((t) => t.id === rightTab) ? rightTab : "details";

  return (
    <div className="debugger">
      <header className="page-header">
        <div>
          <nav className="crumbs" aria-label="Breadcrumb">
            <Link to="/">Services</Link> → <Link to={`/logs/${svc}`}>{service}</Link> → Workflow executions
          </nav>
          <h1>
            {workflow.name} <span className="muted small mono">({workflowSpanId})</span>
          </h1>
          <div className="muted small">
            {formatLocal(workflow.start_time)} — {formatDurationMicros(spanDurationMicros(workflow))} · <Link to={`/traces/${svc}/${traceId}`}>View full trace</Link>
          </div>
        </div>
        <div className="header-nav">
          <button type="button" className="btn" aria-label="Previous (newer) execution" disabled={!nav.newer} onClick={() => nav.newer && navigate(`/workflows/${svc}/${nav.newer.traceId}/${nav.newer.spanId}`)}>
            ↑ Newer
          </button>
          <button type="button" className="btn" aria-label="Next (older) execution" disabled={!nav.older} onClick={() => nav.older && navigate(`/workflows/${svc}/${nav.older.traceId}/${nav.older.spanId}`)}>
            ↓ Older
          </button>
        </div>
      </header>

      <section className="graph-panel" aria-label="Workflow graph">
        <label className="check small">
          <input type="checkbox" checked={edgeLabels} onChange={(e) => setEdgeLabels(e.target.checked)} /> Edge labels
        </label>
        {chain.map((ownerId, i) => {
          const evidence = doc.data?.workflows[ownerId];
          const owner = tree.byId.get(ownerId) as Span;
          if (!evidence?.graph) return <p key={ownerId} className="muted">Graph structure not available for {owner?.name ?? ownerId}.</p>;
          const nodeSpans = matchNodeSpans(evidence.graph, tree, ownerId);
          const chainNodes = new Set<string>();
          const nextOwner = chain[i + 1];
          const nested = nextOwner ? nodeForSpan(nextOwner, nodeSpans, tree) : undefined;
          if (nested) chainNodes.add(nested);
          return (
            <WorkflowGraph
              key={ownerId}
              title={`${i > 0 ? "Subflow: " : ""}${owner.name}`}
              graph={evidence.graph}
              nodeSpans={nodeSpans}
              failedSpans={tree.failed}
              selectedNode={nodeForSpan(selectedId, nodeSpans, tree)}
              chainNodes={chainNodes}
              showEdgeLabels={edgeLabels}
              onSelectSpan={selectSpan}
            />
          );
        })}
      </section>

      <section className="state-strip" aria-label="State transitions">
        <div>
          {selectedTransition ? (
            <span>
              <span className="state-mark">▶</span> Transition {selectedTransition.sequence} → <strong>{selectedTransition.store_name}.{selectedTransition.action}</strong>{" "}
              <span className="muted mono small">{selectedTransition.event_id}</span>
            </span>
          ) : activeHistory ? (
            <span className="muted">
              {activeHistory.store_name ?? "Store"}: {transitions.length} transition{transitions.length === 1 ? "" : "s"}. Use ← / → to step through them.
            </span>
          ) : (
            <span className="muted">No store history for this workflow.</span>
          )}
        </div>
        <div className="row gap mono">
          {selectedTransition ? <span>{formatUtcMicros(nanosToMicros(selectedTransition.time_unix_nano))}</span> : null}
          <span aria-label="Transition position">
            ({tIndex >= 0 ? tIndex + 1 : "–"} / {transitions.length})
          </span>
          <button type="button" className="btn btn-xs" aria-label="Previous store transition" disabled={!transitions.length || tIndex === 0} onClick={() => step(-1)}>
            ←
          </button>
          <button type="button" className="btn btn-xs" aria-label="Next store transition" disabled={!transitions.length || tIndex === transitions.length - 1} onClick={() => step(1)}>
            →
          </button>
        </div>
      </section>

      <div className="columns">
        <section className="panel" aria-label="Workflow spans">
          <Tabs
            label="Span lists"
            active={leftTab}
            onChange={setLeftTab}
            tabs={[
              { id: "spans", label: "Workflow spans" },
              { id: "states", label: `State updates (${transitions.length})` },
              ...(failedInWorkflow.length ? [{ id: "failures", label: `Failures (${failedInWorkflow.length})` }] : []),
            ]}
          />
          <div className="panel-scroll">
            {leftTab === "spans" ? (
              <SpanTreeView<Transition>
                tree={tree}
                roots={wfNode ? [wfNode] : undefined}
                selectedId={selectedId}
                onSelect={selectSpan}
                extrasFor={extrasFor}
                label="Workflow span tree"
                arrowCollapse={false}
                rangeUs={[Date.parse(workflow.start_time) * 1000 || tree.startUs, Date.parse(workflow.end_time) * 1000 || tree.endUs]}
                renderExtra={(t) => (
                  <button
                    type="button"
                    className={`state-row ${selectedTransition && transitionKey(selectedTransition) === transitionKey(t) ? "selected" : ""}`}
                    aria-label={`State ${t.sequence}: ${t.store_name}.${t.action}`}
                    onClick={() => selectTransition(t)}
                  >
                    <span className="state-mark">▶</span> {t.store_name} → {t.action} <span className="muted small mono">#{t.sequence}</span>
                  </button>
                )}
              />
            ) : leftTab === "states" ? (
              transitions.length ? (
                <ol className="tree" aria-label="State updates">
                  {transitions.map((t) => {
                    const s = tree.byId.get(t.span_id);
                    return (
                      <li key={transitionKey(t)}>
                        <button type="button" className={`state-row ${selectedTransition && transitionKey(selectedTransition) === transitionKey(t) ? "selected" : ""}`} onClick={() => selectTransition(t)}>
                          <span aria-hidden>{s ? ICON_GLYPH[spanIcon(s)] : "?"}</span>
                          <strong>{s ? displayName(s) : t.span_id}</strong>
                          <span className="state-mark">▶</span> {t.sequence}. {t.store_name} → {t.action}
                          <span className="muted mono small" style={{ marginLeft: "auto" }}>
                            {formatUtcMicros(nanosToMicros(t.time_unix_nano))}
                          </span>
                        </button>
                      </li>
                    );
                  })}
                </ol>
              ) : (
                <p className="muted">No state transitions recorded for this store.</p>
              )
            ) : (
              failedInWorkflow.map((s) => (
                <div key={s.span_id}>
                  <button type="button" className="btn btn-ghost" onClick={() => (selectSpan(s.span_id), setRightTab("failures"))}>
                    <strong>{displayName(s)}</strong>
                  </button>
                  <FailureList span={s} />
                </div>
              ))
            )}
          </div>
        </section>
        <section className="panel" aria-label="Details">
          <Tabs label="State and details" active={activeRight} onChange={setRightTab} tabs={rightTabs} />
          <HistoryNotice history={activeHistory} />
          <div className="panel-scroll" role="tabpanel" aria-label={rightTabs.find((t) => t.id === activeRight)?.label as string}>
            {view && ["before", "after", "patch", "changes"].includes(activeRight) ? (
              <>
                <p className="muted small">{view.label}</p>
                <StateViewBody tab={activeRight} view={view} />
              </>
            ) : activeRight === "failures" && selected ? (
              <FailureList span={selected} />
            ) : selected ? (
              <SpanDetails
                span={selected}
                extra={junjoType(selected) ? <p className="muted small">Junjo {junjoType(selected)} · <IdText id={String(selected.attributes_json["junjo.executable_runtime_id"] ?? "")} /></p> : null}
              />
            ) : null}
          </div>
        </section>
      </div>
    </div>
  );
}

function chainContains(parentOf: Map<string, string>, id: string, ancestor: string): boolean {
  let cur = parentOf.get(id);
  const seen = new Set<string>();
  while (cur && !seen.has(cur)) {
    if (cur === ancestor) return true;
    seen.add(cur);
    cur = parentOf.get(cur);
  }
  return false;
}
