/** The Agent detail page's data request and code chunk, shared with the startup prefetch. */
import { agentsApi } from "../../api/endpoints";

export const loadAgentDetail = () => import("./AgentDetailPage");

export const traceEvidenceQuery = (traceId: string) => ({
  queryKey: ["trace-evidence", traceId],
  queryFn: () => agentsApi.evidence(traceId),
});
