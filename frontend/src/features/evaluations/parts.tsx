/** Pieces the evaluation pages share: status badges, outcome figures, evidence links. */
import { useMutation } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";
import { resolveExecution, type ExecutionPaths } from "../../api/endpoints";
import type { Attempt, EvidenceReference, OutcomeSummary } from "../../api/types";
import { ErrorBox } from "../../components/ui";
import { percent } from "./compare";

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge eval-status eval-${status}`}>{status}</span>;
}

export function OutcomeFigures({ summary }: { summary: OutcomeSummary }) {
  return (
    <dl className="eval-figures" aria-label="Outcome summary">
      <div>
        <dt>Pass rate</dt>
        <dd>{percent(summary.pass_rate)}</dd>
      </div>
      <div>
        <dt>Coverage</dt>
        <dd>{percent(summary.coverage)}</dd>
      </div>
      <div>
        <dt>Passed</dt>
        <dd>{summary.passed}</dd>
      </div>
      <div>
        <dt>Failed</dt>
        <dd>{summary.failed}</dd>
      </div>
      <div>
        <dt>Errors</dt>
        <dd>{summary.error}</dd>
      </div>
      <div>
        <dt>Queued</dt>
        <dd>{summary.queued}</dd>
      </div>
    </dl>
  );
}

/** The outcome of the attempts a page already holds (a run's detail carries no summary). */
export function summarize(attempts: Attempt[]): OutcomeSummary {
  const count = (s: Attempt["status"]) => attempts.filter((a) => a.status === s).length;
  const passed = count("passed");
  const failed = count("failed");
  const judged = passed + failed;
  return {
    total: attempts.length,
    queued: count("queued"),
    judged,
    passed,
    failed,
    error: count("error"),
    pass_rate: judged ? passed / judged : null,
    coverage: attempts.length ? judged / attempts.length : null,
  };
}

function referenceLabel(ref: EvidenceReference): string {
  return ref.kind === "otel_span" ? `span ${ref.span_id}` : `${ref.executable_type} ${ref.runtime_id}`;
}

/**
 * Links to the execution an attempt (or generated case) is bound to. A Junjo execution is resolved
 * on click (its trace may still be on its way through ingestion); a span reference links directly.
 */
export function EvidenceLinks({ reference }: { reference: EvidenceReference | null }) {
  const navigate = useNavigate();
  const resolve = useMutation({ mutationFn: resolveExecution });
  if (!reference) return <span className="muted">no evidence</span>;
  const go = (pick: (p: ExecutionPaths) => string) =>
    resolve.mutate(reference, { onSuccess: (paths) => navigate(pick(paths)) });
  const detailLabel =
    reference.kind === "junjo_execution" && reference.executable_type === "agent" ? "Agent" : "Workflow";
  return (
    <span className="eval-evidence" title={referenceLabel(reference)}>
      <button type="button" className="btn btn-ghost btn-xs" onClick={() => go((p) => p.trace_path)}>
        Trace
      </button>
      {reference.kind === "junjo_execution" ? (
        <button type="button" className="btn btn-ghost btn-xs" onClick={() => go((p) => p.detail_path)}>
          {detailLabel}
        </button>
      ) : null}
      {resolve.isPending ? <span className="muted small">resolving…</span> : null}
      {resolve.error ? (
        <ErrorBox
          error={resolve.error}
          title={
            (resolve.error as { status?: number }).status === 404 ? "Evidence not received yet" : "Error"
          }
        />
      ) : null}
    </span>
  );
}

export function RunLink({ id, label }: { id: string; label: string }) {
  return <Link to={`/evaluations/runs/${encodeURIComponent(id)}`}>{label}</Link>;
}

export function JsonCell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const text = JSON.stringify(value);
  return (
    <code className="eval-json" title={text}>
      {text.length > 120 ? `${text.slice(0, 117)}…` : text}
    </code>
  );
}
