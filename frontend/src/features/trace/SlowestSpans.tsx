/**
 * "Slowest spans": a short ranked list of where the trace's time went, by self time (the time a span
 * spent in itself, not waiting on its children) and by duration, each entry jumping to its span.
 */
import { useMemo } from "react";
import type { Span } from "../../api/types";
import { displayName } from "../../lib/spans";
import { formatDurationMicros, spanDurationMicros } from "../../lib/time";
import { topSpans } from "./analysis";

export const SLOWEST_COUNT = 5;

function Ranked({
  label,
  ranked,
  spans,
  selectedId,
  onSelect,
}: {
  label: string;
  ranked: { id: string; us: number }[];
  spans: Map<string, Span>;
  selectedId?: string;
  onSelect: (spanId: string) => void;
}) {
  return (
    <section>
      <h4>{label}</h4>
      <ol aria-label={`Slowest by ${label.toLowerCase()}`}>
        {ranked.map(({ id, us }) => {
          const span = spans.get(id);
          const name = span ? displayName(span) : id;
          return (
            <li key={id}>
              <button
                type="button"
                className={`slowest-entry ${id === selectedId ? "selected" : ""}`}
                aria-current={id === selectedId ? "true" : undefined}
                title={name}
                onClick={() => onSelect(id)}
              >
                <span className="slowest-name">{name}</span>
                <span className="slowest-time">{formatDurationMicros(us)}</span>
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

export function SlowestSpans({
  spans,
  selfTimes,
  selectedId,
  onSelect,
  count = SLOWEST_COUNT,
}: {
  spans: Map<string, Span>;
  selfTimes: Map<string, number>;
  selectedId?: string;
  onSelect: (spanId: string) => void;
  count?: number;
}) {
  const bySelf = useMemo(() => topSpans(selfTimes, count), [selfTimes, count]);
  const byDuration = useMemo(() => {
    const durations = new Map<string, number>();
    for (const [id, span] of spans) durations.set(id, spanDurationMicros(span));
    return topSpans(durations, count);
  }, [spans, count]);
  if (!bySelf.length && !byDuration.length) return null;
  return (
    <details className="slowest small">
      <summary className="btn btn-xs" title="Where the trace's time went">
        Slowest spans
      </summary>
      <div className="slowest-panel">
        <Ranked label="Self time" ranked={bySelf} spans={spans} selectedId={selectedId} onSelect={onSelect} />
        <Ranked
          label="Duration"
          ranked={byDuration}
          spans={spans}
          selectedId={selectedId}
          onSelect={onSelect}
        />
      </div>
    </details>
  );
}
