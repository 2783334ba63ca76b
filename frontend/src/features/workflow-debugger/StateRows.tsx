/** State-transition rows: inline in the span tree, and the flat "State updates" list of the active store. */
import type { Span, Transition } from "../../api/types";
import { displayName, ICON_GLYPH, spanIcon } from "../../lib/spans";
import { TimeOfDay } from "../../components/Timestamp";
import { nanosToMicros } from "../../lib/time";

export const transitionKey = (t: Transition) => `${t.store_id}:${t.sequence}`;

const isSelected = (t: Transition, selected: Transition | undefined) =>
  !!selected && transitionKey(selected) === transitionKey(t);

export function TreeStateRow({
  t,
  selected,
  onSelect,
}: {
  t: Transition;
  selected: Transition | undefined;
  onSelect: (t: Transition) => void;
}) {
  return (
    <button
      type="button"
      className={`state-row ${isSelected(t, selected) ? "selected" : ""}`}
      aria-label={`State ${t.sequence}: ${t.store_name}.${t.action}`}
      onClick={() => onSelect(t)}
    >
      <span className="state-mark">▶</span> {t.store_name} → {t.action}{" "}
      <span className="muted small mono">#{t.sequence}</span>
    </button>
  );
}

export function StateUpdatesList({
  transitions,
  byId,
  selected,
  onSelect,
}: {
  transitions: Transition[];
  byId: Map<string, Span>;
  selected: Transition | undefined;
  onSelect: (t: Transition) => void;
}) {
  if (!transitions.length) return <p className="muted">No state transitions recorded for this store.</p>;
  return (
    <ol className="tree" aria-label="State updates">
      {transitions.map((t) => {
        const s = byId.get(t.span_id);
        return (
          <li key={transitionKey(t)}>
            <button
              type="button"
              className={`state-row ${isSelected(t, selected) ? "selected" : ""}`}
              onClick={() => onSelect(t)}
            >
              <span aria-hidden>{s ? ICON_GLYPH[spanIcon(s)] : "?"}</span>
              <strong>{s ? displayName(s) : t.span_id}</strong>
              <span className="state-mark">▶</span> {t.sequence}. {t.store_name} → {t.action}
              <span className="muted mono small" style={{ marginLeft: "auto" }}>
                <TimeOfDay micros={nanosToMicros(t.time_unix_nano)} />
              </span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
