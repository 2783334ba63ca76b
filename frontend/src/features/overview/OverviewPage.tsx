/**
 * The home page: per service, charts over a chosen range (last hour / day / week, or a custom one; in
 * the URL) of spans and traces, errors, root latency percentiles, workflow and agent executions with
 * failures, LLM calls, tokens and cost. Answered from the index's rollups. Clicking a bucket opens the
 * matching list (that bucket's time range and service; the errors chart adds the error filter). Before
 * the first span arrives it is the guided first run, polling so it turns into the overview on its own.
 */
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { observability } from "../../api/endpoints";
import type { ServiceOverview } from "../../api/types";
import { ErrorBox, Loading, PageHeader, useDocumentTitle } from "../../components/ui";
import { usePreferences } from "../../lib/preferences";
import { customRange, formatTimestamp } from "../../lib/time";
import { FirstRun } from "../onboarding/FirstRun";
import { formatUsd } from "../trace/usage";
import { TimeChart, type ChartSeries } from "./TimeChart";
import "./overview.css";

const RANGES = [
  { value: "1h", label: "Last hour", ms: 3600_000 },
  { value: "24h", label: "Last day", ms: 86_400_000 },
  { value: "7d", label: "Last week", ms: 7 * 86_400_000 },
];
const DEFAULT_RANGE = "24h";
const POINTS = 120;
const REFRESH_MS = 30_000;

type Zone = "local" | "utc";

