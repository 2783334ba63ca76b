/** Pure comparison of two runs of one dataset: each case's baseline and candidate attempts side by side. */
import type { Attempt, EvaluationCase, RunDetail } from "../../api/types";

export type Change = "newly_failed" | "newly_passed" | "newly_errored" | "unchanged" | "changed";

export const CHANGE_LABELS: Record<Change, string> = {
  newly_failed: "Newly failed",
  newly_passed: "Newly passed",
  newly_errored: "Newly errored",
  unchanged: "Unchanged",
  changed: "Changed",
};

export interface ComparedCase {
  case: EvaluationCase;
  baseline: Attempt | null;
  candidate: Attempt | null;
  change: Change;
}

export function classify(baseline: Attempt["status"] | null, candidate: Attempt["status"] | null): Change {
  if (baseline === candidate) return "unchanged";
  if (candidate === "failed") return "newly_failed";
  if (candidate === "passed") return "newly_passed";
  if (candidate === "error") return "newly_errored";
  return "changed";
}

/** Rows in case order; a case missing from one run (different datasets) keeps a null attempt there. */
export function compareRuns(baseline: RunDetail, candidate: RunDetail): ComparedCase[] {
  const candidates = new Map(candidate.cases.map((m) => [m.case.id, m]));
  const rows: ComparedCase[] = baseline.cases.map((m) => {
    const other = candidates.get(m.case.id)?.attempt ?? null;
    candidates.delete(m.case.id);
    return {
      case: m.case,
      baseline: m.attempt,
      candidate: other,
      change: classify(m.attempt.status, other?.status ?? null),
    };
  });
  for (const m of candidates.values()) {
    rows.push({
      case: m.case,
      baseline: null,
      candidate: m.attempt,
      change: classify(null, m.attempt.status),
    });
  }
  return rows.sort((a, b) => a.case.ordinal - b.case.ordinal);
}

export function changeCounts(rows: ComparedCase[]): Record<Change, number> {
  const counts: Record<Change, number> = {
    newly_failed: 0,
    newly_passed: 0,
    newly_errored: 0,
    unchanged: 0,
    changed: 0,
  };
  for (const row of rows) counts[row.change] += 1;
  return counts;
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${Math.round(value * 1000) / 10}%`;
}
