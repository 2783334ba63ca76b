/**
 * Remembers the order of the list a detail page was opened from (per service and kind) so the
 * detail header can offer previous/next without another query.
 */
export interface ListEntry {
  traceId: string;
  spanId: string;
}

const key = (kind: string, service: string) => `junjo.list.${kind}.${service}`;

export function rememberList(kind: "workflows" | "traces", service: string, entries: ListEntry[]): void {
  try {
    sessionStorage.setItem(key(kind, service), JSON.stringify(entries.slice(0, 500)));
  } catch {
    /* storage full or disabled: prev/next falls back to a fresh query */
  }
}

export function recallList(kind: "workflows" | "traces", service: string): ListEntry[] {
  try {
    const raw = sessionStorage.getItem(key(kind, service));
    const parsed = raw ? (JSON.parse(raw) as ListEntry[]) : [];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/** Neighbours of `spanId` in a newest-first list: `newer` is above, `older` below. */
export function neighbours(
  entries: ListEntry[],
  spanId: string,
): { newer?: ListEntry; older?: ListEntry; index: number } {
  const i = entries.findIndex((e) => e.spanId === spanId);
  if (i < 0) return { index: -1 };
  return { newer: entries[i - 1], older: entries[i + 1], index: i };
}
