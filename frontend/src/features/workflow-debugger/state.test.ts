import { describe, expect, it } from "vitest";
import { workflowTrace } from "../../test/fixtures";
import { buildSpanTree } from "../trace/tree";
import { adaptStore } from "../../api/traceDocument";
import { diffValues, stateViewFor, workflowChain } from "./state";

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

describe("store history views", () => {
  const spans = workflowTrace();
  const tree = buildSpanTree(spans);
  const owner = spans[0].span_id;
  // The backend's StoreHistory JSON for the fixture's two transitions.
  const h = adaptStore(owner, {
    store_id: "st1",
    status: "verified",
    reasons: [],
    start: { count: 0, items: [] },
    end: { count: 2, items: ["a"] },
    transitions: [
      {
        sequence: 1,
        revision_before: 0,
        revision_after: 1,
        span_id: "1".repeat(16),
        event_id: "e1",
        store_name: "DemoStore",
        action: "set_count",
        time_unix_nano: "1795700000000001000",
        patch: [{ op: "replace", path: "/count", value: 1 }],
        before: { count: 0, items: [] },
        after: { count: 1, items: [] },
      },
      {
        sequence: 2,
        revision_before: 1,
        revision_after: 2,
        span_id: "3".repeat(16),
        event_id: "e2",
        store_name: "DemoStore",
        action: "add_item",
        time_unix_nano: "1795700000000002000",
        patch: [
          { op: "replace", path: "/count", value: 2 },
          { op: "add", path: "/items/-", value: "a" },
        ],
        before: { count: 1, items: [] },
        after: { count: 2, items: ["a"] },
      },
    ],
  })!;

  it("adapts the backend history and keeps verification status", () => {
    expect(h.verified).toBe(true);
    expect(h.store_name).toBe("DemoStore");
    expect(h.transitions.map((t) => [t.sequence, t.action, t.store_id])).toEqual([
      [1, "set_count", "st1"],
      [2, "add_item", "st1"],
    ]);
    const failed = adaptStore(owner, {
      store_id: "st1",
      status: "failed",
      reasons: ["a", "b"],
      start: null,
      end: null,
      transitions: [],
    })!;
    expect(failed.verified).toBe(false);
    expect(failed.reason).toBe("a; b");
    expect(
      adaptStore(owner, {
        store_id: null,
        status: "unavailable",
        reasons: [],
        start: null,
        end: null,
        transitions: [],
      }),
    ).toBeNull();
  });

  it("gives Before/After for a transition, a span boundary and the owner", () => {
    expect(stateViewFor(h, h.transitions[1], undefined, tree.parentOf)?.patch).toHaveLength(2);
    const conc = stateViewFor(h, undefined, "2".repeat(16), tree.parentOf)!;
    expect(conc.before).toEqual({ count: 1, items: [] });
    expect(conc.after).toEqual({ count: 2, items: ["a"] });
    expect(stateViewFor(h, undefined, owner, tree.parentOf)?.after).toEqual({ count: 2, items: ["a"] });
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
