// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Span } from "../../api/types";
import { SpanTreeView, VIRTUAL_FROM_ROWS } from "./SpanTree";
import { buildSpanTree } from "./tree";

afterEach(cleanup);

function wideTrace(n: number): Span[] {
  const iso = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
  const span = (id: string, parent: string | null, ms: number): Span =>
    ({
      span_id: id,
      trace_id: "a".repeat(32),
      parent_span_id: parent,
      service_name: "svc",
      name: `span ${id}`,
      kind: "INTERNAL",
      start_time: iso(ms),
      end_time: iso(ms + 1),
      status_code: "0",
      status_message: "",
      attributes_json: {},
      events_json: [],
      links_json: [],
      resource_attributes_json: {},
    }) as unknown as Span;
  const spans = [span("root", null, 0)];
  for (let i = 1; i < n; i++) spans.push(span(`s${i}`, "root", i));
  return spans;
}

describe("SpanTreeView on large traces", () => {
  it("renders every row of a small tree", () => {
    const tree = buildSpanTree(wideTrace(50));
    render(<SpanTreeView tree={tree} onSelect={() => {}} label="t" />);
    expect(screen.getAllByRole("treeitem")).toHaveLength(50);
  });

  it("keeps only a window of a 5,000-span tree in the DOM, with the full count announced", () => {
    const tree = buildSpanTree(wideTrace(5000));
    render(<SpanTreeView tree={tree} onSelect={() => {}} label="t" />);
    const rows = screen.getAllByRole("treeitem");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(VIRTUAL_FROM_ROWS);
    expect(screen.getByRole("tree").getAttribute("aria-rowcount")).toBe("5000");
  });
});
