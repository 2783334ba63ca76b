/**
 * The trace as a sortable table (name, service, start offset, duration, self time, status): the
 * quickest way to the slow or failing span in a large trace. Rows render in pages so a
 * 5,000-span trace stays responsive.
 */
import { useMemo, useState } from "react";
import type { Span } from "../../api/types";
import { displayName, isFailed, llmTag } from "../../lib/spans";
import { neutralizeBidi } from "../../lib/text";
import { formatDurationMicros, formatOffsetMicros, isoToMicros, spanDurationMicros } from "../../lib/time";

export type SortKey = "name" | "service" | "start" | "duration" | "self" | "status";
const PAGE = 200;

interface Row {
  span: Span;
  name: string;
  startUs: number;
  durationUs: number;
  selfUs: number;
  failed: boolean;
}

const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: "name", label: "Name", numeric: false },
  { key: "service", label: "Service", numeric: false },
  { key: "start", label: "Start", numeric: true },
  { key: "duration", label: "Duration", numeric: true },
  { key: "self", label: "Self time", numeric: true },
  { key: "status", label: "Status", numeric: false },
];

function compare(key: SortKey): (a: Row, b: Row) => number {
  const num = (x: number) => (Number.isFinite(x) ? x : -Infinity);
  switch (key) {
    case "name":
      return (a, b) => a.name.localeCompare(b.name);
    case "service":
      return (a, b) => a.span.service_name.localeCompare(b.span.service_name);
    case "start":
      return (a, b) => num(a.startUs) - num(b.startUs);
    case "duration":
      return (a, b) => num(a.durationUs) - num(b.durationUs);
    case "self":
      return (a, b) => num(a.selfUs) - num(b.selfUs);
    case "status":
      return (a, b) => Number(a.failed) - Number(b.failed);
  }
}

export function SpanTable({
  spans,
  selfTimes,
  traceStartUs,
  selectedId,
  onSelect,
  highlight,
  sort,
  onSort,
}: {
  spans: Span[];
  selfTimes: Map<string, number>;
  traceStartUs: number;
  selectedId?: string;
  onSelect: (spanId: string) => void;
  highlight?: Set<string>;
  sort: { key: SortKey; desc: boolean };
  onSort: (key: SortKey) => void;
}) {
  const [shown, setShown] = useState(PAGE);
  const rows = useMemo<Row[]>(
    () =>
      spans.map((s) => ({
        span: s,
        name: displayName(s),
        startUs: isoToMicros(s.start_time),
        durationUs: spanDurationMicros(s),
        selfUs: selfTimes.get(s.span_id) ?? NaN,
        failed: isFailed(s),
      })),
    [spans, selfTimes],
  );
  const sorted = useMemo(() => {
    const cmp = compare(sort.key);
    const out = [...rows].sort((a, b) => cmp(a, b) || a.span.span_id.localeCompare(b.span.span_id));
    return sort.desc ? out.reverse() : out;
  }, [rows, sort]);
  return (
    <div className="table-scroll">
      <table className="table span-table" aria-label="Spans by column">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                className={c.numeric ? "right" : ""}
                aria-sort={sort.key === c.key ? (sort.desc ? "descending" : "ascending") : "none"}
              >
                <button type="button" className="th-sort" onClick={() => onSort(c.key)}>
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? " ▾" : " ▴") : ""}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, shown).map((r) => {
            const tag = llmTag(r.span);
            return (
              <tr
                key={r.span.span_id}
                className={[
                  "clickable",
                  r.span.span_id === selectedId && "selected",
                  r.failed && "failed",
                  highlight?.has(r.span.span_id) && "critical",
                ]
                  .filter(Boolean)
                  .join(" ")}
                onClick={() => onSelect(r.span.span_id)}
                data-span-id={r.span.span_id}
              >
                <td className="cell-name">
                  <span className="ellipsis" title={r.span.name}>
                    {r.name}
                  </span>
                  {tag ? <span className="tag tag-llm">{tag}</span> : null}
                </td>
                <td className="ellipsis" title={r.span.service_name}>
                  {neutralizeBidi(r.span.service_name)}
                </td>
                <td className="right mono">{formatOffsetMicros(r.startUs - traceStartUs)}</td>
                <td className="right mono">{formatDurationMicros(r.durationUs)}</td>
                <td className="right mono">{formatDurationMicros(r.selfUs)}</td>
                <td>
                  {r.failed ? (
                    <span className="badge badge-error">error</span>
                  ) : (
                    <span className="muted">ok</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {sorted.length > shown ? (
        <button type="button" className="btn" onClick={() => setShown(shown + PAGE)}>
          Show {Math.min(PAGE, sorted.length - shown)} more of {sorted.length - shown}
        </button>
      ) : null}
    </div>
  );
}
