/** One dataset: its cases (input, expectation, provenance), its runs, and a picker to compare two runs. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { evaluations } from "../../api/endpoints";
import { Empty, ErrorBox, Loading, PageHeader } from "../../components/ui";
import { Timestamp } from "../../components/Timestamp";
import type { RunSummary } from "../../api/types";
import { RunsTable } from "./EvaluationsPage";
import { EvidenceLinks, JsonCell, StatusBadge } from "./parts";

export default function DatasetPage() {
  const { datasetId = "" } = useParams();
  const navigate = useNavigate();
  const detail = useQuery({
    queryKey: ["eval-dataset", datasetId],
    queryFn: () => evaluations.dataset(datasetId),
  });
  const runs = useQuery({ queryKey: ["eval-runs", datasetId], queryFn: () => evaluations.runs(datasetId) });
  const [baseline, setBaseline] = useState("");
  const [candidate, setCandidate] = useState("");
  if (detail.isLoading) return <Loading />;
  if (detail.error || !detail.data) return <ErrorBox error={detail.error} />;
  const { dataset, cases } = detail.data;
  const runItems = runs.data?.items ?? [];
  return (
    <div className="page">
      <PageHeader
        title={dataset.name}
        crumbs={<Link to="/evaluations">Evaluations</Link>}
        sub={
          <>
            {dataset.application_key} · <code>{dataset.key}</code> · <StatusBadge status={dataset.status} />
            {dataset.locked_at ? (
              <>
                {" "}
                locked <Timestamp iso={dataset.locked_at} />
              </>
            ) : null}
          </>
        }
      />
      {dataset.description ? <p>{dataset.description}</p> : null}
      <section className="section" aria-labelledby="cases-title">
        <h2 id="cases-title">Cases ({cases.length})</h2>
        {!cases.length ? (
          <Empty>No cases yet. Add them with `junjo eval dataset add` or `junjo eval case generate`.</Empty>
        ) : (
          <table className="table" aria-label="Cases">
            <thead>
              <tr>
                <th>#</th>
                <th>Case</th>
                <th>Evaluation</th>
                <th>Target</th>
                <th>Input</th>
                <th>Expectation</th>
                <th>Origin</th>
              </tr>
            </thead>
            <tbody>
              {cases.map((c) => (
                <tr key={c.id}>
                  <td>{c.ordinal}</td>
                  <td>
                    <code>{c.case_key}</code>
                  </td>
                  <td>{c.evaluation_name}</td>
                  <td>
                    {c.target_kind} <code>{c.target_key}</code> v{c.input_version}
                  </td>
                  <td>
                    <JsonCell value={c.input_json} />
                  </td>
                  <td>
                    <JsonCell value={c.expectation_json} />
                  </td>
                  <td>
                    {c.origin}
                    {c.source_evidence ? <EvidenceLinks reference={c.source_evidence} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="section" aria-labelledby="dataset-runs-title">
        <h2 id="dataset-runs-title">Runs</h2>
        {runs.error ? <ErrorBox error={runs.error} /> : null}
        {runItems.length ? (
          <>
            <RunsTable runs={runItems} label="Dataset runs" />
            <form
              className="card row gap wrap"
              aria-label="Compare runs"
              onSubmit={(e) => {
                e.preventDefault();
                navigate(
                  `/evaluations/compare/${encodeURIComponent(baseline)}/${encodeURIComponent(candidate)}`,
                );
              }}
            >
              <RunSelect label="Baseline" runs={runItems} value={baseline} onChange={setBaseline} />
              <RunSelect label="Candidate" runs={runItems} value={candidate} onChange={setCandidate} />
              <button className="btn btn-primary" type="submit" disabled={!baseline || !candidate}>
                Compare
              </button>
            </form>
          </>
        ) : runs.isLoading ? (
          <Loading />
        ) : (
          <Empty>No runs on this dataset yet.</Empty>
        )}
      </section>
    </div>
  );
}

function RunSelect({
  label,
  runs,
  value,
  onChange,
}: {
  label: string;
  runs: RunSummary[];
  value: string;
  onChange: (runId: string) => void;
}) {
  return (
    <label>
      {label}
      <select aria-label={`${label} run`} value={value} onChange={(e) => onChange(e.target.value)} required>
        <option value="">Choose a run</option>
        {runs.map(({ run }) => (
          <option key={run.id} value={run.id}>
            {run.run_label}
          </option>
        ))}
      </select>
    </label>
  );
}
