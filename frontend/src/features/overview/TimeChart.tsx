/**
 * One uPlot time-series chart: bucketed series over a shared time axis, coloured from the theme's CSS
 * variables (rebuilt when `<html data-theme>` changes), times shown in the chosen zone, sized to its
 * container (narrow screens included). Clicking a bucket calls `onPick` with its index.
 */
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** A CSS variable name (`--error`) or a colour. */
  color: string;
  bars?: boolean;
}

function themeColor(value: string): string {
  if (!value.startsWith("--")) return value;
  return getComputedStyle(document.documentElement).getPropertyValue(value).trim() || "#888";
}

/** The `data-theme` attribute, as React state (charts read colours when they are built). */
function useThemeName(): string {
  const read = () => document.documentElement.getAttribute("data-theme") ?? "light";
  const [theme, setTheme] = useState(read);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(read()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

export function TimeChart({
  title,
  timesMs,
  series,
  zone,
  format,
  onPick,
  pickLabel,
}: {
  title: string;
  timesMs: number[];
  series: ChartSeries[];
  zone: "local" | "utc";
  format: (v: number) => string;
  onPick: (index: number) => void;
  pickLabel: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const theme = useThemeName();
  const pick = useRef(onPick);
  pick.current = onPick;
  const hasData = series.some((s) => s.values.some((v) => v !== null && v !== 0));

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = themeColor("--muted");
    const grid = themeColor("--border");
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 160,
      tzDate:
        zone === "utc" ? (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") : (ts) => new Date(ts * 1000),
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: true } },
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: text,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 56,
          values: (_u, ticks) => ticks.map((t) => format(t)),
        },
      ],
      series: [
        { value: (_u, ts) => (ts === null ? "—" : new Date(ts * 1000).toISOString()) },
        ...series.map((s) => {
          const color = themeColor(s.color);
          return {
            label: s.label,
            stroke: color,
            fill: s.bars ? `${color}aa` : undefined,
            width: s.bars ? 0 : 2,
            paths: s.bars ? bars : undefined,
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v === null ? "—" : format(v)),
          };
        }),
      ],
      scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    };
    const data: uPlot.AlignedData = [timesMs.map((t) => t / 1000), ...series.map((s) => s.values)];
    const plot = new uPlot(opts, data, el);
    const click = () => {
      const idx = plot.cursor.idx;
      if (idx !== null && idx !== undefined) pick.current(idx);
    };
    plot.over.addEventListener("click", click);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(el.clientWidth, 200), height: 160 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.over.removeEventListener("click", click);
      plot.destroy();
    };
    // Rebuilt when the data, the zone or the theme change (uPlot keeps colours from its options).
  }, [timesMs, series, zone, format, theme]);

  return (
    <figure className="chart" aria-label={title} data-has-data={hasData ? "1" : "0"}>
      <figcaption>
        {title}
        <span className="muted small"> · {pickLabel}</span>
      </figcaption>
      <div ref={box} className="chart-plot" />
    </figure>
  );
}
