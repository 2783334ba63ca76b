/** Before / After / Patch / Changes views of the selected transition or span boundary. */
import type { StoreHistory } from "../../api/types";
import { JsonView } from "../../components/JsonView";
import { diffValues, type StateView } from "./state";

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "—" : s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

export function ChangesTable({ before, after }: { before: unknown; after: unknown }) {
  const changes = diffValues(before, after);
  if (!changes.length) return <p className="muted">No changes.</p>;
  return (
    <table className="kv changes" aria-label="State changes">
      <tbody>
        {changes.map((c) => (
          <tr key={c.path} className={`change-${c.kind}`}>
            <td>
              {c.kind === "added" ? "+ " : c.kind === "removed" ? "− " : "~ "}
              {c.path}
            </td>
            <td>
              {c.kind === "added" ? (
                short(c.after)
              ) : c.kind === "removed" ? (
                <s>{short(c.before)}</s>
              ) : (
                <>
                  <s>{short(c.before)}</s> → {short(c.after)}
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HistoryNotice({ history }: { history: StoreHistory | null | undefined }) {
  if (!history) return null;
  if (!history.verified) {
    return (
      <div className="alert alert-warn" role="alert" aria-label="State history not verified">
        <strong>State history is not verified.</strong>{" "}
        {history.status === "unavailable"
          ? "It is unavailable"
          : history.status === "unverifiable"
            ? "It could not be checked"
            : "Replaying the recorded patches did not reproduce the recorded states"}
        {history.reason ? <> — {history.reason}</> : null}. Values below may be incomplete.
      </div>
    );
  }
  return null;
}

export function StateViewBody({ tab, view }: { tab: string; view: StateView }) {
  const changed = new Set(diffValues(view.before, view.after).map((c) => c.path));
  if (tab === "before")
    return <JsonView value={view.before} label="Before" collapseAt={2} highlight={changed} />;
  if (tab === "after")
    return <JsonView value={view.after} label="After" collapseAt={2} highlight={changed} />;
  if (tab === "patch") return <JsonView value={view.patch} label="Patch" collapseAt={3} />;
  return <ChangesTable before={view.before} after={view.after} />;
}
