/**
 * Startup prefetch: a page opened by URL starts its data request and its lazy code chunk at once,
 * in parallel with the session check, instead of after it (first content on deep links). A request
 * made before sign-in simply fails with 401 and is repeated when the page mounts.
 */
import type { QueryClient } from "@tanstack/react-query";
import { traceDocumentQuery } from "./api/traceDocument";
import { listQuery } from "./pages/ListPages";
import { loadComparePage, loadRunPage, runQuery } from "./features/evaluations/queries";
import { loadAgentDetail, traceEvidenceQuery } from "./features/agents/queries";

export const loadTraceDetail = () => import("./features/trace/TraceDetailPage");
export const loadWorkflowDebugger = () => import("./features/workflow-debugger/WorkflowDebuggerPage");

export function prefetchForLocation(
  qc: QueryClient,
  pathname: string,
  search: string,
  now = Date.now(),
): void {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const [section, service, traceId] = parts;
  if (section === "evaluations" && (service === "compare" || service === "runs")) {
    void (service === "compare" ? loadComparePage() : loadRunPage());
    for (const runId of parts.slice(2, service === "compare" ? 4 : 3)) {
      void qc.prefetchQuery({ ...runQuery(runId), retry: false });
    }
    return;
  }
  const isTrace = (id: string | undefined): id is string => !!id && /^[0-9a-f]{32}$/.test(id);
  const after = new URLSearchParams(search).get("after");
  if (section === "agents" && isTrace(service) && /^[0-9a-f]{16}$/.test(traceId ?? "")) {
    // /agents/:traceId/:agentSpanId: the page's one request is the trace's evidence
    void loadAgentDetail();
    void qc.prefetchQuery({ ...traceEvidenceQuery(service), retry: false });
    return;
  }
  if (section === "workflows" && isTrace(traceId)) {
    void loadWorkflowDebugger();
    void qc.prefetchQuery({ ...traceDocumentQuery(traceId, after), retry: false });
  } else if (section === "traces" && isTrace(traceId)) {
    void loadTraceDetail();
    void qc.prefetchQuery({ ...traceDocumentQuery(traceId, after), retry: false });
  } else if ((section === "traces" || section === "logs") && service && parts.length === 2) {
    void qc.prefetchQuery({
      ...listQuery(section === "logs" ? "workflows" : "traces", service, new URLSearchParams(search), now),
      retry: false,
    });
  }
}
