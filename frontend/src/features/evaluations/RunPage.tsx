/** One run: outcome summary, facets, and every attempt with its status, reason and evidence. */
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import type { RunDetail } from "../../api/types";
import { ErrorBox, Loading, PageHeader } from "../../components/ui";
import { Timestamp } from "../../components/Timestamp";
import { runQuery } from "./queries";
import { EvidenceLinks, JsonCell, OutcomeFigures, StatusBadge, summarize } from "./parts";

function facets(detail: RunDetail): { targets: [string, number][]; evaluations: [string, number][] } {
  const targets = new Map<string, number>();
  const names = new Map<string, number>();
  for (const { case: c } of detail.cases) {
    const target = `${c.target_kind} ${c.target_key} v${c.input_version}`;
    targets.set(target, (targets.get(target) ?? 0) + 1);
    names.set(c.evaluation_name, (names.get(c.evaluation_name) ?? 0) + 1);
  }
  return { targets: [...targets.entries()], evaluations: [...names.entries()] };
}

export default function RunPage() {
  const { runId = "" } = useParams();
  const detail = useQuery({
    ...runQuery(runId),
    // an active run is still being recorded
    refetchInterval: (query) => (query.state.data?.run.status === "active" ? 3000 : false),
  });
  if (detail.isLoading) return <Loading />;
  if (detail.error || !detail.data) return <ErrorBox error={detail.error} />;
  const { run, dataset, cases } = detail.data;
  const { targets, evaluations: names } = facets(detail.data);
  return (
    <div className="page">
      <PageHeader
        title={`Run ${run.run_label}`}
        crumbs={
          <>
            <Link to="/evaluations">Evaluations</Link> /{" "}
            <Link to={`/evaluations/datasets/${encodeURIComponent(dataset.id)}`}>{dataset.name}</Link>
          </>
        }
        sub={
          <>
            <StatusBadge status={run.status} /> revision <code>{run.source_revision}</code> · started{" "}
            <Timestamp iso={run.created_at} />
            {run.completed_at ? (
              <>
                {" "}
                · completed <Timestamp iso={run.completed_at} />
              </>
            ) : null}
          </>
        }
      />
      <section className="card">
        <OutcomeFigures summary={summarize(cases.map((m) => m.attempt))} />
        <div className="row gap wrap small">
          <span className="muted">Targets:</span>
          {targets.map(([t, n]) => (
            <span key={t} className="badge">
              {t} · {n}
            </span>
          ))}
          <span className="muted">Evaluations:</span>
          {names.map(([t, n]) => (
            <span key={t} className="badge">
              {t} · {n}
            </span>
          ))}
        </div>
      </section>
      <table className="table" aria-label="Attempts">
        <thead>
          <tr>
            <th>#</th>
            <th>Case</th>
            <th>Input</th>
            <th>Status</th>
            <th>Reason</th>
            <th>Duration</th>
            <th>Evidence</th>
          </tr>
        </thead>
        <tbody>
          {cases.map(({ case: c, attempt }) => (
            <tr key={attempt.id} id={`attempt-${attempt.id}`}>
              <td>{c.ordinal}</td>
              <td>
                <code>{c.case_key}</code>
                <div className="muted small">
                  {c.target_kind} {c.target_key}
                </div>
              </td>
              <td>
                <JsonCell value={c.input_json} />
              </td>
              <td>
                <StatusBadge status={attempt.status} />
              </td>
              <td className="eval-reason">{attempt.reason ?? <span className="muted">—</span>}</td>
              <td>{attempt.duration_ms === null ? "—" : `${attempt.duration_ms} ms`}</td>
              <td>
                <EvidenceLinks reference={attempt.subject_evidence} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
