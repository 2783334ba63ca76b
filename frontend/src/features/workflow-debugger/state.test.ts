import { describe, expect, it } from "vitest";
import { workflowTrace } from "../../test/fixtures";
import { buildSpanTree } from "../trace/tree";
import { applyPatch, diffValues, replayStore, stateViewFor, workflowChain } from "./state";

describe("applyPatch", () => {
  it("applies RFC 6902 operations without mutating the input", () => {
    const doc = { a: 1, list: [1, 2], nested: { x: "y" } };
    const out = applyPatch(doc, [
      { op: "replace", path: "/a", value: 2 },
      { op: "add", path: "/list/-", value: 3 },
      { op: "add", path: "/list/0", value: 0 },
      { op: "remove", path: "/nested/x" },
      { op: "add", path: "/new/deep", value: true },
      { op: "copy", from: "/a", path: "/b" },
      { op: "move", from: "/b", path: "/c" },
      { op: "add", path: "/we~1ird~0key", value: 1 },
    ]);
    expect(out).toEqual({ a: 2, c: 2, list: [0, 1, 2, 3], nested: {}, new: { deep: true }, "we/ird~key": 1 });
    expect(doc).toEqual({ a: 1, list: [1, 2], nested: { x: "y" } });
  });

  it("replaces the whole document with an empty path", () => {
    expect(applyPatch({ a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }])).toEqual({ b: 2 });
  });

  it("rejects unknown ops and failed tests", () => {
    expect(() => applyPatch({}, [{ op: "bogus", path: "/a" }])).toThrow(/unknown/);
    expect(() => applyPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(/test failed/);
  });
});

describe("diffValues", () => {
  it("lists leaf changes as JSON pointers", () => {
    expect(diffValues({ a: 1, b: { c: 2 }, d: [1] }, { a: 1, b: { c: 3 }, d: [1, 2], e: null })).toEqual([
      { path: "/b/c", kind: "changed", before: 2, after: 3 },
      { path: "/d/1", kind: "added", after: 2 },
      { path: "/e", kind: "added", after: null },
    ]);
    expect(diffValues({ x: 1 }, {})).toEqual([{ path: "/x", kind: "removed", before: 1 }]);
    expect(diffValues(1, 1)).toEqual([]);
  });
});

describe("replayStore", () => {
  const spans = workflowTrace();
  const tree = buildSpanTree(spans);
  const owner = spans[0];

  it("replays transitions in sequence order and verifies the end state", () => {
    const h = replayStore(owner, spans, tree.parentOf)!;
    expect(h.verified).toBe(true);
    expect(h.transitions.map((t) => [t.sequence, t.action])).toEqual([
      [1, "set_count"],
      [2, "add_item"],
    ]);
    expect(h.transitions[0].before).toEqual({ count: 0, items: [] });
    expect(h.transitions[1].after).toEqual({ count: 2, items: ["a"] });
  });

  it("reports failure when the patches do not reproduce the end state", () => {
    const bad = { ...owner, attributes_json: { ...owner.attributes_json, "junjo.workflow.state.end": JSON.stringify({ count: 99 }) } };
    const h = replayStore(bad, [bad, ...spans.slice(1)], tree.parentOf)!;
    expect(h.verified).toBe(false);
    expect(h.reason).toMatch(/does not match/);
  });

  it("gives Before/After for a transition, a span boundary and the owner", () => {
    const h = replayStore(owner, spans, tree.parentOf)!;
    expect(stateViewFor(h, h.transitions[1], undefined, tree.parentOf)?.patch).toHaveLength(2);
    const conc = stateViewFor(h, undefined, "2".repeat(16), tree.parentOf)!;
    expect(conc.before).toEqual({ count: 1, items: [] });
    expect(conc.after).toEqual({ count: 2, items: ["a"] });
    expect(stateViewFor(h, undefined, owner.span_id, tree.parentOf)?.after).toEqual({ count: 2, items: ["a"] });
    expect(stateViewFor(h, undefined, "6".repeat(16), tree.parentOf)).toBeUndefined();
  });
});

describe("workflowChain", () => {
  it("collects workflow and subflow ancestors outermost first", () => {
    const tree = buildSpanTree(workflowTrace());
    const top = "w".repeat(16);
    expect(workflowChain("5".repeat(16), tree.byId, tree.parentOf, top)).toEqual([top, "4".repeat(16)]);
    expect(workflowChain("3".repeat(16), tree.byId, tree.parentOf, top)).toEqual([top]);
    expect(workflowChain(undefined, tree.byId, tree.parentOf, top)).toEqual([top]);
  });
});
