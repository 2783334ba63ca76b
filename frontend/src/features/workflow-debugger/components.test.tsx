// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter } from "react-router";
import { adaptStore } from "../../api/traceDocument";
import { TruncationNotice } from "../../components/TruncationNotice";
import { graph, workflowTrace } from "../../test/fixtures";
import { buildSpanTree } from "../trace/tree";
import { LlmMessages } from "../trace/LlmMessages";
import { SpanTreeView } from "../trace/SpanTree";
import { matchNodeSpans } from "./matching";
import { ChangesTable, HistoryNotice, StateViewBody } from "./StatePanel";
import { WorkflowGraph } from "./WorkflowGraph";

afterEach(cleanup);

describe("WorkflowGraph", () => {
  const tree = buildSpanTree(workflowTrace());
  const nodeSpans = matchNodeSpans(graph, tree, "w".repeat(16));

  it("marks executed, not-executed, failed and selected nodes and selects spans on click", () => {
    const onSelect = vi.fn();
    render(
      <WorkflowGraph
        title="DemoWorkflow"
        graph={graph}
        nodeSpans={nodeSpans}
        failedSpans={tree.failed}
        selectedNode="n_start"
        chainNodes={new Set()}
        showEdgeLabels
        onSelectSpan={onSelect}
      />,
    );
    const start = screen.getByRole("button", { name: "Node StartNode" });
    expect(start.getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByRole("img", { name: "Node NoNode (not executed)" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Node YesNode (failed)" }).getAttribute("class")).toContain(
      "failed",
    );
    expect(screen.getByRole("button", { name: "Subflow MySubflow" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Node LoadA" }));
    expect(onSelect).toHaveBeenCalledWith("3".repeat(16));
    fireEvent.click(screen.getByRole("img", { name: "Node NoNode (not executed)" }));
    expect(onSelect).toHaveBeenCalledTimes(1);
    expect(screen.getByText("is_yes")).toBeTruthy();
    expect(document.querySelectorAll(".g-edge.conditional")).toHaveLength(2);
  });
});

describe("SpanTreeView", () => {
  it("shows durations, the failed path and moves selection with arrow keys", () => {
    const tree = buildSpanTree(workflowTrace());
    const onSelect = vi.fn();
    render(<SpanTreeView tree={tree} selectedId={"1".repeat(16)} onSelect={onSelect} />);
    const t = screen.getByRole("tree", { name: "Span tree" });
    const items = within(t).getAllByRole("treeitem");
    expect(items).toHaveLength(8);
    expect(screen.getByRole("treeitem", { name: "YesNode (failed)" }).textContent).toMatch(/ms|µs/);
    expect(screen.getByRole("treeitem", { name: "chat gpt" }).textContent).toContain("12 tok");
    expect(screen.getByRole("treeitem", { name: "chat gpt" }).textContent).toContain("gpt-x");
    fireEvent.keyDown(t, { key: "ArrowDown" });
    expect(onSelect).toHaveBeenCalledWith("2".repeat(16));
  });
});

describe("WorkflowGraph on hostile graphs", () => {
  it("renders a 5,000-node chain", () => {
    const n = 5000;
    const chain = {
      v: 2,
      nodes: Array.from({ length: n }, (_, i) => ({ nodeRuntimeId: `n${i}`, nodeLabel: `N${i}` })),
      edges: Array.from({ length: n - 1 }, (_, i) => ({
        tailNodeRuntimeId: `n${i}`,
        headNodeRuntimeId: `n${i + 1}`,
        edgeConditionLabel: null,
      })),
    };
    const { container } = render(
      <WorkflowGraph
        title="Chain"
        graph={chain}
        nodeSpans={new Map()}
        failedSpans={new Set()}
        chainNodes={new Set()}
        showEdgeLabels={false}
        onSelectSpan={() => undefined}
      />,
    );
    expect(container.textContent).toContain("N4999");
  }, 120_000); // jsdom builds ~30,000 SVG elements: slow, so the bound is the runner's timeout
});

describe("trace pages", () => {
  it("says a trace is truncated and links to the next spans", () => {
    render(
      <MemoryRouter initialEntries={["/traces/svc/abc?t=s:1"]}>
        <TruncationNotice
          truncated={{
            returned_spans: 2000,
            more_spans: 500,
            next_cursor: "CURSOR",
            span_limit: 2000,
            byte_limit: 4 * 1024 * 1024,
            message: "trace truncated, 500 more spans",
          }}
        />
      </MemoryRouter>,
    );
    const notice = screen.getByRole("status", { name: "Trace truncated" });
    expect(notice.textContent).toContain("Trace truncated, 500 more spans");
    expect(within(notice).getByRole("link", { name: "Next spans →" }).getAttribute("href")).toBe(
      "/traces/svc/abc?after=CURSOR",
    );
  });

  it("shows nothing for a complete trace", () => {
    const { container } = render(
      <MemoryRouter initialEntries={["/traces/svc/abc"]}>
        <TruncationNotice truncated={null} />
      </MemoryRouter>,
    );
    expect(container.textContent).toBe("");
  });
});

describe("state views", () => {
  it("shows why a workflow's history is unverifiable", () => {
    const history = adaptStore("o", {
      store_id: null,
      status: "unverifiable",
      reasons: ["unverifiable: RecursionError: maximum recursion depth exceeded"],
      start: null,
      end: null,
      transitions: [],
    });
    render(<HistoryNotice history={history} />);
    const alert = screen.getByRole("alert", { name: "State history not verified" });
    expect(alert.textContent).toContain("could not be checked");
    expect(alert.textContent).toContain("unverifiable: RecursionError");
  });

  it("lists changes and warns when history is not verified", () => {
    render(<ChangesTable before={{ a: 1, b: 2 }} after={{ a: 1, b: 3, c: true }} />);
    const table = screen.getByRole("table", { name: "State changes" });
    expect(table.textContent).toContain("/b");
    expect(table.textContent).toContain("/c");
    render(
      <HistoryNotice
        history={{
          store_id: "s",
          store_name: null,
          owner_span_id: "o",
          verified: false,
          status: "failed",
          reason: "missing set_state transitions [2]",
          start: {},
          end: {},
          transitions: [],
        }}
      />,
    );
    expect(screen.getByRole("alert", { name: "State history not verified" }).textContent).toContain(
      "missing set_state transitions",
    );
  });
});

describe("LlmMessages", () => {
  it("renders role cards with a Text/Markdown/Raw switch", () => {
    const s = workflowTrace()[7];
    s.attributes_json["input.value"] = JSON.stringify({
      messages: [{ role: "user", content: "Say **hi**" }],
    });
    s.attributes_json["output.value"] = "**hi**";
    render(<LlmMessages span={s} />);
    expect(screen.getByRole("article", { name: "Input message 1: user" }).textContent).toContain(
      "Say **hi**",
    );
    fireEvent.click(screen.getByRole("radio", { name: "Markdown" }));
    expect(
      screen.getByRole("article", { name: "Output message 1: assistant" }).querySelector("strong")
        ?.textContent,
    ).toBe("hi");
    fireEvent.click(screen.getByRole("radio", { name: "Raw" }));
    expect(screen.getByRole("article", { name: "Output message 1: assistant" }).textContent).toContain(
      '"**hi**"',
    );
  });
});

describe("StateViewBody", () => {
  it("marks and opens to what the transition changed", () => {
    const view = {
      before: { a: { deep: { x: 1 } }, b: 1 },
      after: { a: { deep: { x: 2 } }, b: 1 },
      label: "t",
    };
    render(<StateViewBody tab="after" view={view} />);
    const changed = document.querySelectorAll(".j-changed");
    expect(changed).toHaveLength(1);
    expect(changed[0].textContent).toBe("x: 2");
  });
});
