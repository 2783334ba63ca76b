import { describe, expect, it } from "vitest";
import { graph } from "../../test/fixtures";
import { hiddenNodeIds, layoutGraph } from "./graphLayout";

describe("layoutGraph", () => {
  const layout = layoutGraph(graph);
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));

  it("hides subflow internals and their edges", () => {
    expect([...hiddenNodeIds(graph)].sort()).toEqual(["s_sink", "s_src"]);
    expect(byId.has("s_src")).toBe(false);
    expect(layout.edges.some((e) => e.from === "s_src")).toBe(false);
  });

  it("draws concurrent children inside their group box", () => {
    const g = byId.get("n_conc")!;
    expect(g.kind).toBe("group");
    for (const c of ["n_a", "n_b"]) {
      const n = byId.get(c)!;
      expect(n.groupId).toBe("n_conc");
      expect(n.x).toBeGreaterThanOrEqual(g.x);
      expect(n.y).toBeGreaterThanOrEqual(g.y);
      expect(n.x + n.w).toBeLessThanOrEqual(g.x + g.w);
      expect(n.y + n.h).toBeLessThanOrEqual(g.y + g.h);
    }
    expect(byId.get("n_a")!.y).toBeLessThan(byId.get("n_b")!.y);
  });

  it("places nodes left to right by dependency and marks conditional edges", () => {
    const x = (id: string) => byId.get(id)!.x;
    expect(x("n_start")).toBeLessThan(x("n_conc"));
    expect(x("n_conc")).toBeLessThan(x("n_sub"));
    expect(x("n_sub")).toBeLessThan(x("n_yes"));
    expect(x("n_yes")).toBe(x("n_no"));
    expect(x("n_yes")).toBeLessThan(x("n_end"));
    expect(byId.get("n_sub")!.kind).toBe("subflow");
    const cond = layout.edges
      .filter((e) => e.conditional)
      .map((e) => e.label)
      .sort();
    expect(cond).toEqual(["is_no", "is_yes"]);
    expect(layout.edges.filter((e) => !e.conditional)).toHaveLength(4);
  });

  it("does not overlap nodes within a layer and fits the canvas", () => {
    const plain = layout.nodes.filter((n) => !n.groupId);
    for (const a of plain)
      for (const b of plain)
        if (a !== b && a.x === b.x) expect(a.y + a.h <= b.y || b.y + b.h <= a.y).toBe(true);
    for (const n of layout.nodes) {
      expect(n.x + n.w).toBeLessThanOrEqual(layout.width);
      expect(n.y + n.h).toBeLessThanOrEqual(layout.height);
    }
  });

  it("survives cycles by routing back edges below", () => {
    const cyc = layoutGraph({
      nodes: [
        { nodeRuntimeId: "a", nodeLabel: "A" },
        { nodeRuntimeId: "b", nodeLabel: "B" },
      ],
      edges: [
        { tailNodeRuntimeId: "a", headNodeRuntimeId: "b", edgeConditionLabel: null },
        { tailNodeRuntimeId: "b", headNodeRuntimeId: "a", edgeConditionLabel: "again" },
      ],
    });
    expect(cyc.nodes).toHaveLength(2);
    expect(cyc.edges.filter((e) => e.back)).toHaveLength(1);
  });

  // Graphs are telemetry: a 5,000-node chain (deeper than the old recursive DFS could go) and a
  // wide fan-out must lay out without exhausting the call stack.
  it.each([5000, 50000])(
    "lays out a %i-node chain",
    (n) => {
      const chain = layoutGraph({
        nodes: Array.from({ length: n }, (_, i) => ({ nodeRuntimeId: `n${i}`, nodeLabel: `N${i}` })),
        edges: Array.from({ length: n - 1 }, (_, i) => ({
          tailNodeRuntimeId: `n${i}`,
          headNodeRuntimeId: `n${i + 1}`,
          edgeConditionLabel: null,
        })),
      });
      expect(chain.nodes).toHaveLength(n);
      expect(chain.edges.filter((e) => e.back)).toHaveLength(0);
      const xs = chain.nodes.map((node) => node.x);
      expect(xs.every((x, i) => i === 0 || x > xs[i - 1])).toBe(true);
    },
    60_000,
  ); // bounded by the runner's timeout only: the machine may be busy

  it("lays out a 5,000-node chain closed into a cycle and a wide fan-out", () => {
    const n = 5000;
    const ids = Array.from({ length: n }, (_, i) => `n${i}`);
    const cycle = layoutGraph({
      nodes: ids.map((id) => ({ nodeRuntimeId: id })),
      edges: ids.map((id, i) => ({
        tailNodeRuntimeId: id,
        headNodeRuntimeId: ids[(i + 1) % n],
        edgeConditionLabel: null,
      })),
    });
    expect(cycle.edges.filter((e) => e.back)).toHaveLength(1);
    const fan = layoutGraph({
      nodes: [{ nodeRuntimeId: "root" }, ...ids.map((id) => ({ nodeRuntimeId: id }))],
      edges: ids.map((id) => ({
        tailNodeRuntimeId: "root",
        headNodeRuntimeId: id,
        edgeConditionLabel: null,
      })),
    });
    expect(fan.nodes).toHaveLength(n + 1);
  });
});
