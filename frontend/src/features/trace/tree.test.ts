import { describe, expect, it } from "vitest";
import { span, workflowTrace } from "../../test/fixtures";
import { buildSpanTree, flattenWithExtras, searchTree } from "./tree";

const flatten = (roots: Parameters<typeof flattenWithExtras>[0], collapsed: Set<string>) =>
  flattenWithExtras(roots, collapsed, () => []).flatMap((i) => (i.type === "span" ? [i] : []));
import { matchNodeSpans, nodeForSpan } from "../workflow-debugger/matching";
import { graph } from "../../test/fixtures";

describe("buildSpanTree", () => {
  const spans = workflowTrace();
  const tree = buildSpanTree([...spans].reverse());

  it("nests children under parents in start-time order", () => {
    expect(tree.roots.map((r) => r.span.name)).toEqual(["DemoWorkflow"]);
    expect(tree.roots[0].children.map((c) => c.span.name)).toEqual([
      "StartNode",
      "Load",
      "MySubflow",
      "YesNode",
    ]);
    expect(flatten(tree.roots, new Set()).map((r) => [r.span.name, r.depth])).toContainEqual(["LoadA", 2]);
  });

  it("marks the failed span and its path to the root", () => {
    expect([...tree.failed].sort()).toEqual(["6".repeat(16), "w".repeat(16)].sort());
    expect(tree.failedPath.has("w".repeat(16))).toBe(true);
    expect(tree.failedPath.has("1".repeat(16))).toBe(false);
  });

  it("treats spans with missing parents as roots and collapses subtrees", () => {
    const t = buildSpanTree([
      span({ span_id: "x".repeat(16), name: "orphan", parent_span_id: "f".repeat(16) }),
    ]);
    expect(t.roots).toHaveLength(1);
    expect(flatten(tree.roots, new Set(["w".repeat(16)]))).toHaveLength(1);
  });

  it("search keeps matches and their ancestors", () => {
    const r = searchTree(tree, "GPT-X")!;
    expect([...r.matches]).toEqual(["7".repeat(16)]);
    expect(r.visible.has("6".repeat(16))).toBe(true);
    expect(r.visible.has("w".repeat(16))).toBe(true);
    expect(r.visible.has("1".repeat(16))).toBe(false);
    expect(searchTree(tree, "  ")).toBeUndefined();
  });

  it("interleaves extra rows with child spans by time", () => {
    const items = flattenWithExtras(tree.roots, new Set(), (s) =>
      s.name === "DemoWorkflow" ? [{ key: "k", timeUs: 0, payload: "first" }] : [],
    );
    expect(items[1]).toEqual({ type: "extra", depth: 1, key: "k", payload: "first" });
  });
});

describe("graph ↔ span matching", () => {
  const tree = buildSpanTree(workflowTrace());
  const m = matchNodeSpans(graph, tree, "w".repeat(16));
  it("matches nodes by runtime id and subflows by structural id", () => {
    expect(m.get("n_start")).toEqual(["1".repeat(16)]);
    expect(m.get("n_a")).toEqual(["3".repeat(16)]);
    expect(m.get("n_conc")).toEqual(["2".repeat(16)]);
    expect(m.get("n_sub")).toEqual(["4".repeat(16)]);
    expect(m.has("n_no")).toBe(false);
    expect(m.has("s_src")).toBe(false);
  });
  it("maps a descendant span (LLM call) to its owning node", () => {
    expect(nodeForSpan("7".repeat(16), m, tree)).toBe("n_yes");
    expect(nodeForSpan("5".repeat(16), m, tree)).toBe("n_sub");
  });
});
