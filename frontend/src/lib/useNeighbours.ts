/** Previous (newer) / next (older) entry for a detail page: the remembered list, else the newest page. */
import { useQuery } from "@tanstack/react-query";
import { observability } from "../api/endpoints";
import { neighbours, recallList, type ListEntry } from "./listContext";

export function useNeighbours(
  kind: "workflows" | "traces",
  service: string,
  id: string,
  match: "span" | "trace",
) {
  const remembered = recallList(kind, service);
  const find = (entries: ListEntry[]) =>
    match === "span"
      ? neighbours(entries, id)
      : neighbours(
          entries.map((e) => ({ ...e, spanId: e.traceId })),
          id,
        );
  const local = find(remembered);
  const fallback = useQuery({
    queryKey: ["neighbours", kind, service],
    enabled: local.index < 0 && !!service,
    staleTime: 30_000,
    queryFn: async () => {
      const page =
        kind === "workflows"
          ? await observability.workflows(service, { limit: 100 })
          : await observability.rootSpans(service, { limit: 100 });
      return page.items.map((s) => ({ traceId: s.trace_id, spanId: s.span_id }));
    },
  });
  return local.index >= 0 ? local : find(fallback.data ?? []);
}
