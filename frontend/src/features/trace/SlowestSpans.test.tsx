// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Span } from "../../api/types";
import { selfTimes, topSpans } from "./analysis";
import { SlowestSpans } from "./SlowestSpans";
import { spanAt as span } from "../../test/fixtures";
import { buildSpanTree } from "./tree";

afterEach(cleanup);

// root 0–1000 ms; "wait" 100–700 covers "busy" 100–600 (busy's own time 500 ms, wait's 100 ms);
// eight 10 ms steps after it; the root's own time is what no child covers (1000-600-80 = 320 ms).
function trace(): Span[] {
  const spans = [span("root", null, 0, 1000), span("wait", "root", 100, 700), span("busy", "wait", 100, 600)];
  for (let i = 0; i < 8; i++) spans.push(span(`step${i}`, "root", 700 + i * 20, 710 + i * 20));
  return spans;
}

function names(list: HTMLElement): string[] {
  return within(list)
    .getAllByRole("button")
    .map((b) => b.querySelector(".slowest-name")?.textContent ?? "");
}

describe("slowest spans", () => {
  it("ranks by self time and by duration, largest first, finite times only, ties by id", () => {
    const times = new Map([
      ["b", 5],
      ["a", 5],
      ["c", NaN],
      ["d", 9],
    ]);
    expect(topSpans(times, 2)).toEqual([
      { id: "d", us: 9 },
      { id: "a", us: 5 },
    ]);
    expect(topSpans(new Map(), 5)).toEqual([]);
  });

  it("lists the top five of each ranking and jumps to the span clicked", () => {
    const tree = buildSpanTree(trace());
    const onSelect = vi.fn();
    render(
      <SlowestSpans spans={tree.byId} selfTimes={selfTimes(tree)} selectedId="busy" onSelect={onSelect} />,
    );
    const bySelf = screen.getByRole("list", { name: "Slowest by self time" });
    const byDuration = screen.getByRole("list", { name: "Slowest by duration" });
    expect(names(bySelf)).toEqual(["busy", "root", "wait", "step0", "step1"]);
    expect(within(bySelf).getAllByRole("button")[0].textContent).toContain("500.00ms");
    expect(names(byDuration)).toEqual(["root", "wait", "busy", "step0", "step1"]);
    expect(within(bySelf).getAllByRole("button")[0].getAttribute("aria-current")).toBe("true");
    fireEvent.click(within(byDuration).getAllByRole("button")[1]);
    fireEvent.click(within(bySelf).getAllByRole("button")[1]);
    expect(onSelect.mock.calls).toEqual([["wait"], ["root"]]);
  });

  it("renders nothing for a trace without measurable spans", () => {
    const { container } = render(
      <SlowestSpans spans={new Map()} selfTimes={new Map()} onSelect={() => {}} />,
    );
    expect(container.innerHTML).toBe("");
  });
});
