/** Two runs of one dataset side by side: per case, what changed, with both evidences a click away. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { ErrorBox, Loading, PageHeader } from "../../components/ui";
import { CHANGE_LABELS, changeCounts, compareRuns, type Change } from "./compare";
import { runQuery } from "./queries";
import { EvidenceLinks, OutcomeFigures, RunLink, StatusBadge, summarize } from "./parts";
import { Segmented } from "../../components/Segmented";

const ORDER: Change[] = ["newly_failed", "newly_errored", "newly_passed", "changed", "unchanged"];

export default function ComparePage() {
  const { baselineId = "", candidateId = "" } = useParams();
  const baseline = useQuery(runQuery(baselineId));
  const candidate = useQuery(runQuery(candidateId));
  const [only, setOnly] = useState<Change | "all">("all");
  if (baseline.isLoading || candidate.isLoading) return <Loading />;
  if (!baseline.data || !candidate.data) return <ErrorBox error={baseline.error ?? candidate.error} />;
  const rows = compareRuns(baseline.data, candidate.data);
  const counts = changeCounts(rows);
  const shown = only === "all" ? rows : rows.filter((r) => r.change === only);
  const dataset = baseline.data.dataset;
  return (
    <div className="page">
      <PageHeader
        title={`${baseline.data.run.run_label} → ${candidate.data.run.run_label}`}
        crumbs={
          <>
            <Link to="/evaluations">Evaluations</Link> /{" "}
            <Link to={`/evaluations/datasets/${encodeURIComponent(dataset.id)}`}>{dataset.name}</Link>
          </>
        }
        sub={
          baseline.data.dataset.id !== candidate.data.dataset.id
            ? "These runs are on different datasets: only shared cases line up."
            : undefined
        }
      />
      <div className="columns eval-sides">
        {[baseline.data, candidate.data].map((side, i) => (
          <section className="card" key={side.run.id} aria-label={i ? "Candidate" : "Baseline"}>
            <h2>
              {i ? "Candidate" : "Baseline"}: <RunLink id={side.run.id} label={side.run.run_label} />
            </h2>
            <div className="muted small">
              revision <code>{side.run.source_revision.slice(0, 10)}</code>
            </div>
            <OutcomeFigures summary={summarize(side.cases.map((m) => m.attempt))} />
          </section>
        ))}
      </div>
      <Segmented
        label="Show cases"
        options={[
          { value: "all", label: `All ${rows.length}` },
          ...ORDER.filter((c) => counts[c]).map((c) => ({
            value: c,
            label: `${CHANGE_LABELS[c]} ${counts[c]}`,
          })),
        ]}
        value={only}
        onChange={setOnly}
      />
      <table className="table" aria-label="Comparison">
        <thead>
          <tr>
            <th>#</th>
            <th>Case</th>
            <th>Change</th>
            <th>Baseline</th>
            <th>Candidate</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={row.case.id} className={`eval-change-${row.change}`}>
              <td>{row.case.ordinal}</td>
              <td>
                <code>{row.case.case_key}</code>
                <div className="muted small">{row.case.evaluation_name}</div>
              </td>
              <td>{CHANGE_LABELS[row.change]}</td>
              {[row.baseline, row.candidate].map((attempt, i) => (
                <td key={i}>
                  {attempt ? (
                    <>
                      <StatusBadge status={attempt.status} />
                      <div className="small eval-reason">{attempt.reason}</div>
                      <EvidenceLinks reference={attempt.subject_evidence} />
                    </>
                  ) : (
                    <span className="muted">not in this run</span>
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
