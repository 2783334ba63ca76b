/** Links from a span to the Agent execution it belongs to or that runs under it (node → Agent). */
import { Link } from "react-router";
import type { Span } from "../../api/types";
import { attr } from "../../lib/spans";

/** Agent owner spans for `span`: itself, its direct Agent children, or the Agent owning an operation. */
export function agentRunsFor(span: Span, spans: Iterable<Span>): Span[] {
  if (attr(span, "junjo.span_type") === "agent") return [span];
  const all = [...spans];
  if (typeof attr(span, "junjo.agent.operation_type") === "string") {
    const owner = all.find(
      (s) => s.span_id === span.parent_span_id && attr(s, "junjo.span_type") === "agent",
    );
    return owner ? [owner] : [];
  }
  return all.filter((s) => s.parent_span_id === span.span_id && attr(s, "junjo.span_type") === "agent");
}

export function AgentLinks({ span, spans }: { span: Span; spans: Iterable<Span> }) {
  const runs = agentRunsFor(span, spans);
  if (!runs.length) return null;
  return (
    <p className="agent-links">
      {runs.map((a) => (
        <Link key={a.span_id} className="btn" to={`/agents/${a.trace_id}/${a.span_id}`}>
          Open Agent {String(attr(a, "junjo.agent.name") ?? a.name)} →
        </Link>
      ))}
    </p>
  );
}
