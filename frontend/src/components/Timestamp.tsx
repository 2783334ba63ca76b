/** Every absolute time in the UI, in the user's chosen zone and labelled with it. */
import { usePreferences } from "../lib/preferences";
import { formatTimestamp, formatTimeOfDayMicros, isoToMicros, zoneLabel } from "../lib/time";

export function Timestamp({
  iso,
  micros,
  precise = false,
}: {
  iso?: string | null;
  micros?: number;
  precise?: boolean;
}) {
  const { timeZone } = usePreferences();
  const us = micros ?? isoToMicros(iso);
  if (!Number.isFinite(us)) return <span className="muted">—</span>;
  const other = timeZone === "utc" ? "local" : "utc";
  return (
    <time
      className="timestamp"
      dateTime={new Date(us / 1000).toISOString()}
      title={formatTimestamp(us, other, true)}
    >
      {formatTimestamp(us, timeZone, precise)}
    </time>
  );
}

/** Time of day for events inside one trace, with the zone as a suffix. */
export function TimeOfDay({ micros }: { micros: number }) {
  const { timeZone } = usePreferences();
  if (!Number.isFinite(micros)) return <span className="muted">—</span>;
  return (
    <time className="timestamp" dateTime={new Date(micros / 1000).toISOString()}>
      {formatTimeOfDayMicros(micros, timeZone)} {zoneLabel(timeZone, micros / 1000)}
    </time>
  );
}
