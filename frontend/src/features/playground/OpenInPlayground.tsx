/** "Open in playground" for any LLM span (OpenInference or GenAI conventions); mounted in Span Details. */
import { Link } from "react-router";
import type { Span } from "../../api/types";
import { useIsAdmin } from "../../auth/AuthProvider";
import { isLlm } from "../../lib/spans";

export function playgroundPath(span: Span): string {
  const enc = encodeURIComponent;
  return `/traces/${enc(span.service_name)}/${enc(span.trace_id)}/${enc(span.span_id)}/playground`;
}

export function OpenInPlayground({ span }: { span: Span }) {
  const isAdmin = useIsAdmin();
  if (!isLlm(span) || !isAdmin) return null; // model calls cost money: admins only
  return (
    <p>
      <Link className="btn" to={playgroundPath(span)}>
        Open in playground →
      </Link>
    </p>
  );
}
