/** SVG rendering of one workflow/subflow execution graph with executed/failed/selected states. */
import { useEffect, useMemo, useRef } from "react";
import type { GraphSnapshot } from "../../api/types";
import { layoutGraph } from "./graphLayout";

export interface WorkflowGraphProps {
  title: string;
  graph: GraphSnapshot;
  nodeSpans: Map<string, string[]>;
  failedSpans: Set<string>;
  selectedNode?: string;
  chainNodes: Set<string>;
  showEdgeLabels: boolean;
  onSelectSpan: (spanId: string) => void;
}

export function WorkflowGraph({
  title,
  graph,
  nodeSpans,
  failedSpans,
  selectedNode,
  chainNodes,
  showEdgeLabels,
  onSelectSpan,
}: WorkflowGraphProps) {
  const layout = useMemo(() => layoutGraph(graph), [graph]);
  const selRef = useRef<SVGGElement | null>(null);
  useEffect(() => {
    selRef.current?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  }, [selectedNode]);
  const markerId = useMemo(() => `arrow-${Math.random().toString(36).slice(2)}`, []);
  return (
    <figure className="graph" aria-label={`Graph of ${title}`} style={{ margin: 0 }}>
      <figcaption className="graph-title">{title}</figcaption>
      <svg width={layout.width} height={layout.height} role="group" aria-label={`${title} graph`}>
        <defs>
          <marker
            id={markerId}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="currentColor" className="muted" />
          </marker>
        </defs>
        {layout.nodes
          .filter((n) => n.kind === "group")
          .map((n) => {
            const spans = nodeSpans.get(n.id) ?? [];
            const executed = spans.length > 0;
            const failed = spans.some((s) => failedSpans.has(s));
            const cls = [
              "g-group",
              executed && "executed",
              failed && "failed",
              selectedNode === n.id && "selected",
            ]
              .filter(Boolean)
              .join(" ");
            return (
              <g
                key={n.id}
                className={cls}
                role={executed ? "button" : "img"}
                aria-label={`Concurrent group ${n.label}${executed ? "" : " (not executed)"}${failed ? " (failed)" : ""}`}
                aria-pressed={executed ? selectedNode === n.id : undefined}
                data-node-id={n.id}
                tabIndex={executed ? 0 : undefined}
                style={{ cursor: executed ? "pointer" : "default" }}
                onClick={() => executed && onSelectSpan(spans[0])}
                onKeyDown={(e) =>
                  executed &&
                  (e.key === "Enter" || e.key === " ") &&
                  (e.preventDefault(), onSelectSpan(spans[0]))
                }
              >
                <rect x={n.x} y={n.y} width={n.w} height={n.h} />
                <text x={n.x + 8} y={n.y + 15}>
                  ▦ {n.label}
                </text>
              </g>
            );
          })}
        {layout.edges.map((e) => (
          <g key={e.id}>
            <path
              d={e.path}
              className={`g-edge ${e.conditional ? "conditional" : ""}`}
              markerEnd={`url(#${markerId})`}
            >
              {e.label ? <title>{`if ${e.label}`}</title> : null}
            </path>
            {showEdgeLabels && e.label ? (
              <text x={e.labelX} y={e.labelY} className="g-edge-label" textAnchor="middle">
                {e.label}
              </text>
            ) : null}
          </g>
        ))}
        {layout.nodes
          .filter((n) => n.kind !== "group")
          .map((n) => {
            const spans = nodeSpans.get(n.id) ?? [];
            const executed = spans.length > 0;
            const failed = spans.some((s) => failedSpans.has(s));
            const selected = selectedNode === n.id;
            const cls = [
              "g-node",
              executed ? "executed" : "not-executed",
              failed && "failed",
              selected && "selected",
              chainNodes.has(n.id) && "in-chain",
            ]
              .filter(Boolean)
              .join(" ");
            const label = `${n.kind === "subflow" ? "Subflow " : "Node "}${n.label}${executed ? "" : " (not executed)"}${failed ? " (failed)" : ""}`;
            return (
              <g
                key={n.id}
                ref={selected ? selRef : undefined}
                className={cls}
                role={executed ? "button" : "img"}
                aria-label={label}
                aria-pressed={executed ? selected : undefined}
                data-node-id={n.id}
                data-executed={executed}
                data-failed={failed}
                tabIndex={executed ? 0 : undefined}
                onClick={() => executed && onSelectSpan(spans[0])}
                onKeyDown={(e) =>
                  executed &&
                  (e.key === "Enter" || e.key === " ") &&
                  (e.preventDefault(), onSelectSpan(spans[0]))
                }
              >
                {n.kind === "subflow" ? (
                  <>
                    <rect x={n.x + 6} y={n.y - 6} width={n.w} height={n.h} />
                    <rect x={n.x + 3} y={n.y - 3} width={n.w} height={n.h} />
                  </>
                ) : null}
                <rect x={n.x} y={n.y} width={n.w} height={n.h} />
                <text x={n.x + n.w / 2} y={n.y + n.h / 2 + 4} textAnchor="middle">
                  {failed ? "✕ " : ""}
                  {n.label.length > 30 ? `${n.label.slice(0, 29)}…` : n.label}
                  {spans.length > 1 ? ` ×${spans.length}` : ""}
                </text>
                <title>{label}</title>
              </g>
            );
          })}
      </svg>
    </figure>
  );
}
