/** A detail page's buttons to the previous (newer) and next (older) entry of its list (`useNeighbours`). */
import type { ListEntry } from "../lib/listContext";

export function NeighbourNav({
  noun,
  newer,
  older,
  go,
}: {
  noun: string;
  newer?: ListEntry;
  older?: ListEntry;
  go: (entry: ListEntry) => void;
}) {
  return (
    <div className="header-nav">
      <button
        type="button"
        className="btn"
        aria-label={`Previous (newer) ${noun}`}
        disabled={!newer}
        onClick={() => newer && go(newer)}
      >
        ↑ Newer
      </button>
      <button
        type="button"
        className="btn"
        aria-label={`Next (older) ${noun}`}
        disabled={!older}
        onClick={() => older && go(older)}
      >
        ↓ Older
      </button>
    </div>
  );
}
