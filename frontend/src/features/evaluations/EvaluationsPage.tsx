/** Evaluations home: datasets (newest first) and recent runs with their outcome. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { evaluations } from "../../api/endpoints";
import { Empty, ErrorBox, Loading, PageHeader } from "../../components/ui";
import { Timestamp } from "../../components/Timestamp";
import { percent } from "./compare";
import { RunLink, StatusBadge } from "./parts";
import type { RunSummary } from "../../api/types";

export function RunsTable({ runs, label }: { runs: RunSummary[]; label: string }) {
  return (
    <table className="table" aria-label={label}>
      <thead>
        <tr>
          <th>Run</th>
          <th>Dataset</th>
          <th>Status</th>
          <th>Pass rate</th>
          <th>Coverage</th>
          <th>Passed / failed / errors</th>
          <th>Revision</th>
          <th>Started</th>
        </tr>
      </thead>
      <tbody>
        {runs.map(({ run, dataset, outcome_summary: o }) => (
          <tr key={run.id}>
            <td>
              <RunLink id={run.id} label={run.run_label} />
            </td>
            <td>
              <Link to={`/evaluations/datasets/${encodeURIComponent(dataset.id)}`}>{dataset.name}</Link>
            </td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>{percent(o.pass_rate)}</td>
            <td>{percent(o.coverage)}</td>
            <td>
              {o.passed} / {o.failed} / {o.error}
              {o.queued ? <span className="muted"> ({o.queued} queued)</span> : null}
            </td>
            <td>
              <code title={run.source_revision}>{run.source_revision.slice(0, 10)}</code>
            </td>
            <td>
              <Timestamp iso={run.created_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function EvaluationsPage() {
  const datasets = useQuery({ queryKey: ["eval-datasets"], queryFn: () => evaluations.datasets() });
  const runs = useQuery({ queryKey: ["eval-runs"], queryFn: () => evaluations.runs() });
  return (
    <div className="page">
      <PageHeader
        title="Evaluations"
        sub={
          <>
            Datasets and runs recorded with <code>junjo eval</code> (a developer access token from{" "}
            <Link to="/settings">Settings</Link>).
          </>
        }
      />
      <section className="section" aria-labelledby="datasets-title">
        <h2 id="datasets-title">Datasets</h2>
        {datasets.isLoading ? (
          <Loading />
        ) : datasets.error ? (
          <ErrorBox error={datasets.error} />
        ) : !datasets.data?.items.length ? (
          <Empty>No datasets yet. Create one with `junjo eval dataset create`.</Empty>
        ) : (
          <table className="table" aria-label="Datasets">
            <thead>
              <tr>
                <th>Name</th>
                <th>Application</th>
                <th>Key</th>
                <th>Status</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {datasets.data.items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link to={`/evaluations/datasets/${encodeURIComponent(d.id)}`}>{d.name}</Link>
                  </td>
                  <td>{d.application_key}</td>
                  <td>
                    <code>{d.key}</code>
                  </td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>
                    <Timestamp iso={d.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="section" aria-labelledby="runs-title">
        <h2 id="runs-title">Recent runs</h2>
        {runs.isLoading ? (
          <Loading />
        ) : runs.error ? (
          <ErrorBox error={runs.error} />
        ) : !runs.data?.items.length ? (
          <Empty>No runs yet. Execute one with `junjo eval run execute`.</Empty>
        ) : (
          <RunsTable runs={runs.data.items} label="Runs" />
        )}
      </section>
    </div>
  );
}
