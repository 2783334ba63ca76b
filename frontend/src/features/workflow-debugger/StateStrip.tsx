/** The strip between graph and panels: the selected store transition, its time and ←/→ stepping. */
import type { StoreHistory, Transition } from "../../api/types";
import { TimeOfDay } from "../../components/Timestamp";
import { nanosToMicros } from "../../lib/time";

export interface StateStripProps {
  history: StoreHistory | null;
  selected: Transition | undefined;
  index: number;
  onStep: (dir: 1 | -1) => void;
}

export function StateStrip({ history, selected, index, onStep }: StateStripProps) {
  const count = history?.transitions.length ?? 0;
  return (
    <section className="state-strip" aria-label="State transitions">
      <div aria-live="polite">
        {selected ? (
          <span>
            <span className="state-mark">▶</span> Transition {selected.sequence} →{" "}
            <strong>
              {selected.store_name}.{selected.action}
            </strong>{" "}
            <span className="muted mono small">{selected.event_id}</span>
          </span>
        ) : history ? (
          <span className="muted">
            {history.store_name ?? "Store"}: {count} transition{count === 1 ? "" : "s"}. Use ← / → to step
            through them.
          </span>
        ) : (
          <span className="muted">No store history for this workflow.</span>
        )}
      </div>
      <div className="row gap mono">
        {selected ? <TimeOfDay micros={nanosToMicros(selected.time_unix_nano)} /> : null}
        <span aria-label="Transition position">
          ({index >= 0 ? index + 1 : "–"} / {count})
        </span>
        <button
          type="button"
          className="btn btn-xs"
          aria-label="Previous store transition"
          disabled={!count || index === 0}
          onClick={() => onStep(-1)}
        >
          ←
        </button>
        <button
          type="button"
          className="btn btn-xs"
          aria-label="Next store transition"
          disabled={!count || index === count - 1}
          onClick={() => onStep(1)}
        >
          →
        </button>
      </div>
    </section>
  );
}
