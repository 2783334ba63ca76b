import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadComparePage, loadRunPage } from "./features/evaluations/queries";
import { loadAgentDetail } from "./features/agents/queries";
import { loadTraceDetail, loadWorkflowDebugger, prefetchForLocation } from "./prefetch";

describe("startup prefetch", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("starts the trace document request for trace and workflow deep links", async () => {
    const fetchMock = vi.fn(async () => new Response("{}", { status: 401 }));
    vi.stubGlobal("fetch", fetchMock);
    const qc = new QueryClient();
    const trace = "0123456789abcdef0123456789abcdef";
    prefetchForLocation(qc, `/traces/svc/${trace}/aaaaaaaaaaaaaaaa`, "");
    prefetchForLocation(qc, `/workflows/svc/${trace}/bbbbbbbbbbbbbbbb`, "");
    expect(qc.getQueryCache().find({ queryKey: ["trace", trace, null] })).toBeDefined();
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toContain(`/api/v1/trace-document/${trace}`);
    // The page chunks were requested too; let them finish loading inside the test.
    await Promise.all([loadTraceDetail(), loadWorkflowDebugger()]);
  });

  it("starts the trace evidence request and the page chunk of an Agent deep link", async () => {
    const fetchMock = vi.fn(async () => new Response("{}", { status: 401 }));
    vi.stubGlobal("fetch", fetchMock);
    const qc = new QueryClient();
    const trace = "0123456789abcdef0123456789abcdef";
    prefetchForLocation(qc, `/agents/${trace}/not-a-span-id`, "");
    expect(fetchMock).not.toHaveBeenCalled();
    prefetchForLocation(qc, `/agents/${trace}/aaaaaaaaaaaaaaaa`, "?op=2");
    expect(qc.getQueryCache().find({ queryKey: ["trace-evidence", trace] })).toBeDefined();
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toContain(`/api/v1/trace-evidence/${trace}`);
    await loadAgentDetail();
  });

  it("starts the first list page with the URL's filters and ignores other pages", () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response("[]", { status: 200 })),
    );
    const qc = new QueryClient();
    prefetchForLocation(qc, "/logs/my%20svc", "?errors=1&q=chat", 0);
    const keys = qc
      .getQueryCache()
      .getAll()
      .map((q) => q.queryKey);
    expect(keys).toEqual([
      [
        "list",
        "workflows",
        "my svc",
        { start: undefined, errorsOnly: true, q: "chat", hasLlm: undefined, cursor: null, limit: 50 },
      ],
    ]);
    prefetchForLocation(qc, "/api-keys", "", 0);
    prefetchForLocation(qc, "/traces/svc/not-a-trace", "", 0);
    expect(qc.getQueryCache().getAll()).toHaveLength(1);
  });

  it("starts both runs of a comparison deep link and the run of a run page", async () => {
    const fetchMock = vi.fn(async () => new Response("{}", { status: 401 }));
    vi.stubGlobal("fetch", fetchMock);
    const qc = new QueryClient();
    prefetchForLocation(qc, "/evaluations/compare/base%20id/cand", "");
    prefetchForLocation(qc, "/evaluations/runs/r1", "");
    prefetchForLocation(qc, "/evaluations/datasets/d1", "");
    const keys = qc
      .getQueryCache()
      .getAll()
      .map((q) => q.queryKey);
    expect(keys).toEqual([
      ["eval-run", "base id"],
      ["eval-run", "cand"],
      ["eval-run", "r1"],
    ]);
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toContain("/api/v1/evaluation/runs/base%20id");
    await Promise.all([loadComparePage(), loadRunPage()]);
  });
});
