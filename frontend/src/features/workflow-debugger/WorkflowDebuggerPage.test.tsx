// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { adaptDocument } from "../../api/traceDocument";
import type { RawTraceDocument } from "../../api/types";
import { graph, workflowTrace } from "../../test/fixtures";
import WorkflowDebuggerPage from "./WorkflowDebuggerPage";

afterEach(cleanup);

const TRACE = "a".repeat(32);
const WF = "w".repeat(16);

function Location() {
  const loc = useLocation();
  return <output aria-label="location">{loc.pathname + loc.search}</output>;
}

function renderAt(url: string, diagnostics: RawTraceDocument["diagnostics"] = []) {
  const spans = workflowTrace();
  const raw = {
    trace_id: TRACE,
    spans,
    diagnostics,
    workflows: {
      [WF]: {
        span_id: WF,
        name: "DemoWorkflow",
        executable_type: "workflow",
        contract_version: 3,
        runtime_id: "r",
        status_code: "2",
        graph,
        graph_error: null,
        node_spans: {},
        store: {
          store_id: "st1",
          status: "verified",
          reasons: [],
          start: { count: 0 },
          end: { count: 2 },
          transitions: [
            {
              sequence: 1,
              span_id: "1".repeat(16),
              event_id: "e1",
              store_name: "DemoStore",
              action: "set_count",
              revision_before: 0,
              revision_after: 1,
              time_unix_nano: "1795700000000001000",
              patch: [{ op: "replace", path: "/count", value: 1 }],
              before: { count: 0 },
              after: { count: 1 },
            },
            {
              sequence: 2,
              span_id: "3".repeat(16),
              event_id: "e2",
              store_name: "DemoStore",
              action: "add_item",
              revision_before: 1,
              revision_after: 2,
              time_unix_nano: "1795700000000002000",
              patch: [{ op: "replace", path: "/count", value: 2 }],
              before: { count: 1 },
              after: { count: 2 },
            },
          ],
        },
      },
    },
  } as unknown as RawTraceDocument;
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  qc.setQueryData(["trace", TRACE, null], adaptDocument(raw));
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[url]}>
        <Routes>
          <Route
            path="/workflows/:service/:traceId/:workflowSpanId/:spanId?"
            element={
              <>
                <WorkflowDebuggerPage />
                <Location />
              </>
            }
          />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("WorkflowDebuggerPage", () => {
  it("keeps graph, tree, state strip and URL in sync", () => {
    renderAt(`/workflows/svc/${TRACE}/${WF}`);
    const location = () => screen.getByRole("status", { name: "location" }).textContent;
    fireEvent.click(screen.getByRole("button", { name: "Node StartNode" }));
    expect(location()).toBe(`/workflows/svc/${TRACE}/${WF}/${"1".repeat(16)}`);
    expect(screen.getByRole("treeitem", { name: "StartNode" }).getAttribute("aria-selected")).toBe("true");

    fireEvent.keyDown(window, { key: "ArrowRight" });
    expect(location()).toBe(`/workflows/svc/${TRACE}/${WF}/${"1".repeat(16)}?t=st1%3A1`);
    const strip = screen.getByRole("region", { name: "State transitions" });
    expect(strip.textContent).toContain("DemoStore.set_count");
    expect(within(strip).getByLabelText("Transition position").textContent).toBe("(1 / 2)");
    fireEvent.click(screen.getByRole("tab", { name: "Patch" }));
    expect(screen.getByRole("tabpanel").textContent).toContain("replace");

    fireEvent.keyDown(window, { key: "ArrowRight" });
    expect(location()).toBe(`/workflows/svc/${TRACE}/${WF}/${"3".repeat(16)}?t=st1%3A2`);
    expect(screen.getByRole("button", { name: "Node LoadA" }).getAttribute("aria-pressed")).toBe("true");

    fireEvent.click(screen.getByRole("button", { name: "State 1: DemoStore.set_count" }));
    expect(within(strip).getByLabelText("Transition position").textContent).toBe("(1 / 2)");
  });

  it("restores a transition from the URL and lists failures and diagnostics", () => {
    renderAt(`/workflows/svc/${TRACE}/${WF}/${"3".repeat(16)}?t=st1%3A2`, [
      { code: "graph_snapshot", span_id: WF, message: "version 9 is not 2" },
    ]);
    expect(screen.getByRole("region", { name: "State transitions" }).textContent).toContain("add_item");
    expect(screen.getByRole("group", { name: "Telemetry diagnostics" }).textContent).toContain(
      "version 9 is not 2",
    );
    fireEvent.click(screen.getByRole("tab", { name: "Failures (2)" }));
    const failures = screen.getByRole("region", { name: "Workflow spans" });
    expect(failures.textContent).toContain("boom");
    // the failing node is listed before the workflow that failed because of it
    const order = within(failures)
      .getAllByRole("button")
      .map((b) => b.textContent)
      .filter((t) => t === "YesNode" || t === "DemoWorkflow");
    expect(order).toEqual(["YesNode", "DemoWorkflow"]);
  });

  it("searches within the workflow's spans", () => {
    renderAt(`/workflows/svc/${TRACE}/${WF}`);
    fireEvent.change(screen.getByRole("searchbox", { name: "Search workflow spans" }), {
      target: { value: "gpt-x" },
    });
    const names = within(screen.getByRole("tree", { name: "Workflow span tree" }))
      .getAllByRole("treeitem")
      .map((i) => i.getAttribute("aria-label"));
    expect(names).toEqual(["DemoWorkflow (failed)", "YesNode (failed)", "chat gpt"]);
  });

  it("reports a span that is not in the trace", () => {
    renderAt(`/workflows/svc/${TRACE}/${WF}/ffffffffffffffff`);
    expect(screen.getByRole("alert").textContent).toContain("not part of this trace");
  });
});
