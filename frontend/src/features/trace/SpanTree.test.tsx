// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Span } from "../../api/types";
import { SpanTreeView, VIRTUAL_FROM_ROWS } from "./SpanTree";
import { spanAt } from "../../test/fixtures";
import { buildSpanTree } from "./tree";

afterEach(cleanup);

/** A root and n - 1 children, one millisecond apart. */
function wideTrace(n: number): Span[] {
  const spans = [spanAt("root", null, 0, 1)];
  for (let i = 1; i < n; i++) spans.push(spanAt(`s${i}`, "root", i, i + 1));
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
