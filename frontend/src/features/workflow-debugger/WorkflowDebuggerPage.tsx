/**
 * The workflow debugger: execution graph(s) of the selected workflow chain, the store-transition
 * strip (←/→), the span tree with state events interleaved, and the state / span detail panel.
 * Every selection is in the URL: `:spanId` for the span, `?t=<store>:<sequence>` for a transition.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import type { Span, Transition } from "../../api/types";
import { NeighbourNav } from "../../components/NeighbourNav";
import { Timestamp } from "../../components/Timestamp";
import { TruncationNotice } from "../../components/TruncationNotice";
import { ErrorBox, IdText, Loading, Tabs, useDocumentTitle } from "../../components/ui";
import { displayName, junjoType } from "../../lib/spans";
import { formatDurationMicros, isoToMicros, nanosToMicros, spanDurationMicros } from "../../lib/time";
import { useNeighbours } from "../../lib/useNeighbours";
import { FailureList, SpanDetails } from "../trace/SpanDetails";
import { AgentLinks } from "../agents/AgentLinks";
import { SpanTreeView } from "../trace/SpanTree";
import { useTraceDocument } from "../trace/TraceDetailPage";
import { ancestors, buildSpanTree, findNode, type ExtraItem } from "../trace/tree";
import { StateStrip } from "./StateStrip";
import { StateUpdatesList, TreeStateRow, transitionKey } from "./StateRows";
import { matchNodeSpans, nodeForSpan } from "./matching";
import { HistoryNotice, StateViewBody } from "./StatePanel";
import { stateViewFor, workflowChain } from "./state";
import { WorkflowGraph } from "./WorkflowGraph";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return (
    !!el &&
    (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable)
  );
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
  const [query, setQuery] = useState("");

  // All transitions of every store in this trace, by key.
  const allTransitions = useMemo(() => {
    const m = new Map<string, Transition>();
    for (const w of Object.values(doc.data?.workflows ?? {}))
      for (const t of w.store?.transitions ?? []) m.set(transitionKey(t), t);
    return m;
  }, [doc.data]);
  const selectedTransition = params.get("t") ? allTransitions.get(params.get("t") as string) : undefined;

  const chain = useMemo(
    () =>
      tree && workflow
        ? workflowChain(selected ? selectedId : workflowSpanId, tree.byId, tree.parentOf, workflowSpanId)
        : [],
    [tree, workflow, selected, selectedId, workflowSpanId],
  );

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
  const transitions = useMemo(() => activeHistory?.transitions ?? [], [activeHistory]);
  const tIndex = selectedTransition
    ? transitions.findIndex((t) => transitionKey(t) === transitionKey(selectedTransition))
    : -1;

  const selectSpan = useCallback(
    (id: string) => {
      navigate(id === workflowSpanId ? base : `${base}/${id}`, { replace: true });
      setRightTab((t) =>
        t === "before" || t === "after" || t === "patch" || t === "changes" ? t : "details",
      );
    },
    [navigate, base, workflowSpanId],
  );
  const selectTransition = useCallback(
    (t: Transition) => {
      navigate(
        `${t.span_id === workflowSpanId ? base : `${base}/${t.span_id}`}?t=${encodeURIComponent(transitionKey(t))}`,
        { replace: true },
      );
      setRightTab((cur) =>
        cur === "before" || cur === "after" || cur === "patch" || cur === "changes" ? cur : "after",
      );
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
    () =>
      activeHistory && tree
        ? stateViewFor(activeHistory, selectedTransition, selectedId, tree.parentOf)
        : undefined,
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

  useDocumentTitle(workflow ? `${workflow.name} (${service})` : "Workflow");
  if (doc.isLoading) return <Loading label="Loading workflow…" />;
  if (doc.error)
    return (
      <div className="page">
        <ErrorBox error={doc.error} title="Error loading workflow" />
      </div>
    );
  if (!tree || !workflow)
    return (
      <div className="page">
        <ErrorBox error={`Workflow span ${workflowSpanId} is not in trace ${traceId}.`} />
      </div>
    );
  if (spanId && !selected)
    return (
      <div className="page">
        <ErrorBox error={`Span ${spanId} is not part of this trace.`} />
      </div>
    );
  const wfNode = findNode(tree.roots, workflowSpanId);
  const diagnostics = (doc.data?.diagnostics ?? []).filter(
    (d) => !d.span_id || d.span_id === workflowSpanId || ancestors(tree, d.span_id).includes(workflowSpanId),
  );
  // Where the failure started comes first: the deepest failed span (the failing node), then the
  // spans that failed because of it, up to the workflow.
  const failedInWorkflow = [...tree.failed]
    .filter((id) => id === workflowSpanId || ancestors(tree, id).includes(workflowSpanId))
    .map((id) => ({ span: tree.byId.get(id) as Span, depth: ancestors(tree, id).length }))
    .sort((a, b) => b.depth - a.depth || a.span.start_time.localeCompare(b.span.start_time))
    .map((f) => f.span);
  const stateTabs = view
    ? [
        { id: "before", label: "Before" },
        { id: "after", label: "After" },
        ...(view.patch !== undefined ? [{ id: "patch", label: "Patch" }] : []),
        { id: "changes", label: "Changes" },
      ]
    : [];
  const selectedFailed = selected ? tree.failed.has(selected.span_id) : false;
  const rightTabs = [
    ...stateTabs,
    { id: "details", label: "Span details" },
    ...(selectedFailed ? [{ id: "failures", label: "Failures" }] : []),
  ];
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
            <Timestamp iso={workflow.start_time} /> — {formatDurationMicros(spanDurationMicros(workflow))} ·{" "}
            <Link to={`/traces/${svc}/${traceId}`}>View full trace</Link>
          </div>
        </div>
        <NeighbourNav
          noun="execution"
          newer={nav.newer}
          older={nav.older}
          go={(entry) => navigate(`/workflows/${svc}/${entry.traceId}/${entry.spanId}`)}
        />
      </header>

      <section className="graph-panel" aria-label="Workflow graph">
        <label className="check small">
          <input type="checkbox" checked={edgeLabels} onChange={(e) => setEdgeLabels(e.target.checked)} />{" "}
          Edge labels
        </label>
        {chain.map((ownerId, i) => {
          const evidence = doc.data?.workflows[ownerId];
          const owner = tree.byId.get(ownerId) as Span;
          if (!evidence?.graph)
            return (
              <p key={ownerId} className="muted">
                Graph structure not available for {owner?.name ?? ownerId}.
              </p>
            );
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

      <TruncationNotice truncated={doc.data?.truncated} />
      {diagnostics.length ? (
        <details className="alert alert-warn" aria-label="Telemetry diagnostics">
          <summary>
            {diagnostics.length} telemetry diagnostic{diagnostics.length === 1 ? "" : "s"}: parts of this
            execution are shown as sent
          </summary>
          <ul>
            {diagnostics.map((d, i) => (
              <li key={i}>
                <code>{d.code}</code>
                {d.span_id ? <> on {tree.byId.get(d.span_id)?.name ?? d.span_id}</> : null}: {d.message}
              </li>
            ))}
          </ul>
        </details>
      ) : null}

      <StateStrip history={activeHistory} selected={selectedTransition} index={tIndex} onStep={step} />

      <div className="columns">
        <section className="panel" aria-label="Workflow spans">
          <Tabs
            label="Span lists"
            active={leftTab}
            onChange={setLeftTab}
            tabs={[
              { id: "spans", label: "Workflow spans" },
              { id: "states", label: `State updates (${transitions.length})` },
              ...(failedInWorkflow.length
                ? [{ id: "failures", label: `Failures (${failedInWorkflow.length})` }]
                : []),
            ]}
          />
          <div className="panel-scroll">
            {leftTab === "spans" ? (
              <>
                <input
                  type="search"
                  className="tree-search"
                  aria-label="Search workflow spans"
                  placeholder="Search spans, attributes…"
                  value={query}
                  onChange={(e) => setQuery(e.target.value)}
                />
                <SpanTreeView<Transition>
                  tree={tree}
                  query={query}
                  roots={wfNode ? [wfNode] : undefined}
                  selectedId={selectedId}
                  onSelect={selectSpan}
                  extrasFor={extrasFor}
                  label="Workflow span tree"
                  arrowCollapse={false}
                  rangeUs={[isoToMicros(workflow.start_time), isoToMicros(workflow.end_time)]}
                  renderExtra={(t) => (
                    <TreeStateRow t={t} selected={selectedTransition} onSelect={selectTransition} />
                  )}
                />
              </>
            ) : leftTab === "states" ? (
              <StateUpdatesList
                transitions={transitions}
                byId={tree.byId}
                selected={selectedTransition}
                onSelect={selectTransition}
              />
            ) : (
              failedInWorkflow.map((s) => (
                <div key={s.span_id}>
                  <button
                    type="button"
                    className="btn btn-ghost"
                    onClick={() => (selectSpan(s.span_id), setRightTab("failures"))}
                  >
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
          <div
            className="panel-scroll"
            role="tabpanel"
            aria-label={rightTabs.find((t) => t.id === activeRight)?.label as string}
          >
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
                extra={
                  <>
                    {junjoType(selected) ? (
                      <p className="muted small">
                        Junjo {junjoType(selected)} ·{" "}
                        <IdText id={String(selected.attributes_json["junjo.executable_runtime_id"] ?? "")} />
                      </p>
                    ) : null}
                    <AgentLinks span={selected} spans={tree.byId.values()} />
                  </>
                }
              />
            ) : null}
          </div>
        </section>
      </div>
    </div>
  );
}
