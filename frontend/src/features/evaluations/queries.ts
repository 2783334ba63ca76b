/** Query definitions the evaluation pages and the startup prefetch share (same keys, same calls). */
import { evaluations } from "../../api/endpoints";

export const loadComparePage = () => import("./ComparePage");
export const loadRunPage = () => import("./RunPage");

export function runQuery(runId: string) {
  return { queryKey: ["eval-run", runId], queryFn: () => evaluations.run(runId) };
}
