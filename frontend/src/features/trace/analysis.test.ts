import { describe, expect, it } from "vitest";
import { allNodes, criticalPath, selfTimes } from "./analysis";
import { spanAt as span } from "../../test/fixtures";
import { buildSpanTree } from "./tree";

describe("self time", () => {
  it("subtracts the union of children, clipped to the parent", () => {
    const tree = buildSpanTree([
      span("root", null, 0, 100),
      span("a", "root", 10, 40),
      span("b", "root", 30, 60), // overlaps a: union 10..60
      span("c", "root", 90, 130), // clipped to 90..100
    ]);
    const self = selfTimes(tree);
    expect(self.get("root")).toBe((100 - 50 - 10) * 1000);
    expect(self.get("a")).toBe(30_000);
  });
});

describe("critical path", () => {
  it("follows the child that finished last, then earlier non-overlapping children", () => {
    const tree = buildSpanTree([
      span("root", null, 0, 100),
      span("fast", "root", 10, 30),
      span("slow", "root", 10, 80), // root waits on slow
      span("early", "root", 0, 9), // before slow started: also on the path
      span("slow-child", "slow", 20, 70),
      span("parallel", "slow", 20, 30), // hidden behind slow-child
    ]);
    const path = criticalPath(tree);
    expect([...path].sort()).toEqual(["early", "root", "slow", "slow-child"]);
  });

  it("handles a 5,000-deep chain without recursion", () => {
    const spans = [span("s0", null, 0, 10_000)];
    for (let i = 1; i < 5000; i++) spans.push(span(`s${i}`, `s${i - 1}`, i, 10_000 - i));
    const tree = buildSpanTree(spans);
    expect(allNodes(tree)).toHaveLength(5000);
    expect(criticalPath(tree).size).toBe(5000);
    expect(selfTimes(tree).get("s4999")).toBe(2_000);
  });
});