/** The range in the URL: a preset (relative to now) or `from`/`to`. */
function useRange() {
  const [params, setParams] = useSearchParams();
  const custom = customRange(params);
  const preset = RANGES.find((r) => r.value === params.get("range")) ?? RANGES[1];
  const set = (patch: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };
  return { custom, preset, set };
}

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const fmtCount = (v: number) => compact.format(v);
const fmtMs = (v: number) =>
  v === 0 ? "0" : v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}s` : `${v.toPrecision(3)}ms`;
const fmtPercent = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;

/** `datetime-local` text in the chosen zone ↔ ISO. */
function toLocalInput(iso: string, zone: Zone): string {
  const d = new Date(iso);
  if (zone === "utc") return d.toISOString().slice(0, 16);
  const shifted = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

function fromLocalInput(text: string, zone: Zone): string | null {
  const ms = Date.parse(zone === "utc" ? `${text}Z` : text);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function CustomRange({
  initial,
  zone,
  onApply,
}: {
  initial: { from: string; to: string };
  zone: Zone;
  onApply: (from: string, to: string) => void;
}) {
  const [from, setFrom] = useState(toLocalInput(initial.from, zone));
  const [to, setTo] = useState(toLocalInput(initial.to, zone));
  const a = fromLocalInput(from, zone);
  const b = fromLocalInput(to, zone);
  const valid = a !== null && b !== null && a < b;
  return (
    <form
      className="custom-range"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) onApply(a, b);
      }}
    >
      <label>
        From
        <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        To
        <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <button type="submit" disabled={!valid}>
        Apply
      </button>
      {!valid ? <span className="muted small">The start must be before the end.</span> : null}
    </form>
  );
}

interface ChartSpec {
  title: string;
  series: ChartSeries[];
  format: (v: number) => string;
  target: "traces" | "errors" | "workflows" | "agents" | "llm";
}

function chartSpecs(s: ServiceOverview): ChartSpec[] {
  const x = s.series;
  return [
    {
      title: "Spans and traces",
      target: "traces",
      format: fmtCount,
      series: [
        { label: "Spans", values: x.spans, color: "--bar" },
        { label: "Traces", values: x.traces, color: "--accent" },
      ],
    },
    {
      title: "Errors",
      target: "errors",
      format: fmtCount,
      series: [
        { label: "Error spans", values: x.errors, color: "--error", bars: true },
        { label: "Failed traces", values: x.trace_errors, color: "--warn" },
      ],
    },
    {
      title: "Error rate",
      target: "errors",
      format: fmtPercent,
      series: [{ label: "Error spans / spans", values: x.error_rate, color: "--error" }],
    },
    {
      title: "Root latency",
      target: "traces",
      format: fmtMs,
      series: [
        { label: "p50", values: x.p50_ms, color: "--ok" },
        { label: "p95", values: x.p95_ms, color: "--accent" },
        { label: "p99", values: x.p99_ms, color: "--error" },
      ],
    },
    {
      title: "Workflow executions",
      target: "workflows",
      format: fmtCount,
      series: [
        { label: "Executions", values: x.workflows, color: "--bar", bars: true },
        { label: "Failed", values: x.workflow_failures, color: "--error" },
      ],
    },
    {
      title: "Agent executions",
      target: "agents",
      format: fmtCount,
      series: [
        { label: "Runs", values: x.agents, color: "--bar", bars: true },
        { label: "Failed", values: x.agent_failures, color: "--error" },
      ],
    },
    {
      title: "LLM calls",
      target: "llm",
      format: fmtCount,
      series: [
        { label: "Calls", values: x.llm_calls, color: "--bar-llm", bars: true },
        { label: "Price unknown", values: x.unpriced_calls, color: "--warn" },
      ],
    },
    {
      title: "Tokens",
      target: "llm",
      format: fmtCount,
      series: [
        { label: "In", values: x.input_tokens, color: "--bar-llm" },
        { label: "Out", values: x.output_tokens, color: "--accent" },
      ],
    },
    {
      title: "Cost (USD)",
      target: "llm",
      format: formatUsd,
      series: [{ label: "Cost", values: x.cost_usd, color: "--ok", bars: true }],
    },
  ];
}

/** The list a chart's bucket opens: that time range and service, with the chart's filter. */
export function bucketLink(
  service: string,
  target: ChartSpec["target"],
  fromMs: number,
  toMs: number,
): string {
  const range = new URLSearchParams({
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
  });
  const svc = encodeURIComponent(service);
  switch (target) {
    case "workflows":
      return `/logs/${svc}?${range}`;
    case "agents":
      range.set("service", service);
      return `/agents?${range}`;
    case "errors":
      range.set("errors", "1");
      return `/traces/${svc}?${range}`;
    case "llm":
      range.set("llm", "1");
      return `/traces/${svc}?${range}`;
    default:
      return `/traces/${svc}?${range}`;
  }
}

const PICK_LABELS: Record<ChartSpec["target"], string> = {
  traces: "click a bucket for its traces",
  errors: "click a bucket for its failed traces",
  workflows: "click a bucket for its workflow executions",
  agents: "click a bucket for its agent runs",
  llm: "click a bucket for its traces with LLM calls",
};

/** One row per service (also those whose spans are not indexed yet), with the range's totals. */
function ServicesTable({ names, overview }: { names: string[]; overview: Map<string, ServiceOverview> }) {
  return (
    <table className="table overview-table" aria-label="Services">
      <thead>
        <tr>
          <th>Service</th>
          <th className="num">Traces</th>
          <th className="num">Error rate</th>
          <th className="num">p95 latency</th>
          <th className="num">Workflows (failed)</th>
          <th className="num">Agent runs (failed)</th>
          <th className="num">LLM calls</th>
          <th className="num">Tokens in / out</th>
          <th className="num">Cost</th>
          <th>Lists</th>
        </tr>
      </thead>
      <tbody>
        {names.map((name) => {
          const t = overview.get(name)?.totals;
          const svc = encodeURIComponent(name);
          return (
            <tr key={name}>
              <td>
                <strong>{name}</strong>
              </td>
              {t ? (
                <>
                  <td className="num">{t.traces.toLocaleString()}</td>
                  <td className="num">{t.error_rate === null ? "—" : fmtPercent(t.error_rate)}</td>
                  <td className="num">{t.p95_ms === null ? "—" : fmtMs(t.p95_ms)}</td>
                  <td className="num">
                    {t.workflows.toLocaleString()} ({t.workflow_failures.toLocaleString()})
                  </td>
                  <td className="num">
                    {t.agents.toLocaleString()} ({t.agent_failures.toLocaleString()})
                  </td>
                  <td className="num">{t.llm_calls.toLocaleString()}</td>
                  <td className="num">
                    {fmtCount(t.input_tokens)} / {fmtCount(t.output_tokens)}
                  </td>
                  <td
                    className="num"
                    title={t.unpriced_calls ? "calls whose model has no known price" : undefined}
                  >
                    {formatUsd(t.cost_usd)}
                    {t.unpriced_calls ? ` + ${t.unpriced_calls} price unknown` : ""}
                  </td>
                </>
              ) : (
                <td colSpan={8} className="muted">
                  Not indexed yet
                </td>
              )}
              <td className="overview-links">
                <Link to={`/logs/${svc}`} aria-label={`Workflow executions of ${name}`}>
                  Workflow executions
                </Link>
                <Link to={`/traces/${svc}`} aria-label={`Traces of ${name}`}>
                  Traces
                </Link>
                <Link to={`/spans/${svc}`} aria-label={`Spans of ${name}`}>
                  Spans
                </Link>
                <Link to={`/agents?service=${svc}`} aria-label={`Agent runs of ${name}`}>
                  Agent runs
                </Link>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ServiceSection({ s, stepMs, zone }: { s: ServiceOverview; stepMs: number; zone: Zone }) {
  const navigate = useNavigate();
  const specs = useMemo(() => chartSpecs(s), [s]);
  return (
    <section className="overview-service" aria-label={`Charts of ${s.service}`}>
      <h2>{s.service}</h2>
      {s.totals.spans === 0 ? (
        <p className="muted">No spans of this service in this range.</p>
      ) : (
        <div className="chart-grid">
          {specs.map((spec) => (
            <TimeChart
              key={spec.title}
              title={spec.title}
              timesMs={s.series.time_ms}
              series={spec.series}
              zone={zone}
              format={spec.format}
              pickLabel={PICK_LABELS[spec.target]}
              onPick={(i) => {
                const from = s.series.time_ms[i];
                navigate(bucketLink(s.service, spec.target, from, from + stepMs));
              }}
            />
          ))}
        </div>
      )}
    </section>
  );
}

export default function OverviewPage() {
  useDocumentTitle("Overview");
  const { timeZone: zone } = usePreferences();
  const { custom, preset, set } = useRange();
  const [editing, setEditing] = useState(false);
  // Known services include those whose spans are not in an indexed file yet (the overview's are).
  const services = useQuery({
    queryKey: ["services"],
    queryFn: observability.services,
    refetchInterval: (query) => (query.state.data?.length ? 10_000 : 2_000),
  });
  const q = useQuery({
    queryKey: ["overview", custom?.from ?? preset.value, custom?.to ?? ""],
    queryFn: () => {
      const end = custom ? custom.to : new Date().toISOString();
      const start = custom ? custom.from : new Date(Date.now() - preset.ms).toISOString();
      return observability.overview(start, end, POINTS);
    },
    enabled: !!services.data?.length,
    refetchInterval: custom ? false : REFRESH_MS,
  });
  const data = q.data;
  const byName = useMemo(() => new Map((data?.services ?? []).map((s) => [s.service, s])), [data]);
  const names = useMemo(
    () => [...new Set([...(services.data ?? []), ...byName.keys()])].sort(),
    [services.data, byName],
  );
  const rangeValue = custom ? "custom" : preset.value;
  return (
    <div className="page">
      <PageHeader title="Overview" sub="Every service that has sent spans, over the chosen time range." />
      {services.isLoading ? (
        <Loading />
      ) : services.error ? (
        <ErrorBox error={services.error} />
      ) : !services.data?.length ? (
        <FirstRun />
      ) : q.error ? (
        <ErrorBox error={q.error} />
      ) : !data ? (
        <Loading />
      ) : (
        <>
          <div className="filters" role="group" aria-label="Time range">
            <label>
              Time range
              <select
                value={editing ? "custom" : rangeValue}
                onChange={(e) => {
                  if (e.target.value === "custom") return setEditing(true);
                  setEditing(false);
                  set({
                    range: e.target.value === DEFAULT_RANGE ? null : e.target.value,
                    from: null,
                    to: null,
                  });
                }}
              >
                {RANGES.map((r) => (
                  <option key={r.value} value={r.value}>
                    {r.label}
                  </option>
                ))}
                <option value="custom">Custom…</option>
              </select>
            </label>
            {editing || custom ? (
              <CustomRange
                key={`${custom?.from}-${zone}`}
                initial={
                  custom ?? {
                    from: new Date(data.start_ms).toISOString(),
                    to: new Date(data.end_ms).toISOString(),
                  }
                }
                zone={zone}
                onApply={(from, to) => {
                  setEditing(false);
                  set({ range: null, from, to });
                }}
              />
            ) : null}
            <span className="muted small">
              {formatTimestamp(data.start_ms * 1000, zone)} – {formatTimestamp(data.end_ms * 1000, zone)}, one
              point per {fmtMs(data.step_ms)}
            </span>
          </div>
          <ServicesTable names={names} overview={byName} />
          <p className="muted small">
            Counted from indexed span files: spans still waiting in the write-ahead log appear after the next
            flush.
          </p>
          {data.services.map((s) => (
            <ServiceSection key={s.service} s={s} stepMs={data.step_ms} zone={zone} />
          ))}
        </>
      )}
    </div>
  );
}
