import { describe, expect, it } from "vitest";
import type { Attempt, EvaluationCase, RunDetail } from "../../api/types";
import { changeCounts, classify, compareRuns, percent } from "./compare";

function caseOf(id: string, ordinal: number): EvaluationCase {
  return { id, ordinal, case_key: id } as EvaluationCase;
}

function attempt(id: string, status: Attempt["status"]): Attempt {
  return { id, status } as Attempt;
}

function run(cases: [EvaluationCase, Attempt][]): RunDetail {
  return { cases: cases.map(([c, a]) => ({ case: c, attempt: a })) } as RunDetail;
}

describe("classify", () => {
  it("names what changed from the baseline to the candidate", () => {
    expect(classify("passed", "failed")).toBe("newly_failed");
    expect(classify("failed", "passed")).toBe("newly_passed");
    expect(classify("error", "passed")).toBe("newly_passed");
    expect(classify("passed", "error")).toBe("newly_errored");
    expect(classify("failed", "failed")).toBe("unchanged");
    expect(classify("passed", "queued")).toBe("changed");
  });
});

describe("compareRuns", () => {
  it("aligns attempts by case in ordinal order and counts changes", () => {
    const a = caseOf("a", 1);
    const b = caseOf("b", 2);
    const c = caseOf("c", 3);
    const baseline = run([
      [b, attempt("b1", "passed")],
      [a, attempt("a1", "passed")],
      [c, attempt("c1", "error")],
    ]);
    const candidate = run([
      [a, attempt("a2", "failed")],
      [b, attempt("b2", "passed")],
      [c, attempt("c2", "passed")],
    ]);
    const rows = compareRuns(baseline, candidate);
    expect(rows.map((r) => [r.case.id, r.baseline?.id, r.candidate?.id, r.change])).toEqual([
      ["a", "a1", "a2", "newly_failed"],
      ["b", "b1", "b2", "unchanged"],
      ["c", "c1", "c2", "newly_passed"],
    ]);
    expect(changeCounts(rows)).toEqual({
      newly_failed: 1,
      newly_passed: 1,
      newly_errored: 0,
      unchanged: 1,
      changed: 0,
    });
  });

  it("keeps a case present in only one run", () => {
    const rows = compareRuns(run([]), run([[caseOf("x", 1), attempt("x2", "error")]]));
    expect(rows).toHaveLength(1);
    expect(rows[0].baseline).toBeNull();
    expect(rows[0].change).toBe("newly_errored");
  });
});

describe("percent", () => {
  it("formats fractions and says when there is none", () => {
    expect(percent(2 / 3)).toBe("66.7%");
    expect(percent(null)).toBe("—");
  });
});
