/** Small pieces shared by the Agent pages: outcome pill, counts against limits, payload slots. */
import { useState } from "react";
import { JsonView } from "../../components/JsonView";
import { asChat, type Candidate, type Payload } from "./evidence";

export function OutcomePill({ outcome }: { outcome: string | null | undefined }) {
  const cls =
    outcome === "completed" ? "ok" : outcome === "failed" ? "error" : outcome === "cancelled" ? "warn" : "";
  return <span className={`pill pill-${cls || "unknown"}`}>{outcome ?? "unknown"}</span>;
}

export function countOf(count: number | null | undefined, limit: number | null | undefined): string {
  return `${count ?? "—"}${limit ? ` / ${limit}` : ""}`;
}

export function tokens(n: number | undefined | null): string {
  return typeof n === "number" ? n.toLocaleString() : "—";
}

const MODE_TEXT: Record<string, string> = {
  redacted: "Redacted by the producer's payload policy; the value shown is the redacted form.",
  excluded: "Excluded by the producer's payload policy: no value was recorded.",
  reference: "Recorded as a reference to external storage, not inline.",
  missing: "Absent or invalid in the telemetry.",
};

/** A payload slot: its mode (and policy), and the value as JSON — or as chat when it is messages. */
export function PayloadView({ payload, label }: { payload: Payload | null | undefined; label: string }) {
  const [asText, setAsText] = useState(false);
  if (!payload) return <p className="muted small">Not recorded.</p>;
  const chat = asChat(payload.value) ?? asChat((payload.value as { messages?: unknown } | null)?.messages);
  return (
    <div className="payload">
      <div className="payload-head">
        {payload.mode !== "full" ? (
          <span className={`pill pill-${payload.mode === "missing" ? "error" : "warn"}`}>{payload.mode}</span>
        ) : null}
        {payload.policy && payload.policy !== "junjo.full.v1" ? (
          <span className="muted small mono">{payload.policy}</span>
        ) : null}
        {chat ? (
          <button type="button" className="btn btn-xs" onClick={() => setAsText(!asText)}>
            {asText ? "Show as chat" : "Show as JSON"}
          </button>
        ) : null}
      </div>
      {payload.mode !== "full" && payload.mode !== "redacted" ? (
        <p className="muted small">
          {MODE_TEXT[payload.mode]}
          {payload.reason ? ` (${payload.reason})` : ""}
          {payload.reference ? (
            <>
              {" "}
              Reference: <code>{JSON.stringify(payload.reference)}</code>
            </>
          ) : null}
        </p>
      ) : chat && !asText ? (
        <div className="chat" aria-label={`${label} as chat`}>
          {chat.map((m, i) => (
            <div key={i} className={`msg msg-${m.role}`}>
              <div className="msg-head">{m.role}</div>
              <div className="msg-body">{m.content}</div>
            </div>
          ))}
        </div>
      ) : (
        <JsonView value={payload.value} label={label} />
      )}
    </div>
  );
}

export function CandidateView({
  candidate,
  label,
}: {
  candidate: Candidate | null | undefined;
  label: string;
}) {
  if (!candidate) return <p className="muted small">Not recorded.</p>;
  if (!candidate.available)
    return (
      <p className="muted small">
        Unavailable: <code>{candidate.unavailable_reason ?? "no reason recorded"}</code>
      </p>
    );
  return <PayloadView payload={candidate.payload} label={label} />;
}
