/** Time helpers at microsecond precision (ISO strings carry µs; Date only ms). */

/** Microseconds since the epoch from an ISO-8601 string with optional fractional seconds. */
export function isoToMicros(iso: string | null | undefined): number {
  if (!iso) return NaN;
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso);
  if (!m) return Date.parse(iso) * 1000;
  const base = Date.parse(`${m[1]}${m[3] ?? "Z"}`);
  const frac = (m[2] ?? "").padEnd(6, "0").slice(0, 6);
  return base * 1000 + Number(frac);
}

/** Nanosecond decimal string → microseconds (exact enough: µs < 2^53). */
export function nanosToMicros(ns: string | number | null | undefined): number {
  if (ns === null || ns === undefined || ns === "") return NaN;
  const s = String(ns);
  if (!/^\d+$/.test(s)) return NaN;
  return s.length <= 3 ? 0 : Number(s.slice(0, -3));
}

export function formatDurationMicros(us: number): string {
  if (!Number.isFinite(us) || us < 0) return "—";
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)}ms`;
  const s = (us / 1_000_000).toFixed(3).replace(/\.000$/, "");
  return `${s}s`;
}

export function spanDurationMicros(span: { start_time: string; end_time: string }): number {
  return isoToMicros(span.end_time) - isoToMicros(span.start_time);
}

/** The zone label shown beside every time: "UTC", or the browser's offset such as "UTC+01:00". */
export function zoneLabel(zone: "local" | "utc", atMs: number): string {
  if (zone === "utc") return "UTC";
  const offsetMin = -new Date(atMs).getTimezoneOffset();
  if (offsetMin === 0) return "UTC±00:00";
  const sign = offsetMin > 0 ? "+" : "-";
  const abs = Math.abs(offsetMin);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function parts(us: number, zone: "local" | "utc") {
  const d = new Date(Math.floor(us / 1000));
  const utc = zone === "utc";
  return {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    mo: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    d: utc ? d.getUTCDate() : d.getDate(),
    h: utc ? d.getUTCHours() : d.getHours(),
    mi: utc ? d.getUTCMinutes() : d.getMinutes(),
    s: utc ? d.getUTCSeconds() : d.getSeconds(),
    frac: ((us % 1_000_000) + 1_000_000) % 1_000_000,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "2026-12-06 18:25:03.123 UTC" (µs precision with `micros`), in the chosen zone, always labelled. */
export function formatTimestamp(us: number, zone: "local" | "utc", micros = false): string {
  if (!Number.isFinite(us)) return "—";
  const p = parts(us, zone);
  const frac = micros ? pad(p.frac, 6) : pad(Math.floor(p.frac / 1000), 3);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}.${frac} ${zoneLabel(zone, us / 1000)}`;
}

/** Time of day at µs precision ("18:25:03.123456"), for events within one trace; zone shown elsewhere. */
export function formatTimeOfDayMicros(us: number, zone: "local" | "utc"): string {
  if (!Number.isFinite(us)) return "—";
  const p = parts(us, zone);
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}.${pad(p.frac, 6)}`;
}

/** "+12.40ms" from the trace's start. */
export function formatOffsetMicros(us: number): string {
  if (!Number.isFinite(us)) return "—";
  return `+${formatDurationMicros(Math.max(0, us))}`;
}

export function shortId(id: string, n = 6): string {
  return id.length > n ? `…${id.slice(-n)}` : id;
}

export const TIME_RANGES: { value: string; label: string; seconds: number | null }[] = [
  { value: "15m", label: "Last 15 minutes", seconds: 15 * 60 },
  { value: "1h", label: "Last hour", seconds: 3600 },
  { value: "6h", label: "Last 6 hours", seconds: 6 * 3600 },
  { value: "24h", label: "Last 24 hours", seconds: 86400 },
  { value: "7d", label: "Last 7 days", seconds: 7 * 86400 },
  { value: "30d", label: "Last 30 days", seconds: 30 * 86400 },
  { value: "all", label: "All time", seconds: null },
];

/** ISO start bound for a preset, relative to `now` (ms). */
export function rangeStart(value: string, now: number): string | undefined {
  const r = TIME_RANGES.find((t) => t.value === value);
  if (!r || r.seconds === null) return undefined;
  return new Date(now - r.seconds * 1000).toISOString();
}

/** A custom range from the URL (`from`/`to`, ISO 8601), when both parse and `from` is before `to`. */
export function customRange(params: URLSearchParams): { from: string; to: string } | null {
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (!Number.isFinite(a) || !Number.isFinite(b) || a >= b) return null;
  return { from: new Date(a).toISOString(), to: new Date(b).toISOString() };
}
